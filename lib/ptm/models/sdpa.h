// Every attention of the zoo goes through at::scaled_dot_product_attention here, so that the
// kernel it picks (flash, memory-efficient, cuDNN, math) is logged once per device, dtype and
// kernel, at info level ("attention: SDPA uses flash_attention on cpu, Float"), in the console
// and the run's log.txt; the choice is queried once per kind of call, not every step. A run
// that falls back to the math kernel shows it.
#pragma once
#include <torch/torch.h>

#include <optional>
#include <string>

namespace ptm::models {

// at::scaled_dot_product_attention(q, k, v, mask, dropout_p, is_causal, scale = default,
// enable_gqa), noting its kernel as above.
torch::Tensor sdpa(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                   const std::optional<torch::Tensor>& mask, double dropout_p, bool is_causal, bool enable_gqa = false);

// The kernel SDPA picks for these arguments: "math", "flash_attention", "efficient_attention",
// "cudnn_attention", "overrideable", "error" (no kernel takes them), or "unknown" (the query
// itself failed).
std::string sdpa_backend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                         const std::optional<torch::Tensor>& mask, double dropout_p, bool is_causal, bool enable_gqa);

}  // namespace ptm::models
