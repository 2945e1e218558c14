// The shared training step.
#include "ptm/train/train_step.h"

#include <algorithm>

#include "ptm/train/autocast.h"
#include "ptm/train/train_extras.h"

namespace ptm::train {

dist::GradSyncOptions grad_sync_options(const TrainConfig& tc) {
  dist::GradSyncOptions o;
  o.bucket_mb = tc.ddp_bucket_mb;
  o.first_bucket_mb = std::min(1.0, tc.ddp_bucket_mb);  // small, so communication starts early
  o.find_unused = tc.ddp_find_unused;
  o.reduce_dtype = tc.ddp_reduce_dtype;
  return o;
}

std::vector<torch::Tensor> floating_buffers(models::ModelImpl& model) {
  std::vector<torch::Tensor> out;
  for (const auto& b : model.buffers())
    if (b.is_floating_point()) out.push_back(b);
  return out;
}

StepTensors train_step(const StepParts& p, const std::vector<data::Batch>& micro, const StepLr& lr,
                       const std::function<void(int)>& mark, const std::function<void()>& after_clip) {
  const auto fopts = torch::TensorOptions().device(p.device);
  StepTensors out;
  out.targets = torch::zeros({}, fopts.dtype(torch::kInt64));
  for (const auto& b : micro) out.targets += p.objective->count_targets(b);
  auto denom = out.targets.to(torch::kFloat32);
  if (p.group) {
    // The Reducer divides the summed gradients by the world size: divide the losses by the
    // mean of the ranks' target counts, and the result is the global sum over global targets.
    p.group->all_reduce(denom);
    denom = denom / static_cast<double>(p.group->world());
  }
  denom = denom.clamp_min(1.0);
  out.loss_sum = torch::zeros({}, fopts);
  for (size_t i = 0; i < micro.size(); ++i) {
    const bool reduce = p.sync && i + 1 == micro.size();  // accumulation micro-batches stay local
    // DDP's broadcast_buffers: once per step, before its first forward (under no_sync too).
    if (p.sync && i == 0) p.sync->broadcast_buffers();
    if (reduce) p.sync->before_forward();
    torch::Tensor loss;
    {
      AutocastGuard autocast(p.device, p.precision);
      loss = p.objective->loss(*p.model, micro[i], true).loss_sum.to(torch::kFloat32);
    }
    out.loss_sum += loss.detach();
    if (mark) mark(2);
    if (reduce) p.sync->before_backward(loss);
    (loss / denom).backward();
    if (mark) mark(3);
  }
  out.grad_norm = clip_gradients(p.params, p.clip_grad_norm);
  if (after_clip) after_clip();
  if (p.skip_nonfinite) {
    out.skipped = (~torch::isfinite(out.loss_sum) | ~torch::isfinite(out.grad_norm)).to(torch::kFloat32);
    if (p.group) p.group->all_reduce(out.skipped, dist::Reduce::Max);  // every replica skips together
  }
  if (lr.tensor.defined())
    p.optimizer->step(lr.tensor, out.skipped);
  else
    p.optimizer->step(lr.value, out.skipped);
  if (p.zero) {
    for (const auto& t : p.zero->params) t.mutable_grad() = torch::Tensor();
    dist::broadcast_from_owners(*p.group, *p.zero);
  } else {
    p.optimizer->zero_grad();
  }
  if (mark) mark(4);
  return out;
}

}  // namespace ptm::train
