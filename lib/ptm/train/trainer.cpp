// The training loop.
#include "ptm/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "ptm/core/errors.h"
#include "ptm/core/log.h"
#include "ptm/core/metrics.h"
#include "ptm/core/signals.h"
#include "ptm/data/loader.h"
#include "ptm/train/autocast.h"
#include "ptm/train/checkpoint.h"

namespace ptm::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Clips the global L2 norm of all gradients without a host sync; returns the norm (device).
torch::Tensor clip_gradients(const std::vector<torch::Tensor>& params, double max_norm) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return torch::zeros({});
  const auto norms = at::_foreach_norm(grads, 2);
  const auto total = torch::linalg_vector_norm(torch::stack(norms), 2, {}, false, torch::kFloat32);
  if (max_norm > 0) {
    const auto coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
    at::_foreach_mul_(grads, coef);
  }
  return total;
}

std::string eta(double seconds) {
  char buf[32];
  const auto s = static_cast<long long>(seconds);
  std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

}  // namespace

nlohmann::json evaluate(models::ModelImpl& model, objectives::Objective& objective, data::BatchStream& stream,
                        const torch::Device& device, int64_t max_batches) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  AutocastGuard autocast(device, "auto");
  torch::Tensor loss = torch::zeros({}, torch::TensorOptions().device(device)), count = loss.clone();
  std::map<std::string, torch::Tensor> sums;
  int64_t batches = 0;
  while (batches < max_batches) {
    auto b = stream.next();
    if (!b) break;
    const auto batch = b->to(device, true);
    const auto parts = objective.loss(model, batch, false);
    loss += parts.loss_sum.to(torch::kFloat32);
    count += parts.targets;
    for (const auto& [k, v] : parts.sums) sums[k] = sums.count(k) ? sums[k] + v : v.to(torch::kFloat32);
    ++batches;
  }
  model.train(was_training);
  const double n = count.item<double>();
  nlohmann::json out;
  out["loss"] = n > 0 ? loss.item<double>() / n : 0.0;
  out["targets"] = n;
  out["batches"] = batches;
  if (objective.language_model()) out["perplexity"] = std::exp(out["loss"].get<double>());
  for (const auto& [k, v] : sums) out[k] = n > 0 ? v.item<double>() / n : 0.0;
  return out;
}

