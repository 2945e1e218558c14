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
#include "ptm/train/train_step.h"

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
// A graphed step (`graph` set) marks only data | replay.
std::pair<torch::Tensor, torch::Tensor> step(Workload& w, const train::StepParts& parts, data::Loader& loader,
                                             StepMeter* meter, int i, train::CudaGraphStep* graph,
                                             const train::StepLr& lr) {
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
    const auto out =
        graph->run({batch}, [&](const std::vector<data::Batch>& mb) { return train::train_step(parts, mb, lr); });
    mark(2);
    return {out.loss_sum, out.targets};
  }
  const auto out = train::train_step(parts, {batch}, lr, mark);
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
  train::StepParts parts;
  if (w.train) {
    parts.model = w.model;
    parts.objective = w.objective;
    parts.optimizer = w.optimizer;
    parts.params = w.params;
    parts.device = w.device;
    parts.precision = w.precision;
    parts.clip_grad_norm = w.clip_grad_norm;
    parts.group = w.group;
    parts.sync = w.sync;
  }
  train::StepLr lr{w.lr, {}};
  std::unique_ptr<train::CudaGraphStep> graph;
  if (w.cuda_graph) {
    graph = std::make_unique<train::CudaGraphStep>(w.device, std::clamp(w.warmup - 1, 1, 3));
    lr.tensor = torch::full({}, w.lr, torch::TensorOptions().dtype(torch::kFloat32).device(w.device));
  }
  for (int i = 0; i < w.warmup; ++i) step(w, parts, loader, nullptr, i, graph.get(), lr);
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
    for (int i = 0; i < w.iters; ++i) last = step(w, parts, loader, &meter, i, graph.get(), lr);
    synchronize(w.device);  // the one host sync of the timed steps
    m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  m.step_ms = meter.step_ms();
  const auto phases = meter.phase_ms();
  for (size_t p = 0; p < phases.size(); ++p) m.phase_ms[p] = phases[p];
  m.timer = meter.kind();
  m.cuda_graph = graph && graph->captured();
  if (last.first.defined()) m.loss = last.first.item<double>() / std::max(1.0, last.second.item<double>());
  if (w.group && w.train) {
    int64_t numel = 0;
    for (const auto& p : w.params) numel += p.numel();
    auto flat = torch::zeros({numel}, torch::TensorOptions().dtype(torch::kFloat32).device(w.device));
    w.group->all_reduce(flat);  // warm-up
    synchronize(w.device);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < w.iters; ++i) w.group->all_reduce(flat);
    synchronize(w.device);
    m.comm_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / w.iters;
  }
  m.peak_memory_bytes = peak_memory_bytes(w.device);
  m.peak_memory_kind = peak_memory_kind(w.device, reset_ok);
  return m;
}

}  // namespace ptm::bench
