// SDPA with its kernel choice logged once per (device, dtype, kernel).
#include "ptm/models/sdpa.h"

#include <ATen/SDPBackend.h>

#include <mutex>
#include <set>
#include <tuple>

#include "ptm/core/log.h"

namespace ptm::models {

std::string sdpa_backend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                         const std::optional<torch::Tensor>& mask, double dropout_p, bool is_causal, bool enable_gqa) {
  at::SDPBackend choice = at::SDPBackend::error;
  try {  // only a report: whatever the query says, the attention itself runs unchanged
    choice = static_cast<at::SDPBackend>(
        at::_fused_sdp_choice(q, k, v, mask, dropout_p, is_causal, std::nullopt, enable_gqa));
  } catch (const c10::Error&) {
    return "unknown";
  }
  switch (choice) {
    case at::SDPBackend::math: return "math";
    case at::SDPBackend::flash_attention: return "flash_attention";
    case at::SDPBackend::efficient_attention: return "efficient_attention";
    case at::SDPBackend::cudnn_attention: return "cudnn_attention";
    case at::SDPBackend::overrideable: return "overrideable";
    default: return "error";
  }
}

torch::Tensor sdpa(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                   const std::optional<torch::Tensor>& mask, double dropout_p, bool is_causal, bool enable_gqa) {
  // The kernel query and its log line only for a new kind of call (device, dtype, mask,
  // dropout, causal, grouped): a step after the first adds a set lookup, no strings.
  using Kind = std::tuple<int, int, int, bool, bool, bool, bool>;
  static std::mutex mutex;
  static std::set<Kind> seen_kinds;
  static std::set<std::string> logged;
  const Kind kind{static_cast<int>(q.device().type()), q.device().index(), static_cast<int>(q.scalar_type()),
                  mask.has_value(), dropout_p > 0, is_causal, enable_gqa};
  {
    const std::lock_guard<std::mutex> lock(mutex);
    if (seen_kinds.insert(kind).second) {
      const std::string where = q.device().str() + ", " + std::string(c10::toString(q.scalar_type()));
      const std::string kernel = sdpa_backend(q, k, v, mask, dropout_p, is_causal, enable_gqa);
      if (logged.insert(kernel + " on " + where).second) log::info("attention: SDPA uses " + kernel + " on " + where);
    }
  }
  return at::scaled_dot_product_attention(q, k, v, mask, dropout_p, is_causal, std::nullopt, enable_gqa);
}

}  // namespace ptm::models
