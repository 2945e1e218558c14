// c10d::Reducer set up as torch.nn.parallel.DistributedDataParallel does it.
#include "ptm/dist/grad_sync.h"

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>

namespace ptm::dist {
namespace {

// Buckets all-reduced in bf16, as PyTorch's bf16_compress_hook does: divided by the world size
// first (no overflow), reduced, and copied back into the fp32 bucket.
class Bf16ReduceHook : public c10d::CppCommHookInterface<c10::intrusive_ptr<c10d::ProcessGroup>> {
 public:
  using CppCommHookInterface::CppCommHookInterface;
  c10::intrusive_ptr<c10::ivalue::Future> runHook(c10d::GradBucket& bucket) override {
    auto compressed = bucket.getBufferRef().to(at::kBFloat16);
    compressed.div_(state_->getSize());
    std::vector<at::Tensor> tensors = {compressed};
    auto reduced = state_->allreduce(tensors)->getFuture();
    auto out = bucket.getBufferRef();
    return reduced->then(
        [out](c10::ivalue::Future& f) {
          out.copy_(f.value().toTensorVector()[0]);
          return c10::IValue(out);
        },
        reduced->elementType());
  }
};

}  // namespace

GradientSync::GradientSync(Group& group, const std::vector<std::pair<std::string, at::Tensor>>& named,
                           const GradSyncOptions& o, std::vector<at::Tensor> buffers)
    : pg_(group.process_group()), buffers_(std::move(buffers)) {
  std::vector<at::Tensor> params;
  std::unordered_map<size_t, std::string> names;
  for (const auto& [name, t] : named) {
    names[params.size()] = name;
    params.push_back(t);
  }
  const auto mb = [](double m) { return static_cast<size_t>(m * 1024 * 1024); };
  auto [buckets, limits] =
      c10d::compute_bucket_assignment_by_size(params, {mb(o.first_bucket_mb), mb(o.bucket_mb)},
                                              std::vector<bool>(params.size(), false));
  // Gradients become ready from the last layer backwards: reduce the last buckets first.
  std::reverse(buckets.begin(), buckets.end());
  std::reverse(limits.begin(), limits.end());
  buckets_ = static_cast<int64_t>(buckets.size());
  std::vector<int64_t> caps(limits.begin(), limits.end());
  // Gradients are copied into the buckets (not views of them): the optimizer frees them
  // after each step, which bucket views would not survive.
  reducer_ = std::make_unique<c10d::Reducer>(params, std::move(buckets), group.process_group(),
                                             std::vector<bool>(params.size(), false),
                                             static_cast<int64_t>(mb(o.bucket_mb)), o.find_unused,
                                             /*gradient_as_bucket_view=*/false, std::move(names),
                                             static_cast<int64_t>(mb(o.first_bucket_mb)),
                                             /*skip_all_reduce_unused_params=*/false,
                                             /*use_python_reducer=*/false, std::move(caps));
  if (o.reduce_dtype == "bf16") reducer_->register_comm_hook(std::make_unique<Bf16ReduceHook>(group.process_group()));
}

GradientSync::~GradientSync() = default;

void GradientSync::before_forward() { reducer_->prepare_for_forward(); }

void GradientSync::before_backward(const at::Tensor& loss) { reducer_->prepare_for_backward({loss}); }

void GradientSync::broadcast_buffers() {
  if (buffers_.empty()) return;
  // DDP's broadcast_bucket_size (250 MB): one collective for every BatchNorm of a ResNet.
  c10d::broadcast_coalesced(pg_, buffers_, 250 * 1024 * 1024, 0);
}

}  // namespace ptm::dist
