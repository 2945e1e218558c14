// When a Hugging Face folder's config.json contradicts its weights: the config.json keys behind
// each mis-shaped tensor, so the message names the file and the key, not only a tensor.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ptm::models {

// One line per `mismatched` entry of a LoadReport ("name: checkpoint [a, b] vs model [c, d]",
// the model built from `config`): the top-level keys of `config` whose value is the model's
// size where the weights have another, e.g.
//   "d/config.json: vocab_size is 320, but the weights' transformer.wte.weight is [300, 32] (config.json makes it [320, 32])"
// Entries with no such key are left out; "" when none has one.
std::string hf_config_contradictions(const nlohmann::json& config, const std::string& config_path,
                                     const std::vector<std::string>& mismatched);

}  // namespace ptm::models
