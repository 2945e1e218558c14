// The layers of a GPT block, named as Hugging Face's GPT-2 (ln_1, attn.c_attn, attn.c_proj,
// ln_2, mlp.c_fc, mlp.c_proj): LayerNorm or RMSNorm, causal self-attention with a fused QKV
// projection (grouped-query when n_kv_head < n_head, rotary positions optional), and a
// tanh-GELU or SwiGLU MLP. Linear weights are torch's [out, in]; gpt_hf.cpp transposes them
// to and from GPT-2's Conv1D [in, out].
#pragma once
#include <torch/torch.h>

#include <string>

#include "ptm/models/linear.h"

namespace ptm::models {

struct GptBlockOptions {
  int64_t n_embd = 768;
  int64_t n_head = 12;
  int64_t n_kv_head = 12;
  int64_t head_dim = 64;
  int64_t inner = 3072;  // MLP width (per branch for SwiGLU)
  bool rmsnorm = false;
  bool swiglu = false;
  bool bias = true;
  double eps = 1e-5;
  double attn_pdrop = 0.0, resid_pdrop = 0.0;
};

// cos/sin tables of rotary positions (LLaMA's rotate-half layout), each [T, D].
struct RotaryTables {
  torch::Tensor cos, sin;
};
// Llama 3's frequency scaling (transformers' rope_type "llama3"): wavelengths above
// original_max_positions / low_freq_factor are divided by `factor`, those below
// original_max_positions / high_freq_factor kept, the band between interpolated.
struct RopeScaling {
  std::string type = "none";  // none | llama3
  double factor = 8.0, low_freq_factor = 1.0, high_freq_factor = 4.0;
  int64_t original_max_positions = 8192;
};
RotaryTables rotary_tables(int64_t seq_len, int64_t head_dim, double theta, const torch::TensorOptions& opts,
                           const RopeScaling& scaling = {});
// x [B, H, T, D] rotated by position.
torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& t);

// LayerNorm (weight, optional bias) or RMSNorm (weight only); parameter names as torch's.
class GptNormImpl : public torch::nn::Module {
 public:
  GptNormImpl(int64_t dim, bool rms, bool bias, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // [..., C] -> [..., C]
  torch::Tensor weight, bias;                     // bias undefined for RMSNorm and bias-free LayerNorm

 private:
  int64_t dim_;
  bool rms_;
  double eps_;
};
TORCH_MODULE(GptNorm);

class GptAttentionImpl : public torch::nn::Module {
 public:
  explicit GptAttentionImpl(const GptBlockOptions& o);
  // x [B, T, C] -> [B, T, C]. `rope` null with learned positions. With `probs` non-null the
  // explicit softmax path runs and stores the attention probabilities [B, H, T, T] there;
  // otherwise at::scaled_dot_product_attention (causal, GQA through enable_gqa). `keep`
  // [B, 1, T, T] bool (true = may attend) replaces the causal mask when defined (prefix LM).
  torch::Tensor forward(const torch::Tensor& x, const RotaryTables* rope, torch::Tensor* probs,
                        const torch::Tensor& keep = {});

  Linear c_attn{nullptr};  // [(H + 2 KV) D, C]: q, k, v stacked
  Linear c_proj{nullptr};  // [C, H D]
  torch::nn::Dropout attn_dropout{nullptr}, resid_dropout{nullptr};
  // Elastic sub-network (ptm nas): the first `active_heads` heads only, computed on slices of
  // the weights (no copies, gradients reach the shared tensors); 0 = every head. Needs
  // n_kv_head = n_head; PEFT hooks of c_attn/c_proj do not run on the sliced path.
  int64_t active_heads = 0;

 private:
  int64_t n_head_, n_kv_head_, head_dim_;
  double attn_pdrop_;
};
TORCH_MODULE(GptAttention);

class GptMlpImpl : public torch::nn::Module {
 public:
  explicit GptMlpImpl(const GptBlockOptions& o);
  torch::Tensor forward(const torch::Tensor& x);  // [B, T, C] -> [B, T, C]

  Linear c_fc{nullptr};    // gelu: [I, C]; swiglu: [2 I, C], gate rows then up rows
  Linear c_proj{nullptr};  // [C, I]
  torch::nn::Dropout dropout{nullptr};
  // Elastic sub-network: the first `active_inner` neurons (of each SwiGLU half); 0 = all.
  int64_t active_inner = 0;

 private:
  bool swiglu_;
  int64_t inner_;
};
TORCH_MODULE(GptMlp);

// Pre-norm residual block: x + attn(ln_1(x)), then + mlp(ln_2(.)).
class GptBlockImpl : public torch::nn::Module {
 public:
  explicit GptBlockImpl(const GptBlockOptions& o);
  torch::Tensor forward(const torch::Tensor& x, const RotaryTables* rope, torch::Tensor* probs,
                        const torch::Tensor& keep = {});  // [B, T, C]

  GptNorm ln_1{nullptr}, ln_2{nullptr};
  GptAttention attn{nullptr};
  GptMlp mlp{nullptr};
};
TORCH_MODULE(GptBlock);

}  // namespace ptm::models
