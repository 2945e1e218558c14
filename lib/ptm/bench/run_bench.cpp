// Assembles bench workloads from a recipe or a model preset and measures each configuration.
#include "ptm/bench/run_bench.h"

#include "ptm/dist/process_group.h"
#include "ptm/dist/rank_layout.h"

#include <filesystem>

#include "ptm/bench/meters.h"
#include "ptm/bench/mfu.h"
#include "ptm/bench/report.h"
#include "ptm/bench/runner.h"
#include "ptm/train/train_step.h"
#include "ptm/bench/stats.h"
#include "ptm/config/binder.h"
#include "ptm/config/load.h"
#include "ptm/config/overrides.h"
#include "ptm/core/environment.h"
#include "ptm/core/errors.h"
#include "ptm/core/log.h"
#include "ptm/recipes/recipe.h"

namespace ptm::bench {
namespace {

using nlohmann::json;
const Origin kCommandLine{"command line"};

// A value of the resolved `model:` section (defaults filled in) as text, or `fallback`.
std::string model_value(const config::Node& root, const std::string& key, const std::string& fallback) {
  const auto* model = root.find("model");
  const auto* v = model ? model->find(key) : nullptr;
  return v && v->is_scalar() ? v->text() : fallback;
}
int64_t model_int(const config::Node& root, const std::string& key, int64_t fallback) {
  try {
    return std::stoll(model_value(root, key, std::to_string(fallback)));
  } catch (const std::exception&) {
    return fallback;
  }
}

// What the model eats and how it is scored, from its architecture and options.
struct Fit {
  std::string kind;       // lm | classification | images
  std::string objective;  // causal_lm | classification | "" (no trainable head)
  int64_t max_seq = 0;    // 0: no limit (rotary positions) or images
};

Fit fit_of(const std::string& arch, const config::Node& root) {
  if (arch == "gpt")
    return {"lm", "causal_lm",
            model_value(root, "position", "learned") == "learned" ? model_int(root, "n_positions", 1024) : 0};
  if (arch == "bert") {
    const auto head = model_value(root, "head", "none");
    const int64_t max_seq = model_int(root, "max_position_embeddings", 512);
    // MLM with every position a target: the work of an MLM step with all tokens scored.
    if (head == "mlm") return {"lm", "causal_lm", max_seq};
    if (head == "classification") return {"classification", "classification", max_seq};
    return {"lm", "", max_seq};
  }
  if (arch == "vit" || arch == "resnet") return {"images", "classification", 0};
  if (arch == "mlp") {
    if (model_int(root, "vocab_size", 0) > 0)
      return model_value(root, "lm", "false") == "true" ? Fit{"lm", "causal_lm", 0}
                                                        : Fit{"classification", "classification", 0};
    return {"images", "classification", 0};
  }
  return {"lm", "causal_lm", 0};
}

// The synthetic `data:` section that fits the model.
config::Node synthetic_data(const std::string& arch, const Fit& fit, const config::Node& root, int64_t seq) {
  std::string y = "type: synthetic\nkind: " + fit.kind + "\n";
  if (fit.kind == "images") {
    int64_t size = model_int(root, "image_size", 224), channels = 3, classes = 1000;
    if (arch == "vit") {
      channels = model_int(root, "num_channels", 3);
      classes = model_int(root, "num_labels", 1000);
    } else if (arch == "resnet") {
      channels = model_int(root, "in_channels", 3);
      classes = model_int(root, "num_classes", 1000);
    } else {  // mlp on flattened grey images
      const int64_t in = model_int(root, "in_features", 784);
      size = 1;
      while ((size + 1) * (size + 1) <= in) ++size;
      if (size * size != in)
        throw ConfigError(
            Origin{}, "model.in_features",
            "ptm bench feeds the mlp square grey images; " + std::to_string(in) + " is not a square number");
      channels = 1;
      classes = model_int(root, "num_classes", 10);
    }
    y += "image_size: " + std::to_string(size) + "\nchannels: " + std::to_string(channels) +
         "\nnum_classes: " + std::to_string(std::max<int64_t>(2, classes)) + "\n";
  } else {
    y += "vocab_size: " + std::to_string(model_int(root, "vocab_size", 256)) + "\nseq_len: " + std::to_string(seq) +
         "\n";
    if (fit.kind == "classification")
      y += "num_classes: " +
           std::to_string(std::max<int64_t>(2, model_int(root, arch == "bert" ? "num_labels" : "num_classes", 2))) +
           "\n";
  }
  return config::parse_yaml(y, "ptm bench (synthetic data for the model)");
}

std::string device_name(const std::string& device, const json& env) {
  if (device.rfind("cuda", 0) == 0) {
    const int index = device.size() > 5 ? std::stoi(device.substr(5)) : 0;
    for (const auto& d : env["cuda"]["devices"])
      if (d["index"].get<int>() == index) return d["name"].get<std::string>();
    return device;
  }
  return env["cpu"]["model"].get<std::string>();
}

json summary_json(const std::vector<double>& v) {
  const auto s = summarize(v);
  return {{"mean", s.mean}, {"min", s.min}, {"max", s.max}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}};
}

json mean_or_null(const std::vector<double>& v) { return v.empty() ? json() : json(summarize(v).mean); }

}  // namespace

