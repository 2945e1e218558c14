// Whole-step CUDA graphs (train.cuda_graph). A training step with static shapes launches the
// same few hundred kernels every time; captured once in a CUDA graph, it is replayed with one
// launch and no per-kernel host work. run() copies each step's batches into static device
// buffers; the first `warmup` steps run the body eagerly on a side stream (cuBLAS/cuDNN set
// themselves up outside the capture); the next step captures the body and every later step
// replays it. What the body reads from the host is frozen at the capture: the learning rate
// must come from a device tensor the caller refills (Optimizer::step(Tensor)), and the body
// must not synchronise with the host. Dropout draws fresh numbers on every replay (LibTorch
// advances the CUDA generator's offset per replay).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <vector>

#include "ptm/data/dataset.h"

namespace ptm::train {

// What one step leaves on the device (scalars; in graph mode the graph's static outputs,
// overwritten by the next replay).
struct StepTensors {
  torch::Tensor loss_sum;   // fp32, summed over the micro-batches
  torch::Tensor targets;    // int64, targets the loss summed over
  torch::Tensor grad_norm;  // fp32, before clipping
  torch::Tensor skipped;    // fp32 1/0 (nan_policy skip), else undefined
};

using StepBody = std::function<StepTensors(const std::vector<data::Batch>& micro)>;

// Whether this build can capture CUDA graphs (LibTorch with CUDA).
bool cuda_graphs_built();

class CudaGraphStep {
 public:
  explicit CudaGraphStep(const torch::Device& device, int warmup = 3);
  ~CudaGraphStep();
  CudaGraphStep(const CudaGraphStep&) = delete;
  CudaGraphStep& operator=(const CudaGraphStep&) = delete;

  // One step on `micro` (device batches). Throws ConfigError (train.cuda_graph) when a batch's
  // shapes differ from the captured ones, RuntimeError when the capture fails.
  StepTensors run(const std::vector<data::Batch>& micro, const StepBody& body);

  bool captured() const;
  int64_t replays() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ptm::train
