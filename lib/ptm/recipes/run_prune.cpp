// Recipe -> loaded model -> checks -> evaluation, calibration, pruning, evaluation -> run directory.
#include "ptm/recipes/run_prune.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "ptm/compress/axes.h"
#include "ptm/compress/calibration.h"
#include "ptm/compress/criteria.h"
#include "ptm/compress/keep_masked.h"
#include "ptm/compress/layer_prune.h"
#include "ptm/compress/low_rank.h"
#include "ptm/compress/sparsity_report.h"
#include "ptm/compress/structured.h"
#include "ptm/compress/unstructured.h"
#include "ptm/config/emit.h"
#include "ptm/config/overrides.h"
#include "ptm/core/environment.h"
#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"
#include "ptm/core/run_dir.h"
#include "ptm/core/text.h"
#include "ptm/models/low_rank.h"
#include "ptm/recipes/run_model.h"
#include "ptm/train/checkpoint.h"
#include "ptm/train/trainer.h"

namespace ptm::recipes {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Whether the criterion scores on calibration batches.
bool needs_data(const compress::PruneConfig& c) {
  if (c.granularity == "low_rank") return false;
  if (c.granularity != "layers") return compress::data_driven(c.criterion);
  const auto* e = compress::layer_criteria().find(c.criterion);
  return e && e->factory(0)->needs_data();
}

// The sections ptm prune cannot do without, all named at once.
void check_sections(const Recipe& r) {
  std::vector<Diagnostic> missing;
  if (!r.model) missing.push_back({Origin{}, "model", "missing: ptm prune needs a model: section"});
  if (!r.prune)
    missing.push_back({Origin{}, "prune", "missing: ptm prune needs a prune: section (criterion, granularity, ...)"});
  if (r.init_from.empty())
    missing.push_back({Origin{}, "init_from",
                       "missing: ptm prune needs the weights to prune (init_from.checkpoint or init_from.hf)"});
  if (r.prune && !r.data && needs_data(*r.prune))
    missing.push_back(
        {r.prune->origin, "data",
         "missing: criterion " + r.prune->criterion + " scores on calibration batches from a data: section"});
  if (r.prune && r.prune->recover && !r.data)
    missing.push_back({r.prune->origin, "data", "missing: prune.recover fine-tunes on a data: section"});
  if (r.prune && !r.prune->schedule_key.empty())
    missing.push_back({r.prune->schedule_origin, "prune." + r.prune->schedule_key,
                       "belongs to pruning during training (ptm pretrain | finetune | distill); ptm prune prunes "
                       "once, to prune.sparsity"});
  if (!missing.empty()) throw ConfigError(missing);
}

// The checks that need the built model: the layers pruned, N:M widths, the axes asked for.
compress::Targets prune_targets(const compress::PruneConfig& c, models::ModelImpl& model) {
  if (c.granularity == "low_rank") return compress::low_rank_targets(c, model);
  if ((c.granularity == "structured" || c.granularity == "layers") && !models::low_rank_layers(model).empty())
    throw ConfigError(c.origin, "prune.granularity",
                      c.granularity + ": the model has factorised Linear layers (model.low_rank), whose units and "
                                      "layers cannot be removed yet; prune the unfactorised model, then factorise");
  if (c.granularity == "layers") {
    const auto axes = compress::prunable_axes(model);
    if (axes.empty())
      throw ConfigError(c.origin, "prune.granularity",
                        "layers: the " + model.arch() + " model cannot be rebuilt without layers (gpt and bert can)");
    const auto n_layer = static_cast<int64_t>(axes.front().layers.size());
    if (c.remove_layers >= n_layer)
      throw ConfigError(c.origin, "prune.remove_layers",
                        std::to_string(c.remove_layers) + " would leave no layer of the model's " +
                            std::to_string(n_layer) + " (at most " + std::to_string(n_layer - 1) + ")");
    return compress::select_targets(model, {});  // for the report
  }
  if (c.granularity == "structured") {
    std::vector<std::string> names;
    for (const auto& a : compress::prunable_axes(model)) names.push_back(a.name);
    std::vector<Diagnostic> problems;
    for (const auto& a : c.structured)
      if (std::find(names.begin(), names.end(), a.axis) == names.end())
        problems.push_back({a.origin, "prune.structured." + a.axis,
                            "the " + model.arch() + " model has no prunable axis '" + a.axis + "' (" +
                                (names.empty() ? std::string("it declares none") : "axes: " + text::join(names, ", ")) +
                                ")"});
    if (!problems.empty()) throw ConfigError(problems);
    return compress::scored_modules(c, model);
  }
  return compress::checked_targets(c, model);
}

nlohmann::json evaluate_if_data(const Recipe& recipe, models::ModelImpl& model, const std::string& device,
                                const char* when) {
  if (!recipe.data) return nullptr;
  auto result = evaluate_recipe(recipe, model, device, recipe.prune->eval_batches);
  log::info(std::string("eval ") + when + " pruning: " + result.dump());
  return result;
}

// Recovery: the one Trainer fine-tunes the pruned model in the same run directory (metrics.jsonl,
// checkpoints/step_N); masked weights get zero gradients, so they stay exactly zero.
nlohmann::json recover(const Recipe& recipe, std::shared_ptr<models::ModelImpl> model, const std::string& device,
                       const compress::Targets& targets, const std::map<std::string, torch::Tensor>& masks,
                       const RunDir& run, const std::vector<std::pair<std::string, std::string>>& prov) {
  model->to(torch::Device(device));
  model->train();
  compress::keep_masked(targets, masks);
  train::TrainerSetup setup;
  setup.run = recipe.run;
  setup.train = recipe.train;
  setup.optimizer = recipe.optimizer;
  setup.model = model;
  setup.objective = recipe.objective();
  setup.data = recipe.data;
  setup.schedule = recipe.schedule;
  setup.device = device;
  for (const auto& [k, v] : prov) setup.provenance[k] = v;
  log::info("recovery: fine-tuning the pruned model for " + std::to_string(recipe.train.max_steps) + " steps");
  const auto r = train::run_training(setup, run);
  model->eval();
  return {{"steps", r.step}, {"train_loss", r.train_loss}, {"stopped_by_signal", r.stopped}};
}

// prune.granularity layers: the layer criterion's choice, and the calibration batches it read.
std::pair<compress::LayerChoice, int64_t> choose_layers(const Recipe& recipe, models::ModelImpl& model,
                                                        const std::string& device) {
  const auto& pc = *recipe.prune;
  auto criterion = compress::layer_criteria().find(pc.criterion)->factory(static_cast<uint64_t>(recipe.run.seed));
  compress::HiddenSimilarity similarity;
  if (criterion->needs_data()) {
    data::StreamOptions o;
    o.batch_size = recipe.train.batch_size;
    o.seed = recipe.run.seed;
    auto stream = recipe.data(o);
    similarity = compress::hidden_similarity(model, *stream, pc.calibration_batches, torch::Device(device));
  }
  const auto n_layer = static_cast<int64_t>(compress::prunable_axes(model).front().layers.size());
  if (similarity.cosine.defined() && similarity.cosine.size(0) != n_layer + 1)
    throw RuntimeError("prune: the " + model.arch() + " model gave " + std::to_string(similarity.cosine.size(0)) +
                       " hidden states for " + std::to_string(n_layer) + " layers");
  return {criterion->choose(similarity, n_layer, pc.remove_layers), similarity.batches};
}

}  // namespace

