// From a recipe file and a command line to checked, resolved settings:
//   load (with base: includes) -> key=value overrides -> sugar flags -> strict check of every
//   section -> the resolved tree with defaults filled in.
// Nothing here allocates tensors: `ptm validate` runs exactly this.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ptm/compress/prune_config.h"
#include "ptm/config/node.h"
#include "ptm/config/run_config.h"
#include "ptm/data/dataset.h"
#include "ptm/data/prepare.h"
#include "ptm/models/model.h"
#include "ptm/nas/nas_config.h"
#include "ptm/objectives/objective.h"
#include "ptm/optim/optimizer.h"
#include "ptm/recipes/init_from.h"
#include "ptm/optim/schedule.h"
#include "ptm/peft/peft_config.h"
#include "ptm/train/freeze.h"
#include "ptm/train/train_config.h"

namespace ptm::recipes {

// Flags that are shorthands for run.* keys; applied after overrides.
struct SugarFlags {
  std::optional<std::string> run_dir;    // --run-dir    -> run.dir
  std::optional<std::string> device;     // --device     -> run.device
  std::optional<int64_t> seed;           // --seed       -> run.seed
  std::optional<std::string> log_level;  // --log-level  -> run.log_level
};

struct RecipeSource {
  std::string path;                    // --config
  std::vector<std::string> overrides;  // trailing key.path=value / ~key.path
  SugarFlags sugar;
};

// The sections every recipe may hold, bound to their options.
struct Recipe {
  config::Node resolved;  // the whole recipe, defaults filled in (config.yaml)
  config::RunConfig run;
  train::TrainConfig train;
  optim::ScheduleBuilder schedule;
  optim::OptimizerConfig optimizer;
  objectives::ObjectiveBuilder objective;      // `objective:` component, when present
  std::optional<data::PrepareConfig> prepare;  // `prepare:` (ptm data prepare), when present
  data::StreamBuilder data;                    // `data:` component, when present
  models::ModelBuilder model;                  // `model:` component, when present
  InitFrom init_from;                          // `init_from:` weights, when present
  std::optional<peft::PeftConfig> peft;        // `peft:` parameter-efficient fine-tuning, when present
  train::FreezeConfig freeze;                  // `freeze:` (nothing frozen when absent)
  std::optional<compress::PruneConfig> prune;  // `prune:` (ptm prune), when present
  std::optional<nas::SupernetConfig> supernet;  // `supernet:` elastic super-network training, when present
  std::optional<nas::NasConfig> nas;            // `nas:` (ptm nas search), when present
};

// Load + overrides + sugar flags. Throws IoError/ConfigError.
config::Node resolve(const RecipeSource& source);

// Strict check of every section; all problems at once in one ConfigError.
// `default_name` is the run name when the recipe gives none (the recipe file's stem).
Recipe check(const config::Node& root, const std::string& default_name);

// resolve + check.
Recipe load(const RecipeSource& source);

struct SectionInfo {
  std::string name;
  std::string help;
};
// The top-level sections a recipe may contain (`ptm list sections`).
std::vector<SectionInfo> sections();

}  // namespace ptm::recipes
