// GPT decoding with a key/value cache (gpt_kv_cache.h).
#include "ptm/models/gpt_kv_cache.h"

#include <optional>

#include "ptm/core/errors.h"
#include "ptm/models/sdpa.h"

namespace ptm::models {
namespace {

// Attention of the new tokens x [B, T, C] of one layer against its cache, writing their keys
// and values into slots [L, L + T). The same projections, rotary and SDPA call as
// GptAttentionImpl::forward (eval mode: no dropout).
torch::Tensor cached_attention(GptAttentionImpl& attn, const GptBlockOptions& o, torch::Tensor& k_cache,
                               torch::Tensor& v_cache, int64_t L, const torch::Tensor& x, const RotaryTables* rope,
                               const std::optional<torch::Tensor>& keep) {
  const int64_t B = x.size(0), T = x.size(1), H = o.n_head, KV = o.n_kv_head, D = o.head_dim;
  const auto qkv = attn.c_attn(x).split_with_sizes({H * D, KV * D, KV * D}, -1);
  auto q = qkv[0].view({B, T, H, D}).transpose(1, 2);   // [B, H, T, D]
  auto k = qkv[1].view({B, T, KV, D}).transpose(1, 2);  // [B, KV, T, D]
  const auto v = qkv[2].view({B, T, KV, D}).transpose(1, 2);
  if (rope) {
    q = apply_rotary(q, *rope);
    k = apply_rotary(k, *rope);
  }
  k_cache.narrow(2, L, T).copy_(k);
  v_cache.narrow(2, L, T).copy_(v);
  const auto keys = k_cache.narrow(2, 0, L + T), values = v_cache.narrow(2, 0, L + T);  // [B, KV, L + T, D]
  // Without a mask: one query sees every cached key, and a first chunk without padding is causal.
  const bool causal = !keep && T > 1;
  const auto y = sdpa(q, keys, values, keep, 0.0, causal, /*enable_gqa=*/KV != H);  // [B, H, T, D]
  return attn.c_proj(y.transpose(1, 2).reshape({B, T, H * D}));
}

}  // namespace

GptKvCache gpt_kv_cache(const GptImpl& model, int64_t batch, int64_t capacity, const torch::Device& device) {
  if (!model.subnet().empty()) throw RuntimeError("gpt: the key/value cache does not run elastic sub-networks");
  const auto& o = model.options();
  const auto opts = model.transformer->wte->weight.options().device(device);
  GptKvCache c;
  for (int64_t l = 0; l < o.n_layer; ++l) {
    const auto b = o.block(l);
    c.k.push_back(torch::zeros({batch, b.n_kv_head, capacity, b.head_dim}, opts));
    c.v.push_back(torch::zeros({batch, b.n_kv_head, capacity, b.head_dim}, opts));
  }
  c.real = torch::zeros({batch, capacity}, opts.dtype(torch::kBool));
  if (o.position == "rotary") c.rope = rotary_tables(capacity, o.head_dim(), o.rope_theta, opts, o.rope_scaling);
  return c;
}

torch::Tensor gpt_forward_cached(GptImpl& model, GptKvCache& cache, const torch::Tensor& input_ids,
                                 const torch::Tensor& positions, const torch::Tensor& real) {
  const auto& o = model.options();
  const int64_t T = input_ids.size(1), L = cache.length, S = L + T;
  if (S > cache.capacity())
    throw RuntimeError("gpt: " + std::to_string(S) + " positions exceed the key/value cache of " +
                       std::to_string(cache.capacity()));
  cache.real.narrow(1, L, T).copy_(real);

  // Who may attend to whom, [B, 1, T, S]: earlier real slots (within the sliding window), and
  // each slot itself so that a padding query's softmax has a term (its output is never used).
  std::optional<torch::Tensor> keep;
  const bool padded = !cache.real.narrow(1, 0, S).all().item<bool>();
  const bool window_cuts = o.sliding_window > 0 && S > o.sliding_window;
  if (padded || window_cuts || (T > 1 && L > 0)) {
    const auto idx = input_ids.options().dtype(torch::kLong);
    const auto j = torch::arange(S, idx).view({1, S}), s = torch::arange(L, S, idx).view({T, 1});
    auto allowed = j <= s;  // [T, S]
    if (window_cuts) allowed = allowed & (j > s - o.sliding_window);
    keep = ((allowed.unsqueeze(0) & cache.real.narrow(1, 0, S).unsqueeze(1)) | (j == s).unsqueeze(0)).unsqueeze(1);
  }

  auto x = model.transformer->wte(input_ids);  // [B, T, C]
  RotaryTables rope;
  const RotaryTables* rope_ptr = nullptr;
  if (model.transformer->wpe) {
    x = x + model.transformer->wpe(positions);  // + [B, T, C]
  } else {
    // [B, 1, T, D]: broadcast over heads like the [T, D] tables of the full forward.
    rope = {cache.rope.cos.index({positions}).unsqueeze(1), cache.rope.sin.index({positions}).unsqueeze(1)};
    rope_ptr = &rope;
  }
  for (size_t l = 0; l < model.transformer->blocks.size(); ++l) {
    auto& block = *model.transformer->blocks[l];
    const auto h = x + cached_attention(*block.attn, o.block(static_cast<int64_t>(l)), cache.k[l], cache.v[l], L,
                                        block.ln_1(x), rope_ptr, keep);
    x = h + block.mlp(block.ln_2(h));
  }
  cache.length = S;
  return model.head_logits(model.transformer->ln_f(x.narrow(1, T - 1, 1))).squeeze(1);  // [B, V]
}

}  // namespace ptm::models
