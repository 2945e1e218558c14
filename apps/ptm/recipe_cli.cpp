// Common recipe options.
#include "recipe_cli.h"

#include "ptm/config/overrides.h"
#include "ptm/core/errors.h"

namespace ptm::cli {

recipes::RecipeSource RecipeArgs::source() const {
  recipes::RecipeSource s;
  s.path = config;
  for (const auto& o : overrides) {
    if (!config::is_override(o))
      throw ConfigError(Origin{"command line"}, "",
                        "unexpected argument '" + o + "' (overrides look like key.path=value or ~key.path)");
  }
  s.overrides = overrides;
  if (run_dir_opt->count()) s.sugar.run_dir = run_dir;
  if (device_opt->count()) s.sugar.device = device;
  if (seed_opt->count()) s.sugar.seed = seed;
  if (log_level_opt->count()) s.sugar.log_level = log_level;
  return s;
}

void add_recipe_options(CLI::App* sub, RecipeArgs& a) {
  sub->add_option("--config,-c", a.config, "recipe YAML file")->required();
  sub->add_option("overrides", a.overrides, "key.path=value to set, ~key.path to delete (applied in order)");
  a.run_dir_opt = sub->add_option("--run-dir", a.run_dir, "run directory (sets run.dir)");
  a.device_opt = sub->add_option("--device", a.device, "auto, cpu, cuda or cuda:N (sets run.device)");
  a.seed_opt = sub->add_option("--seed", a.seed, "random seed (sets run.seed)");
  a.log_level_opt = sub->add_option("--log-level", a.log_level, "trace|debug|info|warn|error|off (sets run.log_level)");
  sub->add_flag("--overwrite", a.overwrite, "replace an existing run directory");
}

}  // namespace ptm::cli
