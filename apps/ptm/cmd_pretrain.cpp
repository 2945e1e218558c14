// `ptm pretrain --config R`: train a causal language model from a recipe.
#include <iostream>
#include <memory>

#include "commands.h"
#include "ptm/recipes/run_pretrain.h"
#include "recipe_cli.h"

namespace ptm::cli {

void add_pretrain(CLI::App& app, Action& action, const std::vector<std::string>& argv) {
  auto* sub = app.add_subcommand("pretrain", "Pretrain a causal language model (recipes/pretrain/*.yaml)");
  auto args = std::make_shared<RecipeArgs>();
  auto resume = std::make_shared<std::string>("auto");
  add_recipe_options(sub, *args);
  sub->add_option("--resume", *resume, "auto (continue an unfinished run), never, or a checkpoint folder");
  sub->callback([&action, args, resume, argv] {
    action = [args, resume, argv] {
      recipes::RunOptions o;
      o.argv = argv;
      o.overwrite = args->overwrite;
      o.resume = *resume;
      const auto summary = recipes::run_pretrain(recipes::load(args->source()), o);
      std::cout << summary.dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace ptm::cli
