// `ptm prune`: one-shot pruning of a trained model. Loads the recipe's model from init_from,
// evaluates it, scores its weights on calibration batches (train split of data:), prunes them
// (unstructured, N:M or structured, prune: section), evaluates again, and writes a run
// directory: config.yaml (the model: section with the pruned sizes, so `ptm eval --from`
// and init_from.checkpoint rebuild it), cmdline.txt, log.txt, checkpoints/step_00000000/
// (model.safetensors), sparsity.json and summary.json (before/after metrics and parameters).
// Every check that can refuse the recipe runs before the directory is created.
#pragma once
#include <nlohmann/json.hpp>

#include "ptm/recipes/recipe.h"
#include "ptm/recipes/run_train.h"

namespace ptm::recipes {

// Returns summary.json's content.
nlohmann::json run_prune(const Recipe& recipe, const RunOptions& options);

}  // namespace ptm::recipes
