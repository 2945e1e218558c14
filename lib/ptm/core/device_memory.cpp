// Peak memory on the CPU and (PTM_WITH_CUDA) on CUDA.
#include "ptm/core/device_memory.h"

#include <fstream>

#ifdef PTM_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace ptm {
namespace {

// VmHWM of /proc/self/status in bytes.
std::optional<int64_t> peak_rss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmHWM:   123 kB"
  return std::nullopt;
}

}  // namespace

bool reset_peak_memory(const torch::Device& device) {
#ifdef PTM_WITH_CUDA
  if (device.is_cuda()) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? c10::cuda::current_device() : device.index());
    return true;
  }
#else
  (void)device;
#endif
  std::ofstream clear("/proc/self/clear_refs");  // "5" resets the peak RSS to the current RSS (Linux >= 4.0)
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

std::optional<int64_t> peak_memory_bytes(const torch::Device& device) {
#ifdef PTM_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? c10::cuda::current_device()
                                                                                          : device.index());
    return stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
  }
#else
  (void)device;
#endif
  return peak_rss();
}

std::string peak_memory_kind(const torch::Device& device, bool reset_ok) {
  const std::string k = device.is_cuda() ? "cuda_max_allocated" : "cpu_peak_rss";
  return reset_ok ? k : k + " (since process start)";
}

}  // namespace ptm
