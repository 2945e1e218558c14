// `ptm validate --config R [overrides]`: the strict check a run does before allocating
// anything, without running. Exit 0 when the recipe is valid, 2 with every problem listed.
#include <iostream>
#include <memory>

#include "commands.h"
#include "recipe_cli.h"

namespace ptm::cli {

void add_validate(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("validate", "Check a recipe (types, ranges, unknown keys) without running it");
  auto args = std::make_shared<RecipeArgs>();
  add_recipe_options(sub, *args);
  sub->callback([&action, args] {
    action = [args] {
      const auto recipe = recipes::load(args->source());
      std::cout << "ok: " << args->config << " is valid (run directory: " << recipe.run.run_dir() << ")\n";
      return 0;
    };
  });
}

}  // namespace ptm::cli
