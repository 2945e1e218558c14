// Recipe -> parts -> Trainer, with the run-directory contract around it.
#include "ptm/recipes/run_train.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <thread>

#include "ptm/compress/gradual_pruner.h"
#include "ptm/compress/low_rank.h"
#include "ptm/compress/trp.h"
#include "ptm/compress/unstructured.h"
#include "ptm/config/diff.h"
#include "ptm/config/emit.h"
#include "ptm/config/load.h"
#include "ptm/config/overrides.h"
#include "ptm/core/environment.h"
#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"
#include "ptm/core/metrics.h"
#include "ptm/core/run_dir.h"
#include "ptm/dist/process_group.h"
#include "ptm/dist/rank_layout.h"
#include "ptm/compress/calibration.h"
#include "ptm/compress/reorder.h"
#include "ptm/compress/structured.h"
#include "ptm/nas/supernet_objective.h"
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
                                      "train.ddp_bucket_mb", "train.ddp_find_unused", "train.zero",

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

// Every rank must run the same recipe: each compares its resolved recipe with rank 0's and
// all stop with exit 2, naming the keys, when any differs.
void check_same_recipe(dist::Group& group, const config::Node& resolved) {
  const auto yaml = config::to_yaml(resolved);
  const auto all = group.exchange("recipe", yaml);
  const auto reference = config::parse_yaml(all[0], "rank 0's recipe");
  std::vector<Diagnostic> problems;
  for (size_t r = 1; r < all.size(); ++r)
    for (const auto& c : config::diff(reference, config::parse_yaml(all[r], "rank " + std::to_string(r) + "'s recipe")))
      problems.push_back({Origin{"rank " + std::to_string(r)}, c.path,
                          "is " + c.after + " where rank 0 has " + c.before + ": every rank must run the same recipe"});
  if (!problems.empty()) throw ConfigError(problems);
}

// An integer field of a checkpoint's trainer_state.json (`fallback` when it has none).
int64_t checkpoint_field(const std::string& checkpoint, const char* key, int64_t fallback) {
  const auto state = nlohmann::json::parse(fs_util::read_file(checkpoint + "/trainer_state.json"), nullptr, false);
  return state.is_object() && state.contains(key) && state[key].is_number_integer() ? state[key].get<int64_t>() : fallback;
}
// The number of ranks whose state a checkpoint holds (1 for a single-process run).
int checkpoint_world(const std::string& checkpoint) { return static_cast<int>(checkpoint_field(checkpoint, "world", 1)); }

}  // namespace

