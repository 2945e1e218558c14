// Continuing a token sequence with a causal language model: greedy decoding, or sampling with
// temperature, top-k and top-p (nucleus) filters in transformers' order (temperature, top-k,
// top-p), from a generator seeded by the caller. No KV cache: each step runs the model on the
// whole sequence so far (quadratic in the length; fine for the small models ptm trains).
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

}  // namespace ptm::models