json run(const BenchOptions& o, const std::vector<std::string>& argv) {
  validate(o);
  const json baseline = o.compare.empty() ? json() : read_baseline(o.compare);  // fail before measuring
  const bool train = o.mode == "train";
  const bool direct = o.config.empty();
  const std::string path = direct ? o.model : o.config;
  recipes::RecipeSource src;
  src.path = path;
  src.overrides = o.overrides;
  if (!o.device.empty()) src.sugar.device = o.device;
  if (!o.log_level.empty()) src.sugar.log_level = o.log_level;
  config::Node root = recipes::resolve(src);
  if (o.threads > 0) config::set_path(root, "run.threads", config::to_node(o.threads));
  const std::string name = std::filesystem::path(path).stem().string();
  auto recipe = recipes::check(root, name);
  if (!recipe.model)
    throw ConfigError(Origin{path}, "model",
                      "missing: ptm bench needs a model: section (a preset from configs/models/)");
  log::Level level;
  if (log::parse_level(recipe.run.log_level, level)) log::set_level(level);

  // Data parallel when a launcher started this process as one of several ranks.
  const auto layout = dist::detect_rank_layout();
  const std::string device_str = dist::device_for_rank(resolve_device(recipe.run.device), layout);
  const torch::Device device(device_str);
  // "auto": bf16 on CUDA, fp32 on the CPU; an explicit bf16 autocasts on either (AutocastGuard).
  const std::string requested = o.dtype != "auto" ? o.dtype : (direct ? "auto" : recipe.train.precision);
  const std::string precision = requested != "auto" ? requested : device.is_cuda() ? "bf16" : "fp32";
  set_threads(recipe.run.threads);
  std::unique_ptr<dist::Group> group;
  if (layout.distributed()) {
    if (!train) throw ConfigError(kCommandLine, "--mode", "data-parallel benches measure training steps: use --mode train");
    if (recipe.train.cuda_graph)
      throw ConfigError(Origin{path}, "train.cuda_graph", "is not supported in data-parallel runs yet");
    group = std::make_unique<dist::Group>(layout, device_str, std::chrono::seconds(recipe.run.dist_timeout_s));
    if (!group->main() && level < log::Level::warn) log::set_level(log::Level::warn);
  }
  if (recipe.train.cuda_graph && (!train || !device.is_cuda()))
    throw ConfigError(Origin{path}, "train.cuda_graph",
                      !train ? "captures the training step: use it with --mode train"
                             : "needs a CUDA device (this bench runs on " + device_str + ")");
  if (recipe.train.cuda_graph && o.warmup < 2)
    throw ConfigError(kCommandLine, "--warmup",
                      "train.cuda_graph needs at least 2 warm-up steps (eager steps, then the capture), got " +
                          std::to_string(o.warmup));

  torch::manual_seed(static_cast<uint64_t>(recipe.run.seed));
  auto model = recipe.model();
  if (!model->set_activation_checkpointing(recipe.train.activation_checkpointing))
    throw RuntimeError("train.activation_checkpointing: the " + model->arch() + " model does not support it");
  model->to(device);
  const std::string arch = model->arch();
  const Fit fit = fit_of(arch, recipe.resolved);
  const bool has_data = !direct && root.find("data");
  const std::string objective_type = recipe.objective ? "" : fit.objective;
  if (train && !recipe.objective && objective_type.empty())
    throw ConfigError(Origin{path}, "model.head",
                      "ptm bench --mode train needs a trainable head: set model.head=mlm (or classification)");

  // Sequence lengths: --seq, else the recipe's data.seq_len, else the model's context.
  std::vector<int64_t> seqs = o.seqs;
  if (fit.kind == "images" && !seqs.empty())
    throw ConfigError(kCommandLine, "--seq", "image models take no sequence length");
  if (seqs.empty()) {
    const auto* data = has_data ? root.find("data") : nullptr;
    const auto* seq_node = data ? data->find("seq_len") : nullptr;
    seqs.push_back(seq_node && seq_node->is_scalar() ? std::stoll(seq_node->text())
                                                     : (fit.max_seq > 0 ? fit.max_seq : 256));
  }
  for (const auto t : seqs)
    if (fit.max_seq > 0 && t > fit.max_seq)
      throw ConfigError(kCommandLine, "--seq",
                        std::to_string(t) + " tokens exceed the model's context of " + std::to_string(fit.max_seq));
  const std::vector<int64_t> batches = o.batches.empty() ? std::vector<int64_t>{recipe.train.batch_size} : o.batches;

  std::unique_ptr<objectives::Objective> objective;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::vector<torch::Tensor> params;
  std::unique_ptr<dist::GradientSync> sync;
  if (train) {
    objective = recipe.objective ? recipe.objective() : objectives::make(objective_type);
    objective->attach(*model, device);
    std::vector<std::pair<std::string, torch::Tensor>> named;
    for (const auto& p : model->named_parameters())
      if (p.value().requires_grad()) named.emplace_back(p.key(), p.value());
    for (const auto& [k, v] : objective->parameters()) named.emplace_back("objective." + k, v);
    for (const auto& [k, v] : named) params.push_back(v);
    optimizer = std::make_unique<optim::Optimizer>(named, recipe.optimizer);
    if (group) {
      sync = std::make_unique<dist::GradientSync>(*group, named, train::grad_sync_options(recipe.train),
                                                  train::floating_buffers(*model));
    }
  }

  const json env = environment();
  const std::string dev_name = device_name(device_str, env);
  std::optional<PeakFlops> peak;
  if (o.peak_flops)
    peak = PeakFlops{*o.peak_flops, "--peak-flops"};
  else if (device.is_cuda())
    peak = gpu_peak_flops(dev_name, precision == "fp32" && at::globalContext().allowTF32CuBLAS() ? "tf32" : precision);
  const int64_t n_params = models::count_parameters(*model);

  json results = json::array();
  for (const auto seq : seqs) {
    // The data of this sequence length: the recipe's (seq_len replaced) or synthetic for the model.
    config::Node point = root;
    if (has_data) {
      if (!o.seqs.empty()) config::set_path(point, "data.seq_len", config::to_node(seq));
    } else {
      point.set("data", synthetic_data(arch, fit, recipe.resolved, seq));
    }
    const auto point_recipe = recipes::check(point, name);
    for (const auto batch : batches) {
      Workload w;
      w.model = model.get();
      w.objective = objective.get();
      w.optimizer = optimizer.get();
      w.params = params;
      w.data = point_recipe.data;
      w.stream.batch_size = batch;
      w.stream.seed = recipe.run.seed;
      w.device = device;
      w.precision = precision;
      w.clip_grad_norm = recipe.train.clip_grad_norm;
      w.lr = recipe.optimizer.lr;
      w.train = train;
      w.cuda_graph = recipe.train.cuda_graph;
      w.warmup = o.warmup;
      w.iters = o.iters;
      w.group = group.get();
      w.sync = sync.get();
      if (!o.profile.empty())
        w.profile = seqs.size() * batches.size() == 1
                        ? o.profile
                        : o.profile + ".b" + std::to_string(batch) + ".t" + std::to_string(seq);
      const bool images = fit.kind == "images";
      const double fwd = model->forward_flops(images ? 0 : seq);
      // Forward-only work of the objective (a distillation teacher): once per sample.
      const double extra = objective ? objective->extra_forward_flops(images ? 0 : seq) : 0.0;
      const double flops = step_flops(fwd, batch, train) + extra * static_cast<double>(batch);
      json r = {{"name", name},
                {"model", path},
                {"arch", arch},
                {"mode", o.mode},
                {"dtype", precision},
                {"device", device_str},
                {"device_name", dev_name},
                {"batch", batch},
                {"seq", images ? json() : json(seq)},
                {"warmup", o.warmup},
                {"iters", o.iters},
                {"status", "ok"},
                {"params", n_params},
                {"macs_per_sample", fwd / 2},
                {"forward_flops_per_sample", fwd},
                {"objective_forward_flops_per_sample", extra},
                {"flops_per_step", flops},
                {"flop_formula", flop_formula(train)},
                {"unit", images ? "samples/s" : "tokens/s"},
                {"peak_flops", peak ? json(peak->flops) : json()},
                {"peak_flops_source", peak ? json(peak->source) : json()}};
      Measurement m;
      try {
        m = measure(w);
      } catch (const std::exception& e) {
        if (!is_out_of_memory(e)) {
          // A failed collective: the heartbeats name a lost rank (ptm's own errors pass as they are).
          if (group && !dynamic_cast<const Error*>(&e)) throw RuntimeError(group->stopped_by(e));
          throw;
        }
        if (optimizer) optimizer->zero_grad();
        release_cached_memory(device);
        log::warn("batch " + std::to_string(batch) + ", seq " + std::to_string(seq) + ": out of memory");
        r["status"] = "out_of_memory";
        for (const char* k : {"timer", "throughput", "tokens_per_s", "samples_per_s", "wall_s", "step_ms", "phase_ms",
                              "peak_memory_bytes", "peak_memory_kind", "mfu", "achieved_tflops", "loss"})
          r[k] = nullptr;
        results.push_back(r);
        continue;
      }
      const double step_s = m.wall_s / w.iters;
      // Data parallel: every rank steps on its own batch; throughput is the whole run's.
      const int world = group ? group->world() : 1;
      r["ranks"] = world;
      r["comm_ms"] = m.comm_ms ? json(*m.comm_ms) : json();
      r["timer"] = m.timer;
      r["samples_per_s"] = m.samples_per_step * world / step_s;
      r["tokens_per_s"] = images ? json() : json(m.tokens_per_step * world / step_s);
      r["throughput"] = images ? r["samples_per_s"] : r["tokens_per_s"];
      r["wall_s"] = m.wall_s;
      r["step_ms"] = summary_json(m.step_ms);
      r["cuda_graph"] = m.cuda_graph;
      if (m.cuda_graph)  // one replay: forward, backward and optimizer are not split
        r["phase_ms"] = {{"data", mean_or_null(m.phase_ms[0])},
                         {"forward", nullptr},
                         {"backward", nullptr},
                         {"optimizer", nullptr},
                         {"graph", mean_or_null(m.phase_ms[1])}};
      else
        r["phase_ms"] = {{"data", mean_or_null(m.phase_ms[0])},
                         {"forward", mean_or_null(m.phase_ms[1])},
                         {"backward", mean_or_null(m.phase_ms[2])},
                         {"optimizer", mean_or_null(m.phase_ms[3])}};
      r["peak_memory_bytes"] = m.peak_memory_bytes ? json(*m.peak_memory_bytes) : json();
      r["peak_memory_kind"] = m.peak_memory_kind;
      const auto u = mfu(flops, step_s, peak);  // per rank: each GPU's own step
      r["mfu"] = u ? json(*u) : json();
      r["achieved_tflops"] = flops / step_s / 1e12;
      r["loss"] = m.loss ? json(*m.loss) : json();
      results.push_back(r);
    }
  }
  auto report = make_report(env, argv, std::move(results));
  if (!o.compare.empty()) report["comparison"] = compare(report, baseline);
  if (group && !group->main()) return json();  // rank 0 reports
  return report;
}

}  // namespace ptm::bench
