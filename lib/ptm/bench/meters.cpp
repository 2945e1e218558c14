// Step meters, synchronisation and cached memory on the CPU and (PTM_WITH_CUDA) on CUDA.
#include "ptm/bench/meters.h"

#ifdef PTM_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace ptm::bench {

struct StepMeter::Events {
#ifdef PTM_WITH_CUDA
  std::vector<at::cuda::CUDAEvent> events;
#endif
};

StepMeter::StepMeter(const torch::Device& device, int steps, int boundaries)
    : cuda_(device.is_cuda()), steps_(steps), boundaries_(boundaries), events_(std::make_unique<Events>()) {
  const size_t n = static_cast<size_t>(steps) * static_cast<size_t>(boundaries);
#ifdef PTM_WITH_CUDA
  if (cuda_) {
    events_->events.reserve(n);
    // Timing events, created now (by a first record) so the timed loop only records them.
    for (size_t i = 0; i < n; ++i) {
      events_->events.emplace_back(cudaEventDefault);
      events_->events.back().record();
    }
    return;
  }
#endif
  cuda_ = false;
  clock_.resize(n);
}

StepMeter::~StepMeter() = default;

void StepMeter::mark(int step, int boundary) {
  const size_t i = static_cast<size_t>(step) * static_cast<size_t>(boundaries_) + static_cast<size_t>(boundary);
#ifdef PTM_WITH_CUDA
  if (cuda_) {
    events_->events[i].record();
    return;
  }
#endif
  clock_[i] = std::chrono::steady_clock::now();
}

double StepMeter::between(int step, int from, int to) const {
  const size_t base = static_cast<size_t>(step) * static_cast<size_t>(boundaries_);
#ifdef PTM_WITH_CUDA
  if (cuda_) return events_->events[base + from].elapsed_time(events_->events[base + to]);
#endif
  return std::chrono::duration<double, std::milli>(clock_[base + to] - clock_[base + from]).count();
}

std::vector<std::vector<double>> StepMeter::phase_ms() const {
  std::vector<std::vector<double>> out(static_cast<size_t>(boundaries_ - 1));
  for (int b = 0; b + 1 < boundaries_; ++b)
    for (int s = 0; s < steps_; ++s) out[b].push_back(between(s, b, b + 1));
  return out;
}

std::vector<double> StepMeter::step_ms() const {
  std::vector<double> out;
  for (int s = 0; s < steps_; ++s) out.push_back(between(s, 0, boundaries_ - 1));
  return out;
}

const char* StepMeter::kind() const { return cuda_ ? "cuda_events" : "steady_clock"; }

void synchronize(const torch::Device& device) {
#ifdef PTM_WITH_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#else
  (void)device;
#endif
}

void release_cached_memory(const torch::Device& device) {
#ifdef PTM_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::emptyCache();
#else
  (void)device;
#endif
}

bool is_out_of_memory(const std::exception& e) {
  if (dynamic_cast<const c10::OutOfMemoryError*>(&e)) return true;
  const std::string what = e.what();
  return what.find("out of memory") != std::string::npos || what.find("Tried to allocate") != std::string::npos;
}

}  // namespace ptm::bench
