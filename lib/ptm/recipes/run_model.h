// `ptm export` and `ptm eval`: the model of a finished (or running) run, rebuilt from the
// run's config.yaml and loaded from one of its checkpoints.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/recipes/recipe.h"

namespace ptm::recipes {

struct RunModel {
  std::string run_dir, checkpoint;
  Recipe recipe;
  std::shared_ptr<models::ModelImpl> model;  // on the CPU, weights loaded, eval mode
};

// `from`: a run directory (its newest complete checkpoint) or a checkpoint folder.
// `overrides` (key.path=value) change the run's recipe, e.g. another evaluation split or
// objective (`ptm eval --from R objective.type=adversarial`).
// IoError/ConfigError naming the folder when it is neither or the weights do not fit.
RunModel load_run_model(const std::string& from, const std::vector<std::string>& overrides = {});

// The model a recipe builds, loaded from its `init_from:` weights (an HF folder such as a
// `ptm merge` output, or a checkpoint), for `ptm eval --config R`. run_dir and checkpoint are
// empty. ConfigError naming `init_from` when the recipe has none (a random model is no
// evaluation anyone means).
RunModel load_recipe_model(const std::string& config, const std::vector<std::string>& overrides = {});

// Writes config.json + model.safetensors that Hugging Face `from_pretrained` loads, with the
// run's tokenizer, label names and generation settings (hf_export_files.h); refuses an
// existing non-empty `out` unless overwrite.
// Weights above `max_shard_bytes` go into shards with model.safetensors.index.json.
void export_hf(const RunModel& run, const std::string& out, bool overwrite, size_t max_shard_bytes = size_t(5) << 30);

// Evaluates `model` on the recipe's `split` ("val", or "test" when the data has one; at most
// max_batches batches, all with 0): loss, perplexity for LMs, accuracy for classifiers.
nlohmann::json evaluate_recipe(const Recipe& recipe, models::ModelImpl& model, const std::string& device,
                               int64_t max_batches, const std::string& split = "val");

}  // namespace ptm::recipes
