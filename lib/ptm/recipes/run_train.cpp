// Recipe -> parts -> Trainer, with the run-directory contract around it.
#include "ptm/recipes/run_train.h"

#include <algorithm>
#include <filesystem>

#include "ptm/config/diff.h"
#include "ptm/config/emit.h"
#include "ptm/config/load.h"
#include "ptm/config/overrides.h"
#include "ptm/core/environment.h"
#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"
#include "ptm/core/run_dir.h"
#include "ptm/peft/peft.h"
#include "ptm/train/checkpoint.h"
#include "ptm/train/freeze.h"
#include "ptm/train/trainer.h"

namespace ptm::recipes {
namespace {

std::string format_percent(int64_t part, int64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f%%", whole > 0 ? 100.0 * part / whole : 0.0);
  return buf;
}

// train.sample_tokenizer, or the tokenizer.json of the prepared shards the run reads.
std::string sample_tokenizer(const Recipe& recipe) {
  if (recipe.train.sample_every == 0) return "";
  if (!recipe.train.sample_tokenizer.empty()) return recipe.train.sample_tokenizer;
  const auto* data = recipe.resolved.find("data");
  const auto* path = data ? data->find("path") : nullptr;
  if (path && path->is_scalar() && std::filesystem::exists(path->text() + "/tokenizer.json"))
    return path->text() + "/tokenizer.json";
  log::warn("train.sample_every is set but the data set has no tokenizer.json: set train.sample_tokenizer");
  return "";
}

// Keys whose change keeps a resumed run the same run: where and how often it logs, evaluates,
// saves and samples, and how the process runs (run.*, but the seed). Any other change (batch
// size, data, model, optimizer, schedule length through max_steps, ...) makes the rest of the
// run differ from the run that was started.
bool keeps_exactness(const std::string& path) {
  if (path == "run.seed") return false;
  static const char* const kFree[] = {"run.", "train.log_every", "train.eval_every", "train.eval_batches",
                                      "train.save_every", "train.keep_last", "train.sample_",
                                      "train.write_predictions", "train.early_stopping_patience",
                                      "train.tensorboard"};
  for (const char* prefix : kFree)
    if (path.rfind(prefix, 0) == 0) return true;
  return false;
}

// Resuming under a recipe that differs from the run's config.yaml: refused (all keys named,
// before anything in the run directory changes) unless allowed, then recorded in
// recipe_changes.jsonl.
void check_recipe_change(const std::string& dir, const std::string& resume_from, const config::Node& resolved,
                         bool allowed) {
  const std::string previous = dir + "/config.yaml";
  if (!std::filesystem::exists(previous)) return;
  std::vector<config::Change> breaking;
  // Both sides as config.yaml holds them (emitted and parsed), so only values differ, not quoting.
  const auto now = config::parse_yaml(config::to_yaml(resolved), "the recipe");
  for (auto& c : config::diff(config::parse_yaml(fs_util::read_file(previous), previous), now))
    if (!keeps_exactness(c.path)) breaking.push_back(std::move(c));
  if (breaking.empty()) return;
  if (!allowed) {
    std::vector<Diagnostic> problems;
    // Point at where the new value comes from (the recipe line or the override).
    const auto origin_of = [&](const std::string& path) {
      const config::Node* n = &resolved;
      for (size_t start = 0; n && start <= path.size();) {
        const auto dot = std::min(path.find('.', start), path.size());
        n = n->is_map() ? n->find(path.substr(start, dot - start)) : nullptr;
        start = dot + 1;
      }
      return n ? n->origin() : Origin{previous};
    };
    for (const auto& c : breaking)
      problems.push_back({origin_of(c.path), c.path,
                          "was " + c.before + " in the run being resumed (" + previous + "), now " + c.after +
                              ": the rest of the run would not be the run that was started; restore it, start a "
                              "new run (--run-dir, --overwrite), or pass --allow-recipe-change"});
    throw ConfigError(problems);
  }
  nlohmann::json record = {{"resumed_from", resume_from}, {"changes", nlohmann::json::array()}};
  for (const auto& c : breaking) {
    record["changes"].push_back({{"key", c.path}, {"before", c.before}, {"after", c.after}});
    log::warn("--allow-recipe-change: " + c.str());
  }
  fs_util::append_file(dir + "/recipe_changes.jsonl", record.dump() + "\n");
}

}  // namespace

Recipe with_default_objective(const Recipe& recipe, const std::string& type) {
  if (recipe.objective) return recipe;
  config::Node root = recipe.resolved;
  config::Node value = config::to_node(type);
  value.set_origin(Origin{"default objective"});
  config::set_path(root, "objective.type", value);
  return check(root, recipe.run.name);
}

nlohmann::json run_train(const Recipe& given, const RunOptions& options, const TaskSpec& task) {
  std::vector<Diagnostic> missing;
  for (const auto& [present, key] : {std::pair<bool, const char*>{bool(given.model), "model"},
                                     {bool(given.data), "data"}})
    if (!present)
      missing.push_back({Origin{}, key, "missing: ptm " + task.command + " needs a " + key + ": section"});
  if (!missing.empty()) throw ConfigError(missing);
  const Recipe recipe = with_default_objective(given, task.default_objective);

  const std::string device = resolve_device(recipe.run.device);
  // Before the run directory is touched: a graph-captured step needs a GPU.
  if (recipe.train.cuda_graph && !torch::Device(device).is_cuda())
    throw ConfigError(Origin{}, "train.cuda_graph", "needs a CUDA device (this run is on " + device + ")");
  set_threads(recipe.run.threads);
  log::Level level;
  if (log::parse_level(recipe.run.log_level, level)) log::set_level(level);

  // Where to start: --resume auto continues the newest complete checkpoint of an unfinished run.
  const std::string dir = recipe.run.run_dir();
  std::string resume_from;
  RunDir::Mode mode = options.overwrite ? RunDir::Mode::Overwrite : RunDir::Mode::Fresh;
  if (options.resume != "never" && options.resume != "auto") {
    resume_from = options.resume;
    mode = RunDir::Mode::Resume;
  } else if (options.resume == "auto" && !options.overwrite && RunDir::holds_any_run(dir) &&
             !RunDir::holds_finished_run(dir)) {
    mode = RunDir::Mode::Resume;
    if (const auto latest = train::latest_checkpoint(dir, /*verify=*/true)) resume_from = *latest;
  }
  if (!resume_from.empty() && options.resume != "auto") {
    if (const auto problem = train::verify_checkpoint(resume_from); !problem.empty())
      throw IoError("checkpoint '" + resume_from + "' is damaged: " + problem);
  }
  // Without a checkpoint nothing is continued: the run starts over under the recipe given.
  if (mode == RunDir::Mode::Resume && !resume_from.empty())
    check_recipe_change(dir, resume_from, recipe.resolved, options.allow_recipe_change);
  const RunDir run = RunDir::open(dir, mode);
  run.attach_log();
  run.write_config(config::to_yaml(recipe.resolved));
  auto prov = provenance(device);
  run.write_cmdline(options.argv, prov);
  log::info("run directory " + dir + (resume_from.empty() ? "" : " (resuming " + resume_from + ")"));

  torch::manual_seed(static_cast<uint64_t>(recipe.run.seed));
  train::TrainerSetup setup;
  setup.run = recipe.run;
  setup.train = recipe.train;
  setup.optimizer = recipe.optimizer;
  setup.model = recipe.model();
  if (!recipe.init_from.empty() && resume_from.empty()) apply_init_from(recipe.init_from, *setup.model);
  // peft: parameter-efficient modules are added here, after the base weights are in place.
  if (recipe.peft) peft::apply(*recipe.peft, *setup.model);
  train::apply_freeze(recipe.freeze, *setup.model);
  if (!setup.model->set_activation_checkpointing(recipe.train.activation_checkpointing))
    throw RuntimeError("train.activation_checkpointing: the " + setup.model->arch() + " model does not support it");
  setup.model->to(torch::Device(device));
  setup.objective = recipe.objective();
  setup.data = recipe.data;
  setup.schedule = recipe.schedule;
  setup.device = device;
  setup.resume_from = resume_from;
  setup.sample_tokenizer = sample_tokenizer(recipe);
  for (const auto& [k, v] : prov) setup.provenance[k] = v;
  const int64_t total = models::count_parameters(*setup.model);
  const int64_t trainable = models::count_parameters(*setup.model, true);
  log::info("model " + setup.model->arch() + ": " + std::to_string(total) + " parameters (" +
            std::to_string(trainable) + " trainable, " + format_percent(trainable, total) + ") on " + device);

  const auto r = train::run_training(setup, run);
  nlohmann::json summary = {{"steps", r.step},
                            {r.unit, r.tokens},
                            {"targets", r.targets},
                            {"train_loss", r.train_loss},
                            {"eval", r.eval},
                            {"seconds", r.seconds},
                            {r.unit + "_per_s", r.tokens_per_s},
                            {"targets_per_s", r.targets_per_s},
                            {"parameters", total},
                            {"trainable_parameters", trainable},
                            {"stopped_by_signal", r.stopped},
                            {"early_stopped", r.early_stopped}};
  if (!r.test.is_null()) summary["test"] = r.test;
  if (recipe.train.cuda_graph) summary["cuda_graph_replays"] = r.graph_replays;
  if (r.best_step >= 0) summary["best"] = {{"step", r.best_step}, {"metric", recipe.train.best_metric}, {"value", r.best_value}};
  // A PEFT run also leaves its final adapter alone (adapter_model.safetensors + adapter_config.json).
  if (recipe.peft && !r.stopped) peft::save_adapter(*setup.model, *recipe.peft, dir + "/adapter");
  if (!r.stopped) run.write_summary(summary);  // a stopped run stays resumable
  log::close_files();
  return summary;
}

}  // namespace ptm::recipes
