// Recipe -> parts -> Trainer, with the run-directory contract around it.
#include "ptm/recipes/run_pretrain.h"

#include <filesystem>

#include "ptm/config/emit.h"
#include "ptm/core/environment.h"
#include "ptm/core/errors.h"
#include "ptm/core/log.h"
#include "ptm/core/run_dir.h"
#include "ptm/train/checkpoint.h"
#include "ptm/train/trainer.h"

namespace ptm::recipes {

nlohmann::json run_pretrain(const Recipe& recipe, const RunOptions& options) {
  std::vector<Diagnostic> missing;
  for (const auto& [present, key] : {std::pair<bool, const char*>{bool(recipe.model), "model"},
                                     {bool(recipe.data), "data"}})
    if (!present) missing.push_back({Origin{}, key, std::string("missing: ptm pretrain needs a ") + key + ": section"});
  if (!missing.empty()) throw ConfigError(missing);

  const std::string device = resolve_device(recipe.run.device);
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
    if (const auto latest = train::latest_checkpoint(dir)) resume_from = *latest;
  }
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
  setup.model->to(torch::Device(device));
  setup.objective = recipe.objective ? recipe.objective() : objectives::make("causal_lm");
  setup.data = recipe.data;
  setup.schedule = recipe.schedule;
  setup.device = device;
  setup.resume_from = resume_from;
  for (const auto& [k, v] : prov) setup.provenance[k] = v;
  log::info("model " + setup.model->arch() + ": " + std::to_string(models::count_parameters(*setup.model)) +
            " parameters on " + device);

  const auto r = train::run_training(setup, run);
  nlohmann::json summary = {{"steps", r.step},
                            {"tokens", r.tokens},
                            {"train_loss", r.train_loss},
                            {"eval", r.eval},
                            {"seconds", r.seconds},
                            {"tokens_per_s", r.targets_per_s},
                            {"parameters", models::count_parameters(*setup.model)},
                            {"stopped_by_signal", r.stopped}};
  if (!r.stopped) run.write_summary(summary);  // a stopped run stays resumable
  log::close_files();
  return summary;
}

}  // namespace ptm::recipes
