// One recipe-driven training run, shared by `ptm pretrain`, `ptm finetune` and `ptm distill`:
// assembles the recipe's parts (model, init_from weights, freezing, data, objective,
// optimizer, schedule) and runs the one Trainer inside a run directory (config.yaml,
// cmdline.txt, log.txt, metrics.jsonl, checkpoints/, predictions.jsonl, summary.json).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/recipes/recipe.h"

namespace ptm::recipes {

struct RunOptions {
  std::vector<std::string> argv;  // for cmdline.txt
  bool overwrite = false;         // --overwrite
  std::string resume = "auto";    // --resume auto|never|<checkpoint folder>
  bool allow_recipe_change = false;  // --allow-recipe-change: resume despite changes that break exactness
};

// What a subcommand adds to the shared run: its name (for messages) and the objective used
// when the recipe has no `objective:` section (written into config.yaml, so `ptm eval`
// and `ptm export` rebuild the same run).
struct TaskSpec {
  std::string command = "pretrain";
  std::string default_objective = "causal_lm";
};

// Returns summary.json's content (null on the ranks other than 0 of a data-parallel run).
// Exit code handling stays in the app.
nlohmann::json run_train(const Recipe& recipe, const RunOptions& options, const TaskSpec& task);

// The recipe with `objective: {type: <default>}` filled in when it has none.
Recipe with_default_objective(const Recipe& recipe, const std::string& type);

}  // namespace ptm::recipes