nlohmann::json run_prune(const Recipe& given, const RunOptions& options) {
  check_sections(given);
  const Recipe recipe = given.data ? with_default_objective(given, "causal_lm") : given;
  const auto& pc = *recipe.prune;
  const std::string device = resolve_device(recipe.run.device);
  set_threads(recipe.run.threads);
  log::Level level;
  if (log::parse_level(recipe.run.log_level, level)) log::set_level(level);
  const std::string dir = recipe.run.run_dir();
  if (!options.overwrite && RunDir::holds_any_run(dir))
    throw ConfigError(Origin{}, "run.dir",
                      "'" + dir + "' holds an earlier run; pass --overwrite or choose another --run-dir");

  const auto start = std::chrono::steady_clock::now();
  torch::manual_seed(static_cast<uint64_t>(recipe.run.seed));
  std::shared_ptr<models::ModelImpl> model = recipe.model();
  apply_init_from(recipe.init_from, *model);
  auto targets = prune_targets(pc, *model);
  model->to(torch::Device(device));
  model->eval();
  const int64_t params_before = models::count_parameters(*model);
  const auto before = evaluate_if_data(recipe, *model, device, "before");

  // Scoring: calibration batches for the criteria that read data.
  const auto scoring = std::chrono::steady_clock::now();
  const bool layers = pc.granularity == "layers";
  const bool low_rank = pc.granularity == "low_rank";
  auto criterion = layers || low_rank ? nullptr
                                      : compress::criteria().find(pc.criterion)->factory(static_cast<uint64_t>(recipe.run.seed));
  std::map<std::string, compress::LayerStats> stats;
  int64_t calibration_batches = 0;
  if (criterion && (criterion->needs_activations() || criterion->needs_gradients())) {
    auto objective = recipe.objective();
    objective->attach(*model, torch::Device(device));
    data::StreamOptions o;
    o.batch_size = recipe.train.batch_size;
    o.seed = recipe.run.seed;
    auto stream = recipe.data(o);
    compress::CalibrationOptions co{criterion->needs_activations(), criterion->needs_gradients(),
                                    pc.calibration_batches};
    stats = compress::calibrate(*model, *objective, *stream, targets, co, torch::Device(device));
    calibration_batches = stats.empty() ? 0 : stats.begin()->second.batches;
    if (calibration_batches == 0) throw RuntimeError("prune: the train split of data: gave no calibration batch");
  }

  // Pruning: masks applied in place, or units removed into a smaller model.
  nlohmann::json units = nullptr, chosen_layers = nullptr, factorised = nullptr;
  std::map<std::string, torch::Tensor> masks;
  config::Node resolved = recipe.resolved;
  if (layers || pc.granularity == "structured") {
    compress::KeptUnits kept;
    if (layers) {
      const auto choice = choose_layers(recipe, *model, device);
      calibration_batches = choice.second;
      chosen_layers = {{"removed", choice.first.removed}, {"scores", choice.first.scores}};
      const auto n_layer = static_cast<int64_t>(compress::prunable_axes(*model).front().layers.size());
      std::vector<int64_t> stay;
      for (int64_t l = 0; l < n_layer; ++l)
        if (!std::binary_search(choice.first.removed.begin(), choice.first.removed.end(), l)) stay.push_back(l);
      kept["layers"] = {stay};
      log::info("removing layers " + chosen_layers["removed"].dump() + " (" + pc.criterion +
                " scores " + chosen_layers["scores"].dump() + ")");
    } else {
      kept = compress::select_units(pc, *model, *criterion, stats);
    }
    auto shrunk = compress::shrink(*model, kept);
    model = shrunk.model;
    model->to(torch::Device(device));
    model->eval();
    for (const auto& [key, v] : shrunk.int_options) config::set_path(resolved, "model." + key, config::to_node(v));
    for (const auto& [key, v] : shrunk.list_options) config::set_path(resolved, "model." + key, config::to_node(v));
    units = nlohmann::json::object();
    for (const auto& [axis, layers] : kept) {
      units[axis] = nlohmann::json::array();
      for (const auto& l : layers) units[axis].push_back(l.size());
    }
    targets = layers ? compress::select_targets(*model, {}) : compress::scored_modules(pc, *model);
  } else if (low_rank) {
    auto method = compress::low_rank_methods().find(pc.criterion)->factory();
    const auto rows = compress::factorise_targets(pc, *method, targets);
    factorised = compress::low_rank_report(rows);
    log::info("low-rank factorisation by " + pc.criterion + "\n" + compress::low_rank_table(rows));
    // The ranks of every factorised layer (earlier ones included) rebuild the model.
    auto ranks = config::Node::map();
    for (const auto& [name, rank] : models::low_rank_layers(*model)) ranks.set(name, config::to_node(rank));
    config::set_path(resolved, "model.low_rank", ranks);
    targets = compress::after_factorisation(targets);
  } else {
    masks = compress::prune_unstructured(pc, *criterion, targets, stats);
  }
  const double prune_seconds = seconds_since(scoring);
  const auto after = evaluate_if_data(recipe, *model, device, "after");
  auto report = compress::sparsity_report(*model, targets);
  if (!units.is_null()) report["units"] = units;
  if (!factorised.is_null()) report["low_rank"] = factorised;

  // Nothing is written before this point.
  const RunDir run = RunDir::open(dir, options.overwrite ? RunDir::Mode::Overwrite : RunDir::Mode::Fresh);
  run.attach_log();
  run.write_config(config::to_yaml(resolved));
  const auto prov = provenance(device);
  run.write_cmdline(options.argv, prov);
  log::info("run directory " + dir + ": " + pc.granularity + " pruning by " + pc.criterion);
  log::info("sparsity of the pruned weights\n" + compress::sparsity_table(report));
  // No optimizer state: nothing was trained yet (a recovery builds its own optimizer), and the
  // zero moments of a fresh one would be twice the model's size on disk.
  const optim::Optimizer optimizer({}, recipe.optimizer);
  nlohmann::json state = {
      {"step", 0}, {"pruned_from", recipe.init_from.hf.empty() ? recipe.init_from.checkpoint : recipe.init_from.hf}};
  model->to(torch::kCPU);
  const auto checkpoint = train::save_checkpoint(dir, 0, *model, optimizer, state);
  fs_util::write_file_atomic(run.file("sparsity.json"), report.dump(2) + "\n");
  nlohmann::json summary = {{"criterion", pc.criterion},
                            {"granularity", pc.granularity},
                            {"before", before},
                            {"after", after},
                            {"parameters_before", params_before},
                            {"parameters", report["parameters"]},
                            {"nonzero_parameters", report["nonzero_parameters"]},
                            {"target_sparsity", report["targets"]["sparsity"]},
                            {"calibration_batches", calibration_batches},
                            {"prune_seconds", prune_seconds},
                            {"seconds", seconds_since(start)},
                            {"checkpoint", checkpoint}};
  if (!units.is_null()) summary["units"] = units;
  if (!chosen_layers.is_null()) summary["layers"] = chosen_layers;
  if (!factorised.is_null()) summary["low_rank"] = factorised["targets"];
  if (pc.recover) {
    summary["recovered"] = recover(recipe, model, device, targets, masks, run, prov);
    // On the batches of `before` and `after` (the trainer's own evaluation reads train.eval_batches).
    summary["recovered"]["eval"] = evaluate_if_data(recipe, *model, device, "after recovery");
    model->to(torch::kCPU);
    const auto again = compress::sparsity_report(*model, targets);
    summary["recovered"]["target_sparsity"] = again["targets"]["sparsity"];
    summary["recovered"]["nonzero_parameters"] = again["nonzero_parameters"];
    if (summary["recovered"]["stopped_by_signal"].get<bool>()) {
      log::close_files();
      return summary;  // no summary.json: the run did not finish
    }
  }
  summary["seconds"] = seconds_since(start);
  run.write_summary(summary);
  log::close_files();
  return summary;
}

}  // namespace ptm::recipes
