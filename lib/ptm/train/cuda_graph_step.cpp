// Capture and replay of the training step.
#include "ptm/train/cuda_graph_step.h"

#include <chrono>
#include <optional>
#include <sstream>

#include "ptm/core/errors.h"
#include "ptm/core/log.h"

#ifdef PTM_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace ptm::train {
namespace {

const char* const kKey = "train.cuda_graph";

std::string describe(const torch::Tensor& t) {
  if (!t.defined()) return "absent";
  std::ostringstream o;
  o << t.sizes() << " " << t.scalar_type();
  return o.str();
}

// Copies `src` into the static buffers `dst`, allocating them on the first call.
void copy_into(data::Batch& dst, const data::Batch& src, size_t index) {
  const std::pair<const char*, torch::Tensor data::Batch::*> fields[] = {
      {"input_ids", &data::Batch::input_ids},   {"targets", &data::Batch::targets},
      {"attention_mask", &data::Batch::attention_mask}, {"token_type_ids", &data::Batch::token_type_ids},
      {"labels", &data::Batch::labels},         {"images", &data::Batch::images}};
  const bool first = dst.size() == 0 && src.size() > 0;
  for (const auto& [name, member] : fields) {
    const torch::Tensor& s = src.*member;
    torch::Tensor& d = dst.*member;
    if (first) {
      if (s.defined()) d = s.clone();
      continue;
    }
    if (!s.defined() && !d.defined()) continue;
    if (!s.defined() || !d.defined() || s.sizes() != d.sizes() || s.scalar_type() != d.scalar_type())
      throw ConfigError(Origin{}, kKey,
                        "a replayed step needs every batch shaped like the captured one: micro-batch " +
                            std::to_string(index) + "'s " + name + " is " + describe(s) + ", the captured " +
                            describe(d) +
                            " (a graph replays fixed shapes: pad every batch alike, e.g. data.pad_to=max_length, or "
                            "set train.cuda_graph=false)");
    d.copy_(s, /*non_blocking=*/true);
  }
}

}  // namespace

bool cuda_graphs_built() {
#ifdef PTM_WITH_CUDA
  return true;
#else
  return false;
#endif
}

struct CudaGraphStep::Impl {
  torch::Device device{torch::kCPU};
  int warmup = 3;
  int eager_steps = 0;
  int64_t replays = 0;
  std::vector<data::Batch> inputs;  // static buffers: the graph reads them on every replay
  StepTensors outputs;              // static outputs: every replay overwrites them
#ifdef PTM_WITH_CUDA
  std::optional<at::cuda::CUDAStream> side;
  std::unique_ptr<at::cuda::CUDAGraph> graph;
#endif
};

CudaGraphStep::CudaGraphStep(const torch::Device& device, int warmup) : impl_(std::make_unique<Impl>()) {
  if (!device.is_cuda())
    throw ConfigError(Origin{}, kKey, "needs a CUDA device (this run is on " + device.str() + "); set train.cuda_graph=false");
  if (!cuda_graphs_built())
    throw ConfigError(Origin{}, kKey, "this ptm was built against a LibTorch without CUDA");
  impl_->device = device;
  impl_->warmup = std::max(warmup, 1);
}

CudaGraphStep::~CudaGraphStep() = default;

bool CudaGraphStep::captured() const {
#ifdef PTM_WITH_CUDA
  return impl_->graph != nullptr;
#else
  return false;
#endif
}

int64_t CudaGraphStep::replays() const { return impl_->replays; }

StepTensors CudaGraphStep::run(const std::vector<data::Batch>& micro, const StepBody& body) {
  auto& m = *impl_;
  if (m.inputs.empty()) m.inputs.resize(micro.size());
  if (micro.size() != m.inputs.size())
    throw ConfigError(Origin{}, kKey,
                      "a replayed step needs the same number of micro-batches (" + std::to_string(m.inputs.size()) +
                          "), got " + std::to_string(micro.size()));
  for (size_t i = 0; i < micro.size(); ++i) copy_into(m.inputs[i], micro[i], i);
#ifdef PTM_WITH_CUDA
  if (m.graph) {
    m.graph->replay();  // on the current stream, after the copies above
    ++m.replays;
    return m.outputs;
  }
  // Warm-up and capture run on a side stream (a capture cannot use the default stream), which
  // first waits for the caller's work (the input copies) and is waited for at the end.
  const auto index = m.device.index() < 0 ? c10::cuda::current_device() : m.device.index();
  auto caller = at::cuda::getCurrentCUDAStream(index);
  if (!m.side) m.side = at::cuda::getStreamFromPool(/*isHighPriority=*/false, index);
  at::cuda::CUDAEvent ready;
  ready.record(caller);
  ready.block(*m.side);
  {
    c10::cuda::CUDAStreamGuard on_side(*m.side);
    if (m.eager_steps < m.warmup) {
      m.outputs = body(m.inputs);
      ++m.eager_steps;
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      auto graph = std::make_unique<at::cuda::CUDAGraph>();
      // Thread-local: the data loader's thread may allocate pinned memory meanwhile.
      graph->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
      try {
        m.outputs = body(m.inputs);
        graph->capture_end();
      } catch (const std::exception& e) {
        try {
          graph->capture_end();  // closes a capture the exception left open
        } catch (...) {
        }
        throw RuntimeError(std::string(kKey) +
                           ": capturing the training step failed. A captured step must not wait for the host "
                           "(e.g. MLM masking that counts positions) nor change shapes; set train.cuda_graph=false. "
                           "LibTorch said: " + e.what());
      }
      // A capture records the work without running it: this step runs as the first replay.
      graph->replay();
      ++m.replays;
      m.graph = std::move(graph);
      log::info("cuda graph: captured the training step after " + std::to_string(m.eager_steps) +
                " eager steps in " +
                std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()) +
                " s; replaying it from here on");
    }
  }
  at::cuda::CUDAEvent done;
  done.record(*m.side);
  done.block(caller);
  return m.outputs;
#else
  (void)body;
  throw ConfigError(Origin{}, kKey, "this ptm was built against a LibTorch without CUDA");
#endif
}

}  // namespace ptm::train
