// `ptm pretrain`: a causal language model trained on prepared token shards. Assembles the
// recipe's parts (model, data, objective, optimizer, schedule) and runs the one Trainer
// inside a run directory (config.yaml, cmdline.txt, log.txt, metrics.jsonl, checkpoints/,
// summary.json).
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
};

// Returns summary.json's content. Exit code handling stays in the app.
nlohmann::json run_pretrain(const Recipe& recipe, const RunOptions& options);

}  // namespace ptm::recipes
