// One measured configuration of `ptm bench`: warm-up steps, then timed steps with the
// trainer's work per step (DESIGN §6, grad accumulation 1):
//   train: data (loader.next + count_targets) | forward (objective loss under autocast) |
//          backward | optimizer (clip the global norm, fused AdamW step, zero_grad)
//   infer: data | forward (no_grad, eval mode, autocast)
//   train with cuda_graph: data | graph (the captured step replayed: forward to zero_grad)
// No host sync inside the timed steps: phase boundaries are CUDA events (GPU) or clock reads
// (CPU), read after one synchronize at the end.
#pragma once
#include <torch/torch.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ptm/data/dataset.h"
#include "ptm/dist/grad_sync.h"
#include "ptm/models/model.h"
#include "ptm/objectives/objective.h"
#include "ptm/optim/optimizer.h"

namespace ptm::bench {

struct Workload {
  models::ModelImpl* model = nullptr;
  objectives::Objective* objective = nullptr;  // train mode only
  optim::Optimizer* optimizer = nullptr;       // train mode only
  std::vector<torch::Tensor> params;           // clipped together (the optimizer's tensors)
  data::StreamBuilder data;
  data::StreamOptions stream;  // batch size, seed
  torch::Device device{torch::kCPU};
  std::string precision = "fp32";  // autocast: bf16 | fp32 (AutocastGuard: CUDA only)
  double clip_grad_norm = 1.0;     // <= 0: the norm is computed, not applied (as the trainer does)
  double lr = 3e-4;
  bool train = true;
  bool cuda_graph = false;  // train.cuda_graph: capture the step during warm-up, replay it timed
  int warmup = 5, iters = 20;
  std::string profile;  // when set: LibTorch's per-op profiler over the timed steps, trace written here
  // Data parallel (ptm launch / torchrun): the step reduces gradients as training does.
  dist::Group* group = nullptr;
  dist::GradientSync* sync = nullptr;
};

struct Measurement {
  std::vector<double> step_ms;                        // per timed step
  std::array<std::vector<double>, 4> phase_ms;        // data, forward, backward, optimizer (infer, graph: first two)
  double wall_s = 0;                                  // timed steps, host clock, one sync at the end
  int64_t samples_per_step = 0, tokens_per_step = 0;  // tokens: 0 for image batches
  int64_t seq = 0;                                    // tokens per sample (0 for images)
  std::optional<double> loss;                         // mean loss of the last train step
  std::optional<int64_t> peak_memory_bytes;
  std::string peak_memory_kind, timer;
  bool cuda_graph = false;  // the timed steps were graph replays (phase 1 is the replay)
  // Data parallel: one all-reduce of every gradient (fp32, as one flat tensor) on its own,
  // i.e. the communication a step would wait for if none of it overlapped the backward pass.
  std::optional<double> comm_ms;
};

Measurement measure(Workload& w);

}  // namespace ptm::bench
