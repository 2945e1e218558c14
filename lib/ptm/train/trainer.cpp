// The training loop.
#include "ptm/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "ptm/core/device_memory.h"
#include "ptm/core/errors.h"
#include "ptm/core/log.h"
#include "ptm/core/metrics.h"
#include "ptm/core/png.h"
#include "ptm/core/signals.h"
#include "ptm/core/tb_events.h"
#include "ptm/data/loader.h"
#include "ptm/train/autocast.h"
#include "ptm/core/fs_util.h"
#include "ptm/train/checkpoint.h"
#include "ptm/train/cuda_graph_step.h"
#include "ptm/train/eval_metrics.h"
#include "ptm/train/train_extras.h"
#include "ptm/train/train_step.h"

namespace ptm::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string eta(double seconds) {
  char buf[32];
  const auto s = static_cast<long long>(seconds);
  std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

// train.eval_batches counts the batches of the whole run: each rank evaluates its share.
int64_t eval_batches_per_rank(int64_t batches, const dist::Group* group) {
  const int64_t world = group ? group->world() : 1;
  return (batches + world - 1) / world;
}

// Split "test", evaluated once after training on the weights model selection chose:
// checkpoints/best when `best_dir` is given, else the final weights (their EMA when kept).
// The final weights are put back afterwards. Null when the data has no test split.
nlohmann::json evaluate_test_split(TrainerSetup& s, data::StreamOptions opts, const std::string& best_dir,
                                   WeightEma* ema, const models::NamedTensors& objective_params, int64_t step,
                                   const std::function<void(const nlohmann::json&)>& write_metrics) {
  opts.split = "test";
  opts.train = false;
  auto stream = s.data(opts);
  if (!stream) return nullptr;
  auto& model = *s.model;
  std::vector<torch::Tensor> live;  // every tensor load_checkpoint overwrites
  for (const auto& p : model.parameters()) live.push_back(p);
  for (const auto& b : model.buffers()) live.push_back(b);
  for (const auto& [k, v] : objective_params) live.push_back(v);
  std::vector<torch::Tensor> kept;
  int64_t weights_step = step;
  if (!best_dir.empty()) {
    torch::NoGradGuard no_grad;
    for (const auto& t : live) kept.push_back(t.detach().clone());
    weights_step = load_checkpoint(best_dir, model, nullptr, objective_params).at("step").get<int64_t>();
  } else if (ema) {
    ema->swap();
  }
  auto result = evaluate(model, *s.objective, *stream, torch::Device(s.device),
                         eval_batches_per_rank(s.train.eval_batches, s.group), s.train.precision, nullptr, s.group);
  if (!best_dir.empty()) {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < live.size(); ++i) live[i].detach().copy_(kept[i]);
  } else if (ema) {
    ema->swap();
  }
  result["weights_step"] = weights_step;
  nlohmann::json rec = {{"step", step}, {"split", "test"}};
  for (const auto& [k, v] : result.items()) rec["eval_" + k] = v;
  write_metrics(rec);
  log::info("test split (weights of step " + std::to_string(weights_step) + "): " + result.dump());
  return result;
}

// The first images of a batch as TensorBoard images "inputs/<i>", each stretched to 0..255
// over its own range (the batch holds normalised values). Gray or RGB only.
void write_input_images(tb::EventWriter& tb, const torch::Tensor& images, int64_t step) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3)) return;
  for (int64_t i = 0; i < std::min<int64_t>(4, images.size(0)); ++i) {
    auto x = images[i].detach().to(torch::kCPU, torch::kFloat32);
    const auto lo = x.min(), span = (x.max() - lo).clamp_min(1e-12);
    x = ((x - lo) / span * 255).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
    const int h = static_cast<int>(x.size(0)), w = static_cast<int>(x.size(1)), c = static_cast<int>(x.size(2));
    const std::vector<uint8_t> pixels(x.data_ptr<uint8_t>(), x.data_ptr<uint8_t>() + x.numel());
    tb.image(step, "inputs/" + std::to_string(i), png::encode(pixels, w, h, c), h, w, c);
  }
}

}  // namespace