TrainResult run_training(TrainerSetup& s, const RunDir& run_dir) {
  const torch::Device device(s.device);
  auto& model = *s.model;
  s.objective->attach(model, device);
  // The objective's own trainable tensors (projections, ...) are optimized with the model.
  const auto objective_params = s.objective->parameters();
  optim::Optimizer optimizer(
      [&] {
        std::vector<std::pair<std::string, torch::Tensor>> named;
        for (const auto& p : model.named_parameters())
          if (p.value().requires_grad()) named.emplace_back(p.key(), p.value());
        for (const auto& [k, v] : objective_params) named.emplace_back("objective." + k, v);
        return named;
      }(),
      s.optimizer);
  log::info("optimizer " + s.optimizer.type + ": " + std::to_string(optimizer.decay_names().size()) +
            " tensors with weight decay, " + std::to_string(optimizer.no_decay_names().size()) + " without");
  const auto schedule = s.schedule(s.train.max_steps);

  data::StreamOptions train_opts;
  train_opts.batch_size = s.train.batch_size;
  train_opts.seed = s.run.seed;
  auto stream = s.data(train_opts);
  log::info("data: " + stream->describe());

  TrainResult r;
  int64_t step = 0;
  if (!s.resume_from.empty()) {
    const auto st = load_checkpoint(s.resume_from, model, &optimizer, objective_params);
    step = st.at("step").get<int64_t>();
    r.tokens = st.at("tokens").get<int64_t>();
    stream->load_state(st.at("data"));
    set_rng_state(st.at("rng"));
    log::info("resumed from " + s.resume_from + " at step " + std::to_string(step));
  }
  data::Loader loader(std::move(stream), device, 4);

  auto eval_stream = [&] {
    data::StreamOptions o = train_opts;
    o.split = "val";
    o.train = false;
    return s.data(o);
  };
  MetricsWriter metrics(run_dir.file("metrics.jsonl"));
  std::vector<torch::Tensor> params;
  for (const auto& p : model.parameters())
    if (p.requires_grad()) params.push_back(p);
  for (const auto& [k, v] : objective_params) params.push_back(v);

  int64_t last_saved = -1, last_eval = -1;
  auto save = [&](int64_t at_step) {
    if (at_step == last_saved) return;
    last_saved = at_step;
    nlohmann::json st = {{"step", at_step}, {"tokens", r.tokens}, {"data", loader.state()},
                         {"rng", rng_state()},   {"provenance", s.provenance}};
    const auto dir = save_checkpoint(run_dir.path(), at_step, model, optimizer, st, objective_params);
    prune_checkpoints(run_dir.path(), s.train.keep_last);
    log::info("checkpoint " + dir);
  };
  auto run_eval = [&](int64_t at_step) {
    if (at_step == last_eval) return;
    last_eval = at_step;
    auto es = eval_stream();
    r.eval = evaluate(model, *s.objective, *es, device, s.train.eval_batches);
    r.eval_loss = r.eval["loss"].get<double>();
    nlohmann::json rec = {{"step", at_step}, {"split", "val"}};
    for (const auto& [k, v] : r.eval.items()) rec["eval_" + k] = v;
    metrics.write(rec);
    log::info("eval step " + std::to_string(at_step) + ": " + r.eval.dump());
  };

  model.train();
  const auto t_start = Clock::now();
  auto t_log = Clock::now();
  const int64_t first_step = step;
  torch::Tensor interval_loss = torch::zeros({}, torch::TensorOptions().device(device));
  torch::Tensor interval_targets = interval_loss.clone();
  torch::Tensor grad_norm;
  double t_data = 0, t_compute = 0;
  int64_t interval_steps = 0;

  for (;;) {
    if (s.train.eval_every > 0 && step > first_step && step % s.train.eval_every == 0) run_eval(step);
    if (s.train.save_every > 0 && step > first_step && step % s.train.save_every == 0) save(step);
    if (step >= s.train.max_steps) break;
    if (signals::stop_requested()) {
      log::warn("signal " + std::to_string(signals::stop_signal()) + ": saving at step " + std::to_string(step));
      save(step);
      r.stopped = true;
      break;
    }

    // Sample every micro-batch first: the loss is normalised by all of their targets.
    auto t0 = Clock::now();
    std::vector<data::Batch> micro;
    torch::Tensor total = torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(device));
    for (int64_t m = 0; m < s.train.grad_accum_steps; ++m) {
      micro.push_back(*loader.next());
      total += s.objective->count_targets(micro.back());
    }
    t_data += seconds_since(t0);
    t0 = Clock::now();
    const auto denom = total.to(torch::kFloat32).clamp_min(1.0);
    for (const auto& batch : micro) {
      torch::Tensor loss;
      {
        AutocastGuard autocast(device, s.train.precision);
        const auto parts = s.objective->loss(model, batch, true);
        loss = parts.loss_sum.to(torch::kFloat32);
      }
      interval_loss += loss.detach();
      (loss / denom).backward();
    }
    interval_targets += total;
    grad_norm = clip_gradients(params, s.train.clip_grad_norm);
    const double lr = s.optimizer.lr * schedule->factor(step);
    optimizer.step(lr);
    optimizer.zero_grad();
    t_compute += seconds_since(t0);
    ++step;
    ++interval_steps;

    if (step % s.train.log_every == 0 || step == s.train.max_steps) {
      const double n = interval_targets.item<double>();  // the one host sync per interval
      const double mean = interval_loss.item<double>() / std::max(1.0, n);
      if (!std::isfinite(mean))
        throw RuntimeError("loss is " + std::to_string(mean) + " in the steps up to " + std::to_string(step) +
                           " (lower optimizer.lr, or check the data)");
      const double dt = seconds_since(t_log);
      r.tokens += static_cast<int64_t>(n);
      r.train_loss = mean;
      const double tps = n / std::max(dt, 1e-9);
      metrics.write({{"step", step}, {"loss", mean}, {"lr", lr}, {"grad_norm", grad_norm.item<double>()},
                     {"tokens_per_s", tps}, {"tokens_seen", r.tokens},
                     {"time_data_s", t_data / interval_steps}, {"time_compute_s", t_compute / interval_steps}});
      const double remaining = (s.train.max_steps - step) * dt / interval_steps;
      char line[256];
      std::snprintf(line, sizeof(line), "step %lld/%lld  loss %.4f  lr %.3g  %.0f tok/s  ETA %s",
                    static_cast<long long>(step), static_cast<long long>(s.train.max_steps), mean, lr, tps,
                    eta(remaining).c_str());
      log::info(line);
      interval_loss.zero_();
      interval_targets.zero_();
      t_data = t_compute = 0;
      interval_steps = 0;
      t_log = Clock::now();
    }
  }
  if (!r.stopped) {
    run_eval(step);
    save(step);
  }
  r.step = step;
  r.seconds = seconds_since(t_start);
  r.targets_per_s = r.tokens / std::max(r.seconds, 1e-9);
  return r;
}

}  // namespace ptm::train
