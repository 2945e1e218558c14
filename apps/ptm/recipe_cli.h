// Options shared by every recipe-driven subcommand:
//   --config R  [key.path=value ...] [~key.path ...]  --run-dir D  --device auto|cpu|cuda|cuda:N
//   --seed N  --log-level L  --overwrite
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "ptm/recipes/recipe.h"

namespace ptm::cli {

struct RecipeArgs {
  std::string config;
  std::vector<std::string> overrides;
  std::string run_dir, device, log_level;
  int64_t seed = 0;
  bool overwrite = false;
  CLI::Option* run_dir_opt = nullptr;
  CLI::Option* device_opt = nullptr;
  CLI::Option* seed_opt = nullptr;
  CLI::Option* log_level_opt = nullptr;

  // The recipe source with sugar flags that were given on the command line.
  recipes::RecipeSource source() const;
};

void add_recipe_options(CLI::App* sub, RecipeArgs& args);

}  // namespace ptm::cli