TrainResult run_training(TrainerSetup& s, const RunDir& run_dir) {
  const torch::Device device(s.device);
  const TrainConfig& tc = s.train;
  auto& model = *s.model;
  s.objective->attach(model, device);
  // The objective's own trainable tensors (projections, ...) are optimized with the model.
  const auto objective_params = s.objective->parameters();
  if (s.group) {
    // Every replica starts from rank 0's weights; from here on the ranks draw different random
    // numbers (dropout, masking), as they read different data.
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> state;
    for (const auto& p : model.parameters()) state.push_back(p.detach());
    for (const auto& b : floating_buffers(model)) state.push_back(b);  // running statistics
    for (const auto& [k, v] : objective_params) state.push_back(v.detach());
    s.group->broadcast(state);
    if (!s.group->main())
      torch::manual_seed(static_cast<uint64_t>(s.run.seed) + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(s.group->rank()));
  }
  std::vector<std::pair<std::string, torch::Tensor>> named_params;
  for (const auto& p : model.named_parameters())
    if (p.value().requires_grad()) named_params.emplace_back(p.key(), p.value());
  for (const auto& [k, v] : objective_params) named_params.emplace_back("objective." + k, v);
  std::vector<torch::Tensor> params;
  for (const auto& [k, v] : named_params) params.push_back(v);
  // ZeRO-1: this rank's optimizer holds (and updates) only the tensors it owns.
  std::unique_ptr<dist::ZeroShards> zero;
  auto optimized = named_params;
  if (s.group && tc.zero == 1) {
    zero = std::make_unique<dist::ZeroShards>();
    zero->params = params;
    zero->owner = dist::assign_owners(params, s.group->world());
    optimized.clear();
    int64_t mine = 0, all = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      all += params[i].numel();
      if (zero->owner[i] != s.group->rank()) continue;
      optimized.push_back(named_params[i]);
      mine += params[i].numel();
    }
    log::info("ZeRO-1: the optimizer state of " + std::to_string(optimized.size()) + " of " +
              std::to_string(params.size()) + " tensors (" + std::to_string(mine) + " of " + std::to_string(all) +
              " values) lives on this rank");
  }
  optim::Optimizer optimizer(optimized, s.optimizer);
  log::info("optimizer " + s.optimizer.type + ": " + std::to_string(optimizer.decay_names().size()) +
            " tensors with weight decay, " + std::to_string(optimizer.no_decay_names().size()) + " without");
  // Rebuilt for another length when a prune: round restarts it (StepHook::lr_position).
  auto schedule = s.schedule(tc.max_steps);
  int64_t schedule_total = tc.max_steps;
  if (!tc.best_metric.empty() && tc.best_metric != "loss" && tc.best_metric != "perplexity") {
    const auto known = s.objective->metric_names();
    if (!known.empty() && std::find(known.begin(), known.end(), tc.best_metric) == known.end()) {
      std::string list = "loss";
      for (const auto& k : known) list += ", " + k;
      throw ConfigError(Origin{}, "train.best_metric",
                        "'" + tc.best_metric + "' is not among the evaluation metrics of objective " +
                            s.objective->name() + " (" + list + ")");
    }
  }
  std::unique_ptr<WeightEma> ema;
  if (tc.ema_decay > 0) ema = std::make_unique<WeightEma>(model, tc.ema_decay);
  std::unique_ptr<data::Tokenizer> sampler;
  if (tc.sample_every > 0 && !s.sample_tokenizer.empty()) sampler = data::load_tokenizer(s.sample_tokenizer);

  dist::Group* group = s.group;
  const bool main_rank = !group || group->main();
  if (group && tc.cuda_graph)
    throw ConfigError(Origin{}, "train.cuda_graph", "is not supported in data-parallel runs yet (run with one process)");
  data::StreamOptions train_opts;
  train_opts.batch_size = tc.batch_size;
  train_opts.seed = s.run.seed;
  if (group) {
    train_opts.rank = group->rank();
    train_opts.world = group->world();
    log::info("data parallel: " + std::to_string(group->world()) + " ranks (" + group->backend() +
              "), global batch " + std::to_string(tc.batch_size) + " x " + std::to_string(tc.grad_accum_steps) +
              " accumulation x " + std::to_string(group->world()) + " ranks = " +
              std::to_string(tc.batch_size * tc.grad_accum_steps * group->world()) + ", lr " +
              std::to_string(s.optimizer.lr) + " (as the recipe gives it: not scaled by the world size)");
  }
  auto stream = s.data(train_opts);
  log::info("data: " + stream->describe());
  check_data_fits_model(*stream, model);

  TrainResult r;
  int64_t step = 0, bad_evals = 0;
  if (!s.resume_from.empty()) {
    const auto st = load_checkpoint(s.resume_from, model, &optimizer, objective_params);
    step = st.at("step").get<int64_t>();
    r.tokens = st.at("tokens").get<int64_t>();
    r.targets = st.value("targets", int64_t{0});
    // Data cursors and RNG states are per rank: a data-parallel checkpoint holds each rank's.
    const int ck_world = st.value("world", 1), world = group ? group->world() : 1;
    if (ck_world != world)
      throw ConfigError(Origin{s.resume_from + "/trainer_state.json"}, "world",
                        "the checkpoint was written by " + std::to_string(ck_world) + " rank(s) and this run has " +
                            std::to_string(world) + ": resume with " + std::to_string(ck_world) +
                            " (each rank continues its own data position and random state)");
    const auto& mine = group ? st.at("ranks").at(group->rank()) : st;
    stream->load_state(mine.at("data"));
    set_rng_state(mine.at("rng"));
    if (st.contains("best")) {
      r.best_step = st["best"].at("step").get<int64_t>();
      r.best_value = st["best"].at("value").get<double>();
      bad_evals = st["best"].at("bad_evals").get<int64_t>();
    }
    r.skipped_steps = st.value("skipped_steps", int64_t{0});
    if (ema) ema->load(models::load_safetensors(s.resume_from + "/ema.safetensors"));
    if (s.hook) s.hook->load(models::load_safetensors(s.resume_from + "/" + s.hook->file()));
    log::info("resumed from " + s.resume_from + " at step " + std::to_string(step));
  }
  // Steps after the checkpoint (all of them when there is none yet) are run again: their
  // records go, so each step is logged once.
  if (run_dir.resumed() && main_rank)
    for (const char* log_file : {"metrics.jsonl", "samples.jsonl"}) truncate_jsonl_after_step(run_dir.file(log_file), step);
  data::Loader loader(std::move(stream), device, 4);

  auto eval_stream = [&] {
    data::StreamOptions o = train_opts;
    o.split = "val";
    o.train = false;
    return s.data(o);
  };
  // Rank 0 alone writes the run's records. As metrics.jsonl: a resumed run keeps the events up
  // to its checkpoint's step; one that starts over (no checkpoint) keeps none.
  std::unique_ptr<MetricsWriter> metrics;
  std::unique_ptr<tb::EventWriter> tboard;
  if (main_rank) {
    metrics = std::make_unique<MetricsWriter>(run_dir.file("metrics.jsonl"));
    const int64_t tb_keep = s.resume_from.empty() ? -1 : step;
    if (tc.tensorboard) {
      tboard = std::make_unique<tb::EventWriter>(run_dir.file("tb"), tb_keep);
      metrics->mirror_to(tboard.get());
      if (tboard->fresh() && std::filesystem::exists(run_dir.file("config.yaml")))
        tboard->text(step, "recipe", tb::verbatim(fs_util::read_file(run_dir.file("config.yaml"))));
    } else if (run_dir.resumed()) {
      tb::purge_events_after(run_dir.file("tb"), tb_keep);  // turned off on resume: no stale steps either
    }
  }
  const auto write_metrics = [&](const nlohmann::json& rec) {
    if (metrics) metrics->write(rec);
  };
  std::unique_ptr<dist::GradientSync> sync;
  if (group) {
    sync = std::make_unique<dist::GradientSync>(*group, named_params, grad_sync_options(tc), floating_buffers(model));
    log::info("gradients all-reduced in " + tc.ddp_reduce_dtype + ", " + std::to_string(sync->buckets()) +
              " bucket(s) of up to " + std::to_string(tc.ddp_bucket_mb) + " MB");
  }

  auto trainer_state = [&](int64_t at_step) {
    nlohmann::json st = {{"step", at_step},       {"tokens", r.tokens},     {"targets", r.targets},
                         {"data", loader.state()},
                         {"rng", rng_state()},    {"provenance", s.provenance}, {"skipped_steps", r.skipped_steps}};
    if (r.best_step >= 0) st["best"] = {{"step", r.best_step}, {"value", r.best_value}, {"bad_evals", bad_evals}};
    return st;
  };
  const auto extra_files = [&] {
    ExtraFiles files = {{"objective.safetensors", objective_params}};
    if (ema) files.emplace_back("ema.safetensors", ema->state());
    if (s.hook) files.emplace_back(s.hook->file(), s.hook->state());
    return files;
  };
  // Non-finite weights (an update that overflowed between log lines) must never replace good
  // checkpoints, through keep_last or as best: the run stops instead.
  auto check_weights_finite = [&](int64_t at_step, const std::string& what) {
    if (all_finite(model, objective_params)) return;
    const auto good = latest_checkpoint(run_dir.path());
    throw RuntimeError("the weights hold non-finite values at step " + std::to_string(at_step) + "; " + what +
                       " not written (newest checkpoint: " + (good ? *good : std::string("none")) +
                       "); lower optimizer.lr, set train.clip_grad_norm, or check the data");
  };
  // Writes a checkpoint (rank 0), with every rank's data cursor and RNG state; the other ranks
  // wait until it is complete, so a checkpoint any rank goes on from exists.
  auto write_checkpoint = [&](int64_t at_step, const std::string& name) {
    auto st = trainer_state(at_step);
    if (group) {
      const nlohmann::json mine = {{"data", st["data"]}, {"rng", st["rng"]}};
      const auto all = group->exchange("checkpoint", mine.dump());
      st["world"] = group->world();
      for (const auto& text : all) st["ranks"].push_back(nlohmann::json::parse(text));
    }
    // ZeRO-1: every rank's share of the optimizer state, in one file as a single process writes it.
    const auto optimizer_state =
        zero ? dist::gather_optimizer_state(*group, optimizer.state(), device) : optimizer.state();
    std::string dir;
    if (main_rank) dir = save_checkpoint(run_dir.path(), at_step, model, optimizer_state, st, extra_files(), name);
    if (group) group->barrier();
    return dir;
  };
  int64_t last_saved = -1, last_eval = -1;
  bool last_eval_final = false;  // it wrote predictions.jsonl
  auto save = [&](int64_t at_step) {
    if (at_step == last_saved) return;
    last_saved = at_step;
    check_weights_finite(at_step, "checkpoint");
    const auto dir = write_checkpoint(at_step, "");
    if (!main_rank) return;
    prune_checkpoints(run_dir.path(), tc.keep_last);
    log::info("checkpoint " + dir);
  };
  // Evaluates (with the EMA weights when enabled); keeps checkpoints/best; returns whether
  // early stopping says to stop.
  auto run_eval = [&](int64_t at_step, bool final) {
    if (at_step == last_eval && !(final && tc.write_predictions && !last_eval_final)) return false;
    last_eval = at_step;
    last_eval_final = final;
    auto es = eval_stream();
    std::vector<nlohmann::json> rows;
    // Every rank evaluates its share with rank 0's running statistics, as DDP's first forward
    // after training broadcasts them: the result is that of rank 0's checkpoint.
    if (sync) sync->broadcast_buffers();
    if (ema) ema->swap();
    r.eval = evaluate(model, *s.objective, *es, device, eval_batches_per_rank(tc.eval_batches, group), tc.precision,
                      final && tc.write_predictions ? &rows : nullptr, group);
    r.eval_loss = r.eval["loss"].get<double>();
    nlohmann::json rec = {{"step", at_step}, {"split", "val"}};
    for (const auto& [k, v] : r.eval.items()) rec["eval_" + k] = v;
    write_metrics(rec);
    log::info("eval step " + std::to_string(at_step) + ": " + r.eval.dump());
    if (!rows.empty() && main_rank) {
      std::string text;
      for (const auto& row : rows) text += row.dump() + "\n";
      fs_util::write_file_atomic(run_dir.file("predictions.jsonl"), text);
    }
    bool stop = false;
    if (!tc.best_metric.empty()) {
      if (!r.eval.contains(tc.best_metric)) {
        if (ema) ema->swap();
        std::string known;
        for (const auto& [k, v] : r.eval.items()) known += (known.empty() ? "" : ", ") + k;
        throw ConfigError(Origin{}, "train.best_metric",
                          "'" + tc.best_metric + "' is not among the evaluation metrics (" + known + ")");
      }
      const double value = r.eval[tc.best_metric].is_number() ? r.eval[tc.best_metric].get<double>() : NAN;
      const bool better = std::isfinite(value) &&
                          (r.best_step < 0 || (tc.minimize_best() ? value < r.best_value : value > r.best_value));
      if (better) {
        r.best_step = at_step;
        r.best_value = value;
        bad_evals = 0;
        // checkpoints/best holds the weights that scored best (the EMA weights when enabled).
        check_weights_finite(at_step, "checkpoints/best");
        write_checkpoint(at_step, "best");
        log::info("new best " + tc.best_metric + " " + std::to_string(value) + " at step " + std::to_string(at_step));
      } else if (tc.early_stopping_patience > 0 && ++bad_evals >= tc.early_stopping_patience) {
        log::info("early stopping: " + tc.best_metric + " has not improved for " + std::to_string(bad_evals) +
                  " evaluations (best " + std::to_string(r.best_value) + " at step " + std::to_string(r.best_step) + ")");
        stop = true;
      }
    }
    if (ema) ema->swap();
    return stop;
  };

  model.train();
  reset_peak_memory(device);  // each log line reports the peak of its interval
  const auto t_start = Clock::now();
  auto t_log = Clock::now();
  const int64_t first_step = step, tokens_at_start = r.tokens, targets_at_start = r.targets;
  const auto fopts = torch::TensorOptions().device(device);
  torch::Tensor interval_loss = torch::zeros({}, fopts), interval_targets = interval_loss.clone();
  // Throughput counts what the model reads, as HF's num_input_tokens_seen does: real (non-padding)
  // input tokens, or samples for image batches; not the loss targets (15% of the tokens for MLM,
  // one per example for classification). Mask sums stay on the device; known sizes on the host.
  torch::Tensor interval_masked = torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  int64_t interval_unmasked = 0;
  torch::Tensor skipped = torch::zeros({}, fopts);  // steps skipped since the last log line
  torch::Tensor grad_norm;
  double t_data = 0, t_compute = 0;
  int64_t interval_steps = 0, context = 0;
  const bool skip_nonfinite = tc.nan_policy == "skip";

  // The step's device work (train_step.h), run directly or captured once in a CUDA graph and
  // replayed (train.cuda_graph).
  StepParts parts;
  parts.model = &model;
  parts.objective = s.objective.get();
  parts.optimizer = &optimizer;
  parts.params = params;
  parts.device = device;
  parts.precision = tc.precision;
  parts.clip_grad_norm = tc.clip_grad_norm;
  parts.skip_nonfinite = skip_nonfinite;
  parts.group = group;
  parts.sync = sync.get();
  parts.zero = zero.get();
  StepLr lr;
  std::unique_ptr<CudaGraphStep> graph;
  if (tc.cuda_graph) {
    graph = std::make_unique<CudaGraphStep>(device);
    lr.tensor = torch::zeros({}, fopts);  // refilled before each replay
  }
  // Gradient noise runs eagerly only: the recipe check keeps it out of graphed runs.
  const auto noise = [&] {
    add_gradient_noise(params, tc.grad_noise_eta, tc.grad_noise_gamma, step, static_cast<uint64_t>(s.run.seed));
  };
  const StepBody step_body = [&](const std::vector<data::Batch>& mb) {
    return train_step(parts, mb, lr, {}, graph ? std::function<void()>() : noise);
  };

  // A stop signal may reach the ranks at different steps: they vote every step and stop
  // together. Each rank reads the vote one step later (item() waits for that vote, queued
  // before the last step's work, so the host stays a step ahead of the device).
  torch::Tensor stop_vote;
  const auto stop_agreed = [&] {
    if (!group) return signals::stop_requested();
    const bool stop = stop_vote.defined() && stop_vote.item<int>() > 0;
    stop_vote = torch::full({1}, signals::stop_requested() ? 1 : 0, torch::TensorOptions().dtype(torch::kInt32).device(device));
    group->all_reduce(stop_vote, dist::Reduce::Max);
    return stop;
  };

  if (s.hook) s.hook->start(step, !s.resume_from.empty());
  for (;;) {
    // At max_steps this is also the final evaluation (the one after the loop then returns at once).
    if (tc.eval_every > 0 && step > first_step && step % tc.eval_every == 0 && run_eval(step, step >= tc.max_steps)) {
      r.early_stopped = true;
      break;
    }
    if (tc.save_every > 0 && step > first_step && step % tc.save_every == 0) save(step);
    if (step >= tc.max_steps) break;
    if (stop_agreed()) {
      log::warn("signal " + std::to_string(signals::stop_signal()) + ": saving at step " + std::to_string(step));
      save(step);
      r.stopped = true;
      break;
    }
    if (s.hook) {
      s.hook->before_step(step);
      if (s.hook->resets_optimizer(step)) optimizer.reset_state();
    }

    auto t0 = Clock::now();
    std::vector<data::Batch> micro;
    for (int64_t m = 0; m < tc.grad_accum_steps; ++m) {
      micro.push_back(*loader.next());
      const auto& b = micro.back();
      if (b.attention_mask.defined())
        interval_masked += b.attention_mask.sum();
      else
        interval_unmasked += b.input_ids.defined() ? b.input_ids.numel() : b.size();
    }
    if (!micro.front().input_ids.defined()) r.unit = "samples";
    if (micro.front().input_ids.defined()) context = micro.front().input_ids.size(1);
    if (tboard && tboard->fresh() && step == first_step && micro.front().images.defined())
      write_input_images(*tboard, micro.front().images, step);  // a look at what the model reads
    t_data += seconds_since(t0);
    t0 = Clock::now();
    const auto at = s.hook ? s.hook->lr_position(step, tc.max_steps) : StepHook::LrPosition{step, tc.max_steps};
    if (at.total != schedule_total) {
      schedule = s.schedule(at.total);
      schedule_total = at.total;
    }
    lr.value = s.optimizer.lr * schedule->factor(at.step);
    StepTensors out;
    if (graph) {
      lr.tensor.fill_(lr.value);
      out = graph->run(micro, step_body);
    } else {
      out = step_body(micro);
    }
    grad_norm = out.grad_norm;
    if (skip_nonfinite) {
      skipped += out.skipped;
      interval_loss += torch::where(out.skipped > 0, torch::zeros_like(out.loss_sum), out.loss_sum);
      interval_targets += out.targets * (1 - out.skipped);
    } else {
      interval_loss += out.loss_sum;
      interval_targets += out.targets;
    }
    ++step;
    if (s.hook) s.hook->after_step(step);  // before the EMA reads the weights
    if (ema) ema->update();
    t_compute += seconds_since(t0);
    ++interval_steps;

    if (step % tc.log_every == 0 || step == tc.max_steps) {
      // The one host sync per interval; data parallel: sums over the ranks.
      auto totals = torch::stack({interval_loss.to(torch::kFloat64), interval_targets.to(torch::kFloat64),
                                  (interval_masked + interval_unmasked).to(torch::kFloat64)});
      if (group) group->all_reduce(totals);
      totals = totals.cpu();
      const double n = totals[1].item<double>();
      const auto inputs = static_cast<int64_t>(totals[2].item<double>());
      const double mean = totals[0].item<double>() / std::max(1.0, n);
      const auto skips = static_cast<int64_t>(skipped.item<double>());
      r.skipped_steps += skips;
      if (skips > 0)
        log::warn("skipped " + std::to_string(skips) + " step(s) with a non-finite loss or gradient up to step " +
                  std::to_string(step) + " (" + std::to_string(r.skipped_steps) + " in all)");
      if (!std::isfinite(mean))
        throw RuntimeError("loss is " + std::to_string(mean) + " in the steps up to " + std::to_string(step) +
                           " (lower optimizer.lr, check the data, or set train.nan_policy=skip)");
      if (r.skipped_steps > tc.max_skipped_steps)
        throw RuntimeError(std::to_string(r.skipped_steps) + " steps skipped for non-finite losses by step " +
                           std::to_string(step) + ", more than train.max_skipped_steps=" +
                           std::to_string(tc.max_skipped_steps) + " (lower optimizer.lr or check the data)");
      const double dt = seconds_since(t_log);
      r.tokens += inputs;
      r.targets += static_cast<int64_t>(n);
      r.train_loss = mean;
      const double tps = static_cast<double>(inputs) / std::max(dt, 1e-9);
      nlohmann::json rec = {{"step", step},
                            {"loss", mean},
                            {"lr", lr.value},
                            {"grad_norm", grad_norm.item<double>()},
                            {r.unit + "_per_s", tps},
                            {r.unit + "_seen", r.tokens},
                            {"targets_per_s", n / std::max(dt, 1e-9)},
                            {"targets_seen", r.targets},
                            {"time_data_s", t_data / interval_steps},
                            {"time_compute_s", t_compute / interval_steps}};
      if (skip_nonfinite) rec["skipped_steps"] = r.skipped_steps;
      // A mixture's data position counts each source's tokens (task mixtures: examples) so far,
      // over all ranks.
      const auto data_state = loader.state();
      if (data_state.contains("source_tokens"))
        for (const auto& [name, n] : data_state["source_tokens"].items()) rec["tokens_seen_" + name] = n;
      if (data_state.contains("source_examples"))
        for (const auto& [name, n] : data_state["source_examples"].items()) rec["examples_seen_" + name] = n;
      if (s.hook) s.hook->add_metrics(rec);
      if (const auto peak = peak_memory_bytes(device)) rec["peak_memory_bytes"] = *peak;
      reset_peak_memory(device);
      write_metrics(rec);
      const double remaining = (tc.max_steps - step) * dt / interval_steps;
      char line[256];  // a resumed run finds the step in it again: log_line_step, core/metrics.h
      std::snprintf(line, sizeof(line), "step %lld/%lld  loss %.4f  lr %.3g  %.0f %s/s  ETA %s",
                    static_cast<long long>(step), static_cast<long long>(tc.max_steps), mean, lr.value, tps,
                    r.unit == "tokens" ? "tok" : "samples", eta(remaining).c_str());
      log::info(line);
      interval_loss.zero_();
      interval_targets.zero_();
      interval_masked.zero_();
      interval_unmasked = 0;
      skipped.zero_();
      t_data = t_compute = 0;
      interval_steps = 0;
      t_log = Clock::now();
    }
    if (sampler && main_rank && step % tc.sample_every == 0) {
      const auto text = sample_text(model, *sampler, tc.sample_prompt, tc.sample_tokens, tc.sample_temperature,
                                    tc.sample_top_k, std::max<int64_t>(context, 1),
                                    static_cast<uint64_t>(s.run.seed) + static_cast<uint64_t>(step), device);
      log::info("sample at step " + std::to_string(step) + ": " + text);
      fs_util::append_file(run_dir.file("samples.jsonl"),
                           nlohmann::json{{"step", step}, {"prompt", tc.sample_prompt}, {"text", text}}.dump(
                               -1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      if (tboard) tboard->text(step, "samples", tb::verbatim(tc.sample_prompt + text));
    }
  }
  if (!r.stopped) {
    run_eval(step, true);
    save(step);
    r.test = evaluate_test_split(s, train_opts, r.best_step >= 0 ? run_dir.path() + "/checkpoints/best" : "",
                                 ema.get(), objective_params, step, write_metrics);
  }
  r.step = step;
  if (graph) r.graph_replays = graph->replays();
  r.seconds = seconds_since(t_start);
  r.tokens_per_s = static_cast<double>(r.tokens - tokens_at_start) / std::max(r.seconds, 1e-9);
  r.targets_per_s = static_cast<double>(r.targets - targets_at_start) / std::max(r.seconds, 1e-9);
  return r;
}

}  // namespace ptm::train
