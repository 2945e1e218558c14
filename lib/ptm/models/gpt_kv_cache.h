// Incremental decoding of the GPT model (GPT-2 and the Llama/Mistral options) with a key/value
// cache, for generation only: the prompt runs once (prefill), then each step runs one new token
// per sequence against the cached keys and values of every earlier position. Sequences of a
// batch are left-padded as transformers pads them for generate(): pad slots are never attended
// to, and each sequence's position ids count its real tokens only (learned positions and rotary
// angles alike), so a padded sequence computes what it computes alone. The training forward
// (GptImpl::forward) does not go through here and is unchanged.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "ptm/models/gpt.h"

namespace ptm::models {

struct GptKvCache {
  std::vector<torch::Tensor> k, v;  // per layer [B, KV heads, capacity, head_dim]
  torch::Tensor real;               // [B, capacity] bool: the slot holds a real token, not padding
  RotaryTables rope;                // rotary models: cos/sin of positions 0 .. capacity-1, [capacity, D]
  int64_t length = 0;               // slots filled so far
  int64_t capacity() const { return real.size(1); }
};

// An empty cache for `batch` sequences of up to `capacity` slots (prompt, padding and new
// tokens), in the model's dtype on `device`. RuntimeError for a model with an elastic
// sub-network set (its sliced layers are not cached).
GptKvCache gpt_kv_cache(const GptImpl& model, int64_t batch, int64_t capacity, const torch::Device& device);

// Runs input_ids [B, T] in the slots [length, length + T) of the cache and returns the logits
// of the last one [B, V]. positions [B, T] are the tokens' position ids, real [B, T] (bool)
// marks the tokens that are not padding. RuntimeError when the T tokens do not fit the cache.
torch::Tensor gpt_forward_cached(GptImpl& model, GptKvCache& cache, const torch::Tensor& input_ids,
                                 const torch::Tensor& positions, const torch::Tensor& real);

}  // namespace ptm::models
