// `ptm generate`: a language model from a run, a checkpoint or a Hugging Face folder
// continues prompts (text through the model's tokenizer, or token ids), greedy or sampled.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/models/generate.h"

namespace ptm::recipes {

struct GenerateRequest {
  std::string from;                  // run directory or checkpoint folder
  std::string hf;                    // or a Hugging Face folder (config.json picks the model)
  std::vector<std::string> prompts;  // text, encoded with the tokenizer that comes with the model
  std::vector<int64_t> prompt_ids;   // or one prompt as token ids
  std::string device = "auto";
  int64_t eos_id = -2;  // -2: from config.json / the tokenizer's end-of-text token; -1: none
  models::GenerateOptions options;
};

// One JSON object per prompt: ids (prompt and generated), prompt_tokens, new_tokens, text
// (the continuation decoded, when a tokenizer is there), seconds, tokens_per_s.
// ConfigError (exit 2) for a prompt longer than the model's context, ids outside the
// vocabulary, text without a tokenizer, a model that is not a causal LM.
std::vector<nlohmann::json> run_generate(const GenerateRequest& request);

}  // namespace ptm::recipes
