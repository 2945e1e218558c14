// Mixed precision for a scope: bf16 (or fp16) autocast on CUDA; on the CPU bf16 autocast when
// asked for explicitly ("auto" stays fp32 there: bf16 matmuls are slower than fp32 on CPUs
// without AMX), as torch.autocast("cpu") does.
// Restores the previous autocast state on exit, as Python's context manager does.
#pragma once
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <optional>
#include <string>

#include "ptm/core/autocast_scope.h"

namespace ptm::train {

class AutocastGuard {
 public:
  // precision: auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16
  AutocastGuard(const torch::Device& device, const std::string& precision) {
    if (device.is_cuda() && precision != "fp32")
      scope_.emplace(at::kCUDA, true, precision == "fp16" ? at::kHalf : at::kBFloat16);
    else if (device.is_cpu() && precision == "bf16")
      scope_.emplace(at::kCPU, true, at::kBFloat16);
  }

 private:
  std::optional<AutocastScope> scope_;
};

}  // namespace ptm::train
