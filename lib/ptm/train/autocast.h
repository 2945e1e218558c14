// Mixed precision for a scope: bf16 (or fp16) autocast on CUDA, nothing on the CPU (fp32).
// Restores the previous autocast state on exit, as Python's context manager does.
#pragma once
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <string>

namespace ptm::train {

class AutocastGuard {
 public:
  // precision: auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16
  AutocastGuard(const torch::Device& device, const std::string& precision) {
    if (!device.is_cuda() || precision == "fp32") return;
    active_ = true;
    prev_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
    prev_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_dtype(at::kCUDA, precision == "fp16" ? at::kHalf : at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(at::kCUDA, prev_enabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, prev_dtype_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false, prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

}  // namespace ptm::train
