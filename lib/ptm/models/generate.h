// Continuing a token sequence with a causal language model: greedy decoding, or sampling with
// temperature, top-k and top-p (nucleus) filters in transformers' order (temperature, top-k,
// top-p), from a generator seeded by the caller. GPT models decode with a key/value cache and
// several prompts at once (left-padded, gpt_kv_cache.h); other models, or kv_cache = false, run
// the model on the whole sequence so far at each step, one prompt at a time.
#pragma once
#include <cstdint>
#include <vector>

#include "ptm/models/model.h"

namespace ptm::models {

struct GenerateOptions {
  int64_t max_new_tokens = 32;
  double temperature = 0.0;  // 0: greedy (argmax); > 0: sample from softmax(logits / temperature)
  int64_t top_k = 0;         // sampling: keep the k most likely tokens; 0 = all
  double top_p = 1.0;        // sampling: keep the smallest set whose probability reaches p; 1 = all
  uint64_t seed = 0;
  int64_t eos_id = -1;  // stop after generating this token; -1: never
  bool kv_cache = true;  // false: rerun the whole sequence each step (the reference path)
};

// Where the time went: the prefill (the prompts' forward up to the first new token of each
// sequence) and the decode (every later new token).
struct GenerateStats {
  int64_t prefill_tokens = 0, decode_tokens = 0;  // prompt tokens (no padding); new tokens after the first
  double prefill_seconds = 0, decode_seconds = 0;
};

// Sampling's logits [V]: divided by the temperature, then -inf outside the top k and outside
// the top-p nucleus (transformers' TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper).
torch::Tensor filter_logits(torch::Tensor logits, const GenerateOptions& o);
// The next token for logits [V] (float32, CPU): argmax, or a draw from softmax(filter_logits).
int64_t next_token(torch::Tensor logits, const GenerateOptions& o, at::Generator& gen);

// `prompt` (at least one id) followed by up to max_new_tokens generated ids. The model runs
// on `device` in eval mode; RuntimeError for an empty prompt.
std::vector<int64_t> generate(ModelImpl& model, const std::vector<int64_t>& prompt, const GenerateOptions& o,
                              const torch::Device& device);
// Every prompt continued as generate() continues it alone: with the cache, all of them in one
// left-padded batch, each stopping at eos_id on its own (the batch stops when all have, or
// after max_new_tokens); sampling draws from one generator per prompt, seeded with o.seed.
// Adds the time and token counts to `stats` when given.
std::vector<std::vector<int64_t>> generate_batch(ModelImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                                                 const GenerateOptions& o, const torch::Device& device,
                                                 GenerateStats* stats = nullptr);

}  // namespace ptm::models
