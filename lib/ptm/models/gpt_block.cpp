// GPT block layers: norms, causal self-attention (SDPA or explicit softmax), MLP, rotary tables.
#include "ptm/models/gpt_block.h"

#include <cmath>
#include <limits>

#include "ptm/models/linear_slice.h"
#include "ptm/models/sdpa.h"
#include "ptm/models/tanh_gelu.h"

namespace ptm::models {

RotaryTables rotary_tables(int64_t seq_len, int64_t head_dim, double theta, const torch::TensorOptions& opts,
                           const RopeScaling& scaling) {
  const auto f32 = opts.dtype(torch::kFloat32);
  auto inv_freq = torch::pow(theta, -torch::arange(0, head_dim, 2, f32) / static_cast<double>(head_dim));  // [D/2]
  if (scaling.type == "llama3") {  // as transformers' _compute_llama3_parameters, in float32
    const double old_len = static_cast<double>(scaling.original_max_positions);
    const double low_wavelen = old_len / scaling.low_freq_factor, high_wavelen = old_len / scaling.high_freq_factor;
    const auto wavelen = 2 * M_PI / inv_freq;
    const auto scaled = torch::where(wavelen > low_wavelen, inv_freq / scaling.factor, inv_freq);
    const auto smooth =
        (old_len / wavelen - scaling.low_freq_factor) / (scaling.high_freq_factor - scaling.low_freq_factor);
    const auto smoothed = (1 - smooth) * scaled / scaling.factor + smooth * scaled;
    const auto medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen);
    inv_freq = torch::where(medium, smoothed, scaled);
  }
  const auto angles = torch::outer(torch::arange(seq_len, f32), inv_freq);                     // [T, D/2]
  const auto emb = torch::cat({angles, angles}, -1);                                           // [T, D]
  return {emb.cos().to(opts.dtype()), emb.sin().to(opts.dtype())};
}

torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& t) {
  const int64_t half = x.size(-1) / 2;
  const auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  const auto rotated = torch::cat({-x2, x1}, -1);                              // [B, H, T, D]
  return x * t.cos.to(x.scalar_type()) + rotated * t.sin.to(x.scalar_type());  // no-ops unless autocast
}

GptNormImpl::GptNormImpl(int64_t dim, bool rms, bool bias, double eps) : dim_(dim), rms_(rms), eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
  if (!rms && bias) this->bias = register_parameter("bias", torch::zeros({dim}));
}

torch::Tensor GptNormImpl::forward(const torch::Tensor& x) {
  if (rms_) return at::rms_norm(x, {dim_}, weight, eps_);
  return at::layer_norm(x, {dim_}, weight, bias, eps_);
}

GptAttentionImpl::GptAttentionImpl(const GptBlockOptions& o)
    : n_head_(o.n_head), n_kv_head_(o.n_kv_head), head_dim_(o.head_dim), attn_pdrop_(o.attn_pdrop) {
  const int64_t qkv = (n_head_ + 2 * n_kv_head_) * head_dim_;
  c_attn = register_module("c_attn", Linear(torch::nn::LinearOptions(o.n_embd, qkv).bias(o.bias)));
  c_proj = register_module("c_proj", Linear(torch::nn::LinearOptions(n_head_ * head_dim_, o.n_embd).bias(o.bias)));
  attn_dropout = register_module("attn_dropout", torch::nn::Dropout(o.attn_pdrop));
  resid_dropout = register_module("resid_dropout", torch::nn::Dropout(o.resid_pdrop));
}

