// `ptm generate`: a language model from a run, a checkpoint or a Hugging Face folder
// continues prompts (text through the model's tokenizer, or token ids), greedy or sampled.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/core/errors.h"
#include "ptm/models/generate.h"

namespace ptm::recipes {

struct GenerateRequest {
  std::string from;                  // run directory or checkpoint folder
  std::string hf;                    // or a Hugging Face folder (config.json picks the model)
  std::vector<std::string> prompts;  // text, encoded with the tokenizer that comes with the model
  std::vector<Origin> prompt_origins;  // where each prompt came from (FILE:line); empty: the command line
  std::vector<std::vector<int64_t>> prompt_ids;  // or prompts as token ids (origins as above)
  std::string device = "auto";
  int threads = 0;  // CPU threads; 0: LibTorch's default
  int64_t eos_id = -2;  // -2: from config.json / the tokenizer's end-of-text token; -1: none
  int64_t batch_size = 8;  // prompts decoded together (left-padded, with the key/value cache)
  models::GenerateOptions options;
};

// One JSON object per prompt, in order: ids (prompt and generated), prompt_tokens, new_tokens,
// text (the continuation decoded, when a tokenizer is there), and the speed of the batch the
// prompt ran in: seconds, tokens_per_s (new tokens / seconds), prefill_tokens_per_s (prompt
// tokens / time to the first new tokens), decode_tokens_per_s (the later new tokens / their
// time). Logs a summary over all prompts. ConfigError (exit 2) for a prompt longer than the
// model's context (naming the prompt's file and line), ids outside the vocabulary, text without
// a tokenizer, a model that is not a causal LM.
std::vector<nlohmann::json> run_generate(const GenerateRequest& request);

// One prompt's token ids from "1,2,3" (commas and/or spaces). ConfigError naming `where` and
// `key` for anything that is not a list of integers.
std::vector<int64_t> parse_prompt_ids(const std::string& text, const Origin& where, const std::string& key);

}  // namespace ptm::recipes
