// Peak memory of a device: the CUDA caching allocator's peak of allocated bytes (as
// torch.cuda.max_memory_allocated), or on the CPU the process's peak resident set (VmHWM),
// reset through /proc/self/clear_refs. Used by `ptm bench` and the training log.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <torch/types.h>

namespace ptm {

// Resets the peak-memory counter of `device`; false when it cannot be reset (then the peak
// is the process's since it started).
bool reset_peak_memory(const torch::Device& device);
// Peak bytes since the last reset; nullopt when unknown.
std::optional<int64_t> peak_memory_bytes(const torch::Device& device);
// "cuda_max_allocated" or "cpu_peak_rss" (plus " (since process start)" when not resettable).
std::string peak_memory_kind(const torch::Device& device, bool reset_ok);

}  // namespace ptm