torch::Tensor GptAttentionImpl::forward(const torch::Tensor& x, const RotaryTables* rope, torch::Tensor* probs,
                                       const torch::Tensor& keep) {
  const int64_t B = x.size(0), T = x.size(1), D = head_dim_;
  const bool sliced = active_heads > 0 && active_heads < n_head_;
  const int64_t H = sliced ? active_heads : n_head_, KV = sliced ? active_heads : n_kv_head_;
  torch::Tensor q, k, v;
  if (sliced) {  // n_kv_head_ == n_head_ (checked when the sub-network is set)
    q = linear_rows(x, c_attn, 0, H * D);                                       // [B, T, H D]
    k = linear_rows(x, c_attn, n_head_ * D, H * D);
    v = linear_rows(x, c_attn, 2 * n_head_ * D, H * D);
  } else {
    const auto qkv = c_attn(x).split_with_sizes({H * D, KV * D, KV * D}, -1);  // [B, T, H D], [B, T, KV D] x2
    q = qkv[0], k = qkv[1], v = qkv[2];
  }
  q = q.view({B, T, H, D}).transpose(1, 2);   // [B, H, T, D]
  k = k.view({B, T, KV, D}).transpose(1, 2);  // [B, KV, T, D]
  v = v.view({B, T, KV, D}).transpose(1, 2);  // [B, KV, T, D]
  if (rope) {
    q = apply_rotary(q, *rope);
    k = apply_rotary(k, *rope);
  }
  torch::Tensor y;  // [B, H, T, D]
  if (!probs) {
    const double p = is_training() ? attn_pdrop_ : 0.0;
    y = keep.defined() ? sdpa(q, k, v, keep, p, false, KV != H)
                       : sdpa(q, k, v, std::nullopt, p, /*is_causal=*/true, /*enable_gqa=*/KV != H);
  } else {
    if (KV != H) {
      k = k.repeat_interleave(H / KV, 1);  // [B, H, T, D]
      v = v.repeat_interleave(H / KV, 1);
    }
    auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(D));  // [B, H, T, T]
    const auto future = torch::ones({T, T}, x.options().dtype(torch::kBool)).triu(1);         // [T, T]
    scores = scores.masked_fill(keep.defined() ? keep.logical_not() : future, -std::numeric_limits<float>::infinity());
    *probs = torch::softmax(scores, -1);  // [B, H, T, T]
    y = torch::matmul(attn_dropout(*probs), v);
  }
  y = y.transpose(1, 2).reshape({B, T, H * D});  // [B, T, H D]
  return resid_dropout(sliced ? linear_cols(y, c_proj, H * D) : c_proj(y));
}

GptMlpImpl::GptMlpImpl(const GptBlockOptions& o) : swiglu_(o.swiglu), inner_(o.inner) {
  const int64_t fc_out = o.swiglu ? 2 * o.inner : o.inner;
  c_fc = register_module("c_fc", Linear(torch::nn::LinearOptions(o.n_embd, fc_out).bias(o.bias)));
  c_proj = register_module("c_proj", Linear(torch::nn::LinearOptions(o.inner, o.n_embd).bias(o.bias)));
  dropout = register_module("dropout", torch::nn::Dropout(o.resid_pdrop));
}

torch::Tensor GptMlpImpl::forward(const torch::Tensor& x) {
  const bool sliced = active_inner > 0 && active_inner < inner_;
  const int64_t I = sliced ? active_inner : inner_;
  torch::Tensor h;  // [B, T, I]
  if (swiglu_) {
    if (sliced) {
      h = torch::silu(linear_rows(x, c_fc, 0, I)) * linear_rows(x, c_fc, inner_, I);
    } else {
      const auto gate_up = c_fc(x).chunk(2, -1);
      h = torch::silu(gate_up[0]) * gate_up[1];
    }
  } else {
    h = tanh_gelu(sliced ? linear_rows(x, c_fc, 0, I) : c_fc(x));
  }
  return dropout(sliced ? linear_cols(h, c_proj, I) : c_proj(h));  // [B, T, C]
}

GptBlockImpl::GptBlockImpl(const GptBlockOptions& o) {
  ln_1 = register_module("ln_1", GptNorm(o.n_embd, o.rmsnorm, o.bias, o.eps));
  attn = register_module("attn", GptAttention(o));
  ln_2 = register_module("ln_2", GptNorm(o.n_embd, o.rmsnorm, o.bias, o.eps));
  mlp = register_module("mlp", GptMlp(o));
}

torch::Tensor GptBlockImpl::forward(const torch::Tensor& x, const RotaryTables* rope, torch::Tensor* probs,
                                   const torch::Tensor& keep) {
  const auto h = x + attn(ln_1(x), rope, probs, keep);  // [B, T, C]
  return h + mlp(ln_2(h));
}

}  // namespace ptm::models