// supernet.reorder: heads and neurons sorted by importance before super-network training, so
// that the first-k slices the sub-networks use are the best ones (scored as structured pruning
// scores units; data-driven criteria read calibration batches of the train split).
void sort_for_supernet(const Recipe& recipe, models::ModelImpl& model, const std::string& device) {
  const auto& c = *recipe.supernet;
  if (c.reorder == "none") return;
  auto criterion = compress::criteria().find(c.reorder)->factory(static_cast<uint64_t>(recipe.run.seed));
  std::map<std::string, compress::LayerStats> stats;
  if (criterion->needs_activations() || criterion->needs_gradients()) {
    compress::PruneConfig axes;
    axes.structured = {{"heads"}, {"neurons"}};
    auto objective = recipe.objective();
    objective->attach(model, torch::Device(device));
    data::StreamOptions o;
    o.batch_size = recipe.train.batch_size;
    o.seed = recipe.run.seed;
    auto stream = recipe.data(o);
    stats = compress::calibrate(model, *objective, *stream, compress::scored_modules(axes, model),
                                {criterion->needs_activations(), criterion->needs_gradients(), c.calibration_batches},
                                torch::Device(device));
  }
  compress::sort_units(model, *criterion, stats);
  log::info("supernet: heads and neurons sorted by " + c.reorder);
}

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
  if (recipe.prune) {
    // Refused before the run directory is touched; the targets need the model (built to look).
    if (recipe.peft)
      throw ConfigError(recipe.prune->origin, "prune",
                        "cannot go with a peft: section (the adapters add dense updates to the frozen weights it "
                        "would mask): prune while training the full model, or prune the merged model with ptm prune");
    if (recipe.train.ema_decay > 0)
      throw ConfigError(Origin{}, "train.ema_decay",
                        "cannot go with a prune: section: the averaged weights (evaluated and saved as best) "
                        "would not be sparse, pruned weights only decaying toward zero");
    compress::check_training_prune(*recipe.prune, recipe.train.max_steps);
    auto probe = recipe.model();
    if (recipe.prune->granularity == "low_rank")
      compress::low_rank_targets(*recipe.prune, *probe);  // TRP (trp.h)
    else
      compress::checked_targets(*recipe.prune, *probe);
  }

  // Data parallel when a launcher (torchrun, srun, ptm launch) started this process as a rank.
  const auto layout = dist::detect_rank_layout();
  const std::string device = dist::device_for_rank(resolve_device(recipe.run.device), layout);
  // Before the run directory is touched: a graph-captured step needs a GPU.
  if (recipe.train.cuda_graph && !torch::Device(device).is_cuda())
    throw ConfigError(Origin{}, "train.cuda_graph", "needs a CUDA device (this run is on " + device + ")");
  set_threads(recipe.run.threads);
  // CPU ranks on one machine share its cores: by default each takes its share, as
  // OMP_NUM_THREADS=1 does under torchrun, instead of every rank spinning on all of them.
  if (layout.distributed() && recipe.run.threads == 0 && device == "cpu")
    set_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / layout.local_world));
  log::Level level;
  if (log::parse_level(recipe.run.log_level, level)) log::set_level(level);
  std::unique_ptr<dist::Group> group;
  if (layout.distributed()) {
    log::info(layout.describe() + "; connecting (timeout " + std::to_string(recipe.run.dist_timeout_s) + " s)");
    group = std::make_unique<dist::Group>(layout, device, std::chrono::seconds(recipe.run.dist_timeout_s));
    check_same_recipe(*group, recipe.resolved);
    // Rank 0 speaks for the run; the others report warnings and errors.
    if (!group->main() && level < log::Level::warn) log::set_level(log::Level::warn);
  }
  const bool main_rank = !group || group->main();

  // Where to start: --resume auto continues the newest complete checkpoint of an unfinished run.
  const std::string dir = recipe.run.run_dir();
  std::string resume_from;
  RunDir::Mode mode = options.overwrite ? RunDir::Mode::Overwrite : RunDir::Mode::Fresh;
  if (options.resume != "never" && options.resume != "auto") {
    resume_from = options.resume;
    mode = RunDir::Mode::Resume;
  } else if (main_rank && options.resume == "auto" && !options.overwrite && RunDir::holds_any_run(dir) &&
             !RunDir::holds_finished_run(dir)) {
    // Rank 0 alone looks (verifying a checkpoint hashes every file); the others follow it.
    mode = RunDir::Mode::Resume;
    if (const auto latest = train::latest_checkpoint(dir, /*verify=*/true)) resume_from = *latest;
  }
  // Rank 0 decides where to start and prepares the run directory; the other ranks follow its
  // decision, or stop with its error (the same exit code) instead of waiting for it.
  nlohmann::json decision;
  std::optional<RunDir> opened;
  if (main_rank) {
    try {
      if (!resume_from.empty() && options.resume != "auto") {
        if (const auto problem = train::verify_checkpoint(resume_from); !problem.empty())
          throw IoError("checkpoint '" + resume_from + "' is damaged: " + problem);
      }
      const int world = group ? group->world() : 1;
      if (!resume_from.empty() && checkpoint_world(resume_from) != world)
        throw ConfigError(Origin{resume_from + "/trainer_state.json"}, "world",
                          "the checkpoint was written by " + std::to_string(checkpoint_world(resume_from)) +
                              " rank(s) and this run has " + std::to_string(world) + ": resume with " +
                              std::to_string(checkpoint_world(resume_from)) +
                              " (each rank continues its own data position and random state)");
      // Without a checkpoint nothing is continued: the run starts over under the recipe given.
      if (mode == RunDir::Mode::Resume && !resume_from.empty())
        check_recipe_change(dir, resume_from, recipe.resolved, options.allow_recipe_change);
      opened = RunDir::open(dir, mode);
      decision = {{"resume_from", resume_from}, {"resumed", opened->resumed()}};
    } catch (const std::exception& e) {
      const bool input = dynamic_cast<const ConfigError*>(&e) || dynamic_cast<const IoError*>(&e);
      if (group) group->share("start", nlohmann::json{{"error", e.what()}, {"input", input}}.dump());
      throw;
    }
  }
  if (group) decision = nlohmann::json::parse(group->share("start", decision.dump()));
  if (decision.contains("error")) {
    const std::string what = "rank 0: " + decision["error"].get<std::string>();
    if (decision["input"].get<bool>()) throw IoError(what);
    throw RuntimeError(what);
  }
  resume_from = decision["resume_from"].get<std::string>();
  const RunDir run = opened ? *opened : RunDir::follow(dir, decision["resumed"].get<bool>());
  auto prov = provenance(device);
  if (main_rank) {
    // The steps after the checkpoint (all of them without one) run again: their log lines go,
    // as their metrics.jsonl records do in the trainer.
    if (run.resumed())
      truncate_log_after_step(run.file("log.txt"), resume_from.empty() ? 0 : checkpoint_field(resume_from, "step", 0));
    run.attach_log();
    run.write_config(config::to_yaml(recipe.resolved));
    run.write_cmdline(options.argv, prov);
  }
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
  std::shared_ptr<compress::GradualPruner> pruner;
  std::shared_ptr<compress::TrpHook> trp;
  if (recipe.prune && recipe.prune->granularity == "low_rank") {
    trp = std::make_shared<compress::TrpHook>(*recipe.prune, compress::low_rank_targets(*recipe.prune, *setup.model),
                                              recipe.train.max_steps, recipe.train.grad_accum_steps);
    setup.hook = trp;
  } else if (recipe.prune) {
    pruner = std::make_shared<compress::GradualPruner>(*recipe.prune, compress::checked_targets(*recipe.prune, *setup.model),
                                                       recipe.train.max_steps, static_cast<uint64_t>(recipe.run.seed),
                                                       setup.model.get());
    setup.hook = pruner;
  }
  setup.objective = recipe.objective();
  if (recipe.supernet) {
    if (resume_from.empty()) sort_for_supernet(recipe, *setup.model, device);
    setup.objective = std::make_unique<nas::SupernetObjective>(std::move(setup.objective), *recipe.supernet);
  }
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

  setup.group = group.get();
  train::TrainResult r;
  try {
    r = train::run_training(setup, run);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    if (!group) throw;
    // A collective failed (Gloo's "Connection reset by peer", NCCL's watchdog): usually
    // another rank stopped or was killed. The heartbeats name it.
    throw RuntimeError(group->stopped_by(e));
  }
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
  if (pruner) summary["sparsity"] = pruner->sparsity();  // of the pruned targets
  if (trp) summary["low_rank"] = {{"mean_rank", trp->mean_rank()}, {"ranks", trp->ranks()}};  // at the last truncation
  if (recipe.train.cuda_graph) summary["cuda_graph_replays"] = r.graph_replays;
  if (r.best_step >= 0) summary["best"] = {{"step", r.best_step}, {"metric", recipe.train.best_metric}, {"value", r.best_value}};
  // A PEFT run also leaves its final adapter alone (adapter_model.safetensors + adapter_config.json).
  if (recipe.peft && !r.stopped && main_rank) peft::save_adapter(*setup.model, *recipe.peft, dir + "/adapter");
  if (!r.stopped && main_rank) run.write_summary(summary);  // a stopped run stays resumable
  log::close_files();
  return main_rank ? summary : nlohmann::json();
}

}  // namespace ptm::recipes
