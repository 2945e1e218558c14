// The training subcommands: `ptm pretrain`, `ptm finetune` and `ptm distill` share one run
// (lib/ptm/recipes/run_train.h); they differ in their help and default objective.
#include <iostream>
#include <memory>

#include "commands.h"
#include "ptm/recipes/run_train.h"
#include "recipe_cli.h"

namespace ptm::cli {
namespace {

void add_train_command(CLI::App& app, Action& action, const std::vector<std::string>& argv, const std::string& help,
                       const recipes::TaskSpec& task) {
  auto* sub = app.add_subcommand(task.command, help);
  auto args = std::make_shared<RecipeArgs>();
  auto resume = std::make_shared<std::string>("auto");
  add_recipe_options(sub, *args);
  auto allow_change = std::make_shared<bool>(false);
  sub->add_option("--resume", *resume, "auto (continue an unfinished run), never, or a checkpoint folder");
  sub->add_flag("--allow-recipe-change", *allow_change,
                "resume even though the recipe changed in keys that alter the run (recorded in recipe_changes.jsonl)");
  sub->callback([&action, args, resume, allow_change, argv, task] {
    action = [args, resume, allow_change, argv, task] {
      recipes::RunOptions o;
      o.argv = argv;
      o.overwrite = args->overwrite;
      o.resume = *resume;
      o.allow_recipe_change = *allow_change;
      const auto summary = recipes::run_train(recipes::load(args->source()), o, task);
      if (!summary.is_null()) std::cout << summary.dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace

void add_train_commands(CLI::App& app, Action& action, const std::vector<std::string>& argv) {
  add_train_command(app, action, argv,
                    "Pretrain a model (recipes/pretrain/*.yaml); objective causal_lm unless the recipe names one "
                    "(denoising: MLM/spans/prefix LM/UL2, electra, position_prediction; configs/objectives/)",
                    {"pretrain", "causal_lm"});
  add_train_command(app, action, argv,
                    "Fine-tune a model on a labelled task (recipes/finetune/*.yaml), usually from init_from "
                    "weights; objective classification unless the recipe names one",
                    {"finetune", "classification"});
  add_train_command(app, action, argv,
                    "Distill a frozen teacher (objective.teacher: a run, checkpoint or HF folder) into the recipe's "
                    "model (recipes/distill/*.yaml); objective distill unless the recipe names one",
                    {"distill", "distill"});
}

}  // namespace ptm::cli
