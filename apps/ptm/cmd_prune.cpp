// `ptm prune --config recipes/prune/<name>.yaml`: one-shot pruning of a trained model
// (lib/ptm/recipes/run_prune.h); prints summary.json.
#include <iostream>
#include <memory>

#include "commands.h"
#include "ptm/recipes/run_prune.h"
#include "recipe_cli.h"

namespace ptm::cli {

void add_prune(CLI::App& app, Action& action, const std::vector<std::string>& argv) {
  auto* sub =
      app.add_subcommand("prune",
                         "Prune a trained model (recipes/prune/*.yaml): unstructured, N:M or structured "
                         "(heads, FFN neurons) by magnitude, random, wanda or taylor; evaluates before and after");
  auto args = std::make_shared<RecipeArgs>();
  add_recipe_options(sub, *args);
  sub->callback([&action, args, argv] {
    action = [args, argv] {
      recipes::RunOptions o;
      o.argv = argv;
      o.overwrite = args->overwrite;
      const auto summary = recipes::run_prune(recipes::load(args->source()), o);
      std::cout << summary.dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace ptm::cli
