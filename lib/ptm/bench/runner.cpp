// The timed loop of one bench configuration.
#include "ptm/bench/runner.h"

#include <torch/csrc/autograd/profiler_kineto.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>

#include "ptm/bench/meters.h"
#include "ptm/core/log.h"
#include "ptm/data/loader.h"
#include "ptm/train/autocast.h"
#include "ptm/train/cuda_graph_step.h"
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

// The train step's device work: loss under autocast, backward, clip, optimizer step, zero
// grads; `mark` timestamps boundaries 2 (forward done), 3 (backward done) and 4. With
// `lr_device` defined the optimizer reads its learning rate from there (a captured step).
train::StepTensors train_body(Workload& w, const data::Batch& batch, const std::function<void(int)>& mark,
                              const torch::Tensor& lr_device) {
  train::StepTensors out;
  out.targets = w.objective->count_targets(batch);
  torch::Tensor loss;
  {
    train::AutocastGuard autocast(w.device, w.precision);
    const auto parts = w.objective->loss(*w.model, batch, true);
    loss = parts.loss_sum.to(torch::kFloat32);
  }
  const auto scaled = loss / out.targets.to(torch::kFloat32).clamp_min(1.0);
  mark(2);
  scaled.backward();
  mark(3);
  out.grad_norm = train::clip_gradients(w.params, w.clip_grad_norm);
  if (lr_device.defined())
    w.optimizer->step(lr_device);
  else
    w.optimizer->step(w.lr);
  w.optimizer->zero_grad();
  mark(4);
  out.loss_sum = loss.detach();
  return out;
}

// One step; `meter` null during warm-up. Returns the step's loss sum and target count (train).
// A graphed step (`graph` set) marks only data | replay.
std::pair<torch::Tensor, torch::Tensor> step(Workload& w, data::Loader& loader, StepMeter* meter, int i,
                                             train::CudaGraphStep* graph, const torch::Tensor& lr_device) {
  const std::function<void(int)> mark = [&](int b) {
    if (meter) meter->mark(i, b);
  };
  mark(0);
  const auto batch = *loader.next();
  mark(1);
  if (!w.train) {
    torch::NoGradGuard no_grad;
    train::AutocastGuard autocast(w.device, w.precision);
    const auto out = w.model->forward(batch);
    mark(2);
    return {};
  }
  if (graph) {
    const auto out = graph->run({batch}, [&](const std::vector<data::Batch>& mb) {
      return train_body(w, mb.front(), [](int) {}, lr_device);
    });
    mark(2);
    return {out.loss_sum, out.targets};
  }
  const auto out = train_body(w, batch, mark, {});
  return {out.loss_sum, out.targets};
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

  // A captured step: eager warm-up steps, then the capture, inside the untimed steps when
  // --warmup allows (at least 2).
  std::unique_ptr<train::CudaGraphStep> graph;
  torch::Tensor lr_device;
  if (w.cuda_graph) {
    graph = std::make_unique<train::CudaGraphStep>(w.device, std::clamp(w.warmup - 1, 1, 3));
    lr_device = torch::full({}, w.lr, torch::TensorOptions().dtype(torch::kFloat32).device(w.device));
  }
  for (int i = 0; i < w.warmup; ++i) step(w, loader, nullptr, i, graph.get(), lr_device);
  synchronize(w.device);

  const int boundaries = w.train && !graph ? kTrainBoundaries : kInferBoundaries;
  StepMeter meter(w.device, w.iters, boundaries);
  synchronize(w.device);
  std::pair<torch::Tensor, torch::Tensor> last;
  {
    // Per-op profile (adds overhead per op: figures of a profiled run are for the split only).
    std::unique_ptr<KinetoProfile> profile;
    if (!w.profile.empty()) profile = std::make_unique<KinetoProfile>(w.profile, w.device);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < w.iters; ++i) last = step(w, loader, &meter, i, graph.get(), lr_device);
    synchronize(w.device);  // the one host sync of the timed steps
    m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  m.step_ms = meter.step_ms();
  const auto phases = meter.phase_ms();
  for (size_t p = 0; p < phases.size(); ++p) m.phase_ms[p] = phases[p];
  m.timer = meter.kind();
  m.cuda_graph = graph && graph->captured();
  if (last.first.defined()) m.loss = last.first.item<double>() / std::max(1.0, last.second.item<double>());
  m.peak_memory_bytes = peak_memory_bytes(w.device);
  m.peak_memory_kind = peak_memory_kind(w.device, reset_ok);
  return m;
}

}  // namespace ptm::bench
