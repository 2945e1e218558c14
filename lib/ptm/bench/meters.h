// Meters of `ptm bench`: per-step phase boundaries without host syncs (CUDA events on a GPU,
// read after the one synchronize at the end; the steady clock on the CPU, where every op has
// finished when it returns), device synchronisation, and peak memory (the CUDA caching
// allocator's peak of allocated bytes, as torch.cuda.max_memory_allocated; on the CPU the
// process's peak resident set, VmHWM, reset through /proc/self/clear_refs).
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ptm/core/device_memory.h"

namespace ptm::bench {

class StepMeter {
 public:
  // `boundaries` marks per step (phases + 1); marks are (step, boundary) with boundary 0 the start.
  StepMeter(const torch::Device& device, int steps, int boundaries);
  ~StepMeter();
  StepMeter(const StepMeter&) = delete;
  StepMeter& operator=(const StepMeter&) = delete;

  void mark(int step, int boundary);
  // After synchronize(): milliseconds between boundary b and b+1 of every step ([phase][step]).
  std::vector<std::vector<double>> phase_ms() const;
  // After synchronize(): milliseconds from the first to the last boundary of every step.
  std::vector<double> step_ms() const;
  const char* kind() const;  // "cuda_events" | "steady_clock"

 private:
  double between(int step, int from, int to) const;
  bool cuda_;
  int steps_, boundaries_;
  std::vector<std::chrono::steady_clock::time_point> clock_;
  struct Events;
  std::unique_ptr<Events> events_;
};

// Waits for all work queued on `device` (nothing to do on the CPU).
void synchronize(const torch::Device& device);

// Peak memory (core/device_memory.h), shared with the training log.
using ptm::peak_memory_bytes;
using ptm::peak_memory_kind;
using ptm::reset_peak_memory;

// Frees cached blocks after an out-of-memory configuration (CUDA; no-op on the CPU).
void release_cached_memory(const torch::Device& device);

// True when `e` (or its message) is the caching allocator's out-of-memory error.
bool is_out_of_memory(const std::exception& e);

}  // namespace ptm::bench
