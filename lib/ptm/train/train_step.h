// One optimizer step's device work, shared by the trainer and `ptm bench` so that both run
// (and the bench times) the same step: the micro-batches' losses under autocast, each
// normalised by the targets of all of them, backward, clipping, the optimizer step (skipped
// on the device for a non-finite loss or gradient when asked), zero_grad. No host sync, so the
// step can also be captured in a CUDA graph (cuda_graph_step.h).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "ptm/data/dataset.h"
#include "ptm/dist/grad_sync.h"
#include "ptm/dist/zero.h"
#include "ptm/models/model.h"
#include "ptm/objectives/objective.h"
#include "ptm/optim/optimizer.h"
#include "ptm/train/cuda_graph_step.h"
#include "ptm/train/train_config.h"

namespace ptm::train {

struct StepParts {
  models::ModelImpl* model = nullptr;
  objectives::Objective* objective = nullptr;
  optim::Optimizer* optimizer = nullptr;
  std::vector<torch::Tensor> params;  // clipped together (the optimizer's tensors)
  torch::Device device{torch::kCPU};
  std::string precision = "fp32";  // AutocastGuard's
  double clip_grad_norm = 1.0;     // <= 0: the norm is computed, not applied
  bool skip_nonfinite = false;     // nan_policy skip: StepTensors::skipped is set
  // Data parallel (null: one process): the loss is normalised by the targets of every rank's
  // micro-batches and the last micro-batch's backward averages the gradients across ranks, so
  // the step equals one process's step on the union of the ranks' batches. Before the first
  // micro-batch, rank 0's buffers are broadcast (GradientSync::broadcast_buffers).
  dist::Group* group = nullptr;
  dist::GradientSync* sync = nullptr;
  // ZeRO-1: the optimizer holds this rank's tensors only; the step frees every gradient and
  // broadcasts each tensor from its owner.
  const dist::ZeroShards* zero = nullptr;
};

// The learning rate of a step: `tensor` (a float scalar on the device, read there: a captured
// step) when defined, else `value`.
struct StepLr {
  double value = 0;
  torch::Tensor tensor;
};

// The train.ddp_* settings as the gradient reducer takes them (trainer and bench alike).
dist::GradSyncOptions grad_sync_options(const TrainConfig& tc);

// The model's floating-point buffers (BatchNorm's running statistics), which every rank's
// forward changes and data parallelism keeps equal to rank 0's; index buffers never differ.
std::vector<torch::Tensor> floating_buffers(models::ModelImpl& model);

// `mark(b)`, when given, is called at boundary 2 (each micro-batch's forward done), 3 (its
// backward done) and 4 (optimizer done); `after_clip`, when given, runs between clipping and
// the optimizer step (gradient noise).
StepTensors train_step(const StepParts& p, const std::vector<data::Batch>& micro, const StepLr& lr,
                       const std::function<void(int)>& mark = {}, const std::function<void()>& after_clip = {});

}  // namespace ptm::train
