// Gradient averaging across ranks with c10d's Reducer, the engine of PyTorch's DDP: buckets
// of gradients are all-reduced while the backward pass is still running. Accumulation
// micro-batches reduce nothing: only the backward of the step's last micro-batch, which
// reduces the sum of all of them. Floating-point buffers (BatchNorm's running statistics)
// follow rank 0's, as DDP's broadcast_buffers keeps them.
#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ptm/dist/process_group.h"

namespace c10d {
class ProcessGroup;
class Reducer;
}  // namespace c10d

namespace ptm::dist {

struct GradSyncOptions {
  double bucket_mb = 25;       // bucket capacity (DDP's bucket_cap_mb)
  double first_bucket_mb = 1;  // the first bucket is small, so communication starts early
  bool find_unused = false;    // allow parameters that get no gradient in a step (slower)
  std::string reduce_dtype = "fp32";  // fp32 | bf16: buckets travel as bf16 (half the bytes)
};

class GradientSync {
 public:
  // `params`: the trainable tensors, equal on every rank (the caller broadcasts rank 0's).
  // `buffers`: the model's floating-point buffers, which each rank's forward changes.
  GradientSync(Group& group, const std::vector<std::pair<std::string, at::Tensor>>& params,
               const GradSyncOptions& options, std::vector<at::Tensor> buffers = {});
  ~GradientSync();
  // Call before the forward and after it (with the loss) of a micro-batch whose backward
  // should reduce: the last one of each step.
  void before_forward();
  void before_backward(const at::Tensor& loss);
  // Rank 0's buffers into every rank's, in one coalesced broadcast, as DDP does before a
  // forward (PyTorch: rank 0's copy is authoritative): call before the first micro-batch of
  // each step and before evaluating. Without such buffers (transformers) it does nothing.
  void broadcast_buffers();
  int64_t buckets() const { return buckets_; }

 private:
  std::unique_ptr<c10d::Reducer> reducer_;
  c10::intrusive_ptr<c10d::ProcessGroup> pg_;
  std::vector<at::Tensor> buffers_;
  int64_t buckets_ = 0;
};

}  // namespace ptm::dist
