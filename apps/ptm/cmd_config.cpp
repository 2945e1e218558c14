// `ptm config --config R [overrides]`: prints the fully resolved recipe (includes merged,
// overrides applied, defaults filled in). Its output is itself a recipe that resolves the same.
#include <iostream>
#include <memory>

#include "commands.h"
#include "ptm/config/emit.h"
#include "recipe_cli.h"

namespace ptm::cli {

void add_config(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("config", "Print the fully resolved recipe");
  auto args = std::make_shared<RecipeArgs>();
  add_recipe_options(sub, *args);
  sub->callback([&action, args] {
    action = [args] {
      std::cout << config::to_yaml(recipes::load(args->source()).resolved);
      return 0;
    };
  });
}

}  // namespace ptm::cli
