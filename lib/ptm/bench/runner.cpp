// The timed loop of one bench configuration.
#include "ptm/bench/runner.h"

#include <torch/csrc/autograd/profiler_kineto.h>

#include <chrono>
#include <set>

#include "ptm/bench/meters.h"
#include "ptm/core/log.h"
#include "ptm/data/loader.h"
#include "ptm/train/autocast.h"
#include "ptm/train/train_extras.h"

namespace ptm::bench {

namespace {

constexpr int kTrainBoundaries = 5;  // start | data | forward | backward | optimizer
constexpr int kInferBoundaries = 3;  // start | data | forward

// LibTorch's Kineto profiler over a scope: CPU ops, and on CUDA the kernels themselves (CUPTI),
// saved as a chrome://tracing JSON when the scope ends (after the caller's synchronize).
class KinetoProfile {
 public:
  KinetoProfile(std::string path, const torch::Device& device) : path_(std::move(path)) {
    namespace prof = torch::profiler::impl;
    std::set<prof::ActivityType> activities{prof::ActivityType::CPU};
    if (device.is_cuda()) activities.insert(prof::ActivityType::CUDA);
    const prof::ProfilerConfig config(prof::ProfilerState::KINETO);
    torch::autograd::profiler::prepareProfiler(config, activities);
    torch::autograd::profiler::enableProfiler(config, activities);
  }
  KinetoProfile(const KinetoProfile&) = delete;
  KinetoProfile& operator=(const KinetoProfile&) = delete;
  ~KinetoProfile() {
    try {
      torch::autograd::profiler::disableProfiler()->save(path_);
    } catch (const std::exception& e) {  // a profile is a by-product: never fail the bench on it
      log::warn("profile not written to " + path_ + ": " + e.what());
    }
  }

 private:
  std::string path_;
};

// One step; `meter` null during warm-up. Returns the step's loss sum and target count (train).
std::pair<torch::Tensor, torch::Tensor> step(Workload& w, data::Loader& loader, StepMeter* meter, int i) {
  auto mark = [&](int b) {
    if (meter) meter->mark(i, b);
  };
  mark(0);
  const auto batch = *loader.next();
  if (!w.train) {
    mark(1);
    torch::NoGradGuard no_grad;
    train::AutocastGuard autocast(w.device, w.precision);
    const auto out = w.model->forward(batch);
    mark(2);
    return {};
  }
  const auto total = w.objective->count_targets(batch);
  mark(1);
  torch::Tensor loss;
  {
    train::AutocastGuard autocast(w.device, w.precision);
    const auto parts = w.objective->loss(*w.model, batch, true);
    loss = parts.loss_sum.to(torch::kFloat32);
  }
  const auto denom = total.to(torch::kFloat32).clamp_min(1.0);
  const auto scaled = loss / denom;
  mark(2);
  scaled.backward();
  mark(3);
  train::clip_gradients(w.params, w.clip_grad_norm);
  w.optimizer->step(w.lr);
  w.optimizer->zero_grad();
  mark(4);
  return {loss.detach(), total};
}

}  // namespace

Measurement measure(Workload& w) {
  Measurement m;
  if (w.train)
    w.model->train();
  else
    w.model->eval();
  const bool reset_ok = reset_peak_memory(w.device);
  data::Loader loader(w.data(w.stream), w.device, 4);

  // Shapes from the stream itself (a separate instance: the loader's cursor is untouched).
  {
    auto probe = w.data(w.stream);
    const auto b = probe->next();
    m.samples_per_step = b->size();
    if (b->input_ids.defined()) {
      m.seq = b->input_ids.size(1);
      m.tokens_per_step = b->input_ids.numel();
    }
  }

  for (int i = 0; i < w.warmup; ++i) step(w, loader, nullptr, i);
  synchronize(w.device);

  const int boundaries = w.train ? kTrainBoundaries : kInferBoundaries;
  StepMeter meter(w.device, w.iters, boundaries);
  synchronize(w.device);
  std::pair<torch::Tensor, torch::Tensor> last;
  {
    // Per-op profile (adds overhead per op: figures of a profiled run are for the split only).
    std::unique_ptr<KinetoProfile> profile;
    if (!w.profile.empty()) profile = std::make_unique<KinetoProfile>(w.profile, w.device);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < w.iters; ++i) last = step(w, loader, &meter, i);
    synchronize(w.device);  // the one host sync of the timed steps
    m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  m.step_ms = meter.step_ms();
  const auto phases = meter.phase_ms();
  for (size_t p = 0; p < phases.size(); ++p) m.phase_ms[p] = phases[p];
  m.timer = meter.kind();
  if (last.first.defined()) m.loss = last.first.item<double>() / std::max(1.0, last.second.item<double>());
  m.peak_memory_bytes = peak_memory_bytes(w.device);
  m.peak_memory_kind = peak_memory_kind(w.device, reset_ok);
  return m;
}

}  // namespace ptm::bench
