// The shared training step.
#include "ptm/train/train_step.h"

#include "ptm/train/autocast.h"
#include "ptm/train/train_extras.h"

namespace ptm::train {

StepTensors train_step(const StepParts& p, const std::vector<data::Batch>& micro, const StepLr& lr,
                       const std::function<void(int)>& mark, const std::function<void()>& after_clip) {
  const auto fopts = torch::TensorOptions().device(p.device);
  StepTensors out;
  out.targets = torch::zeros({}, fopts.dtype(torch::kInt64));
  for (const auto& b : micro) out.targets += p.objective->count_targets(b);
  const auto denom = out.targets.to(torch::kFloat32).clamp_min(1.0);
  out.loss_sum = torch::zeros({}, fopts);
  for (const auto& batch : micro) {
    torch::Tensor loss;
    {
      AutocastGuard autocast(p.device, p.precision);
      loss = p.objective->loss(*p.model, batch, true).loss_sum.to(torch::kFloat32);
    }
    out.loss_sum += loss.detach();
    if (mark) mark(2);
    (loss / denom).backward();
    if (mark) mark(3);
  }
  out.grad_norm = clip_gradients(p.params, p.clip_grad_norm);
  if (after_clip) after_clip();
  if (p.skip_nonfinite)
    out.skipped = (~torch::isfinite(out.loss_sum) | ~torch::isfinite(out.grad_norm)).to(torch::kFloat32);
  if (lr.tensor.defined())
    p.optimizer->step(lr.tensor, out.skipped);
  else
    p.optimizer->step(lr.value, out.skipped);
  p.optimizer->zero_grad();
  if (mark) mark(4);
  return out;
}

}  // namespace ptm::train
