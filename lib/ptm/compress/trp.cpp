// Trained Rank Pruning's truncations and nuclear-norm sub-gradients (trp.h).
#include "ptm/compress/trp.h"

#include <algorithm>

#include "ptm/compress/low_rank.h"
#include "ptm/core/errors.h"
#include "ptm/models/low_rank.h"

namespace ptm::compress {

TrpHook::TrpHook(const PruneConfig& c, Targets targets, int64_t max_steps, int64_t grad_accum_steps)
    : c_(c), targets_(std::move(targets)), max_steps_(max_steps), accum_(std::max<int64_t>(1, grad_accum_steps)) {
  if (c_.nuclear <= 0) return;
  for (auto& [name, lin] : targets_) {
    auto uv = torch::zeros_like(lin->weight, lin->weight.options().requires_grad(false));
    uv_[name] = uv;
    const double scale = c_.nuclear / static_cast<double>(accum_);
    lin->weight.register_hook([uv, scale](const torch::Tensor& grad) { return grad + scale * uv.to(grad.scalar_type()); });
  }
}

bool TrpHook::truncates_at(int64_t step) const {
  const int64_t end = c_.end_step > 0 ? std::min(c_.end_step, max_steps_) : max_steps_;
  if (step < c_.start_step || step > end) return false;
  return step == end || (step - c_.start_step) % c_.every == 0;
}

double TrpHook::mean_rank() const {
  if (ranks_.empty()) return 0.0;
  double sum = 0;
  for (const auto& [name, r] : ranks_) sum += static_cast<double>(r);
  return sum / static_cast<double>(ranks_.size());
}

void TrpHook::truncate() {
  torch::NoGradGuard no_grad;
  for (auto& [name, lin] : targets_) {
    const int64_t r = chosen_rank(c_, lin->weight);
    ranks_[name] = r;
    if (r >= std::min(lin->weight.size(0), lin->weight.size(1))) continue;
    const auto [a, b] = models::truncated_svd(lin->weight, r);
    lin->weight.copy_(torch::matmul(a, b));
  }
}

void TrpHook::refresh_subgradients() {
  if (uv_.empty()) return;
  torch::NoGradGuard no_grad;
  for (auto& [name, lin] : targets_) {
    const auto [U, S, Vh] = torch::linalg_svd(lin->weight.detach().to(torch::kFloat), /*full_matrices=*/false);
    // Directions of (numerically) zero singular values are not in the sub-gradient's U V^T.
    const auto keep = (S > S.max() * 1e-6).to(U.dtype());
    uv_.at(name).copy_(torch::matmul(U * keep.unsqueeze(0), Vh));
  }
}

void TrpHook::start(int64_t step, bool resumed) {
  (void)resumed;
  // A fresh run starts from the truncated weights when truncation starts at step 0.
  if (step == 0 && c_.start_step == 0) truncate();
  refresh_subgradients();
}

void TrpHook::after_step(int64_t step) {
  if (truncates_at(step)) truncate();
  refresh_subgradients();
}

models::NamedTensors TrpHook::state() const {
  models::NamedTensors out;
  for (const auto& [name, r] : ranks_) out.emplace_back(name + ".rank", torch::tensor({r}, torch::kLong));
  return out;
}

void TrpHook::load(const models::NamedTensors& state) {
  ranks_.clear();
  for (const auto& [key, t] : state) {
    if (key.size() < 5 || key.compare(key.size() - 5, 5, ".rank") != 0 || t.numel() != 1)
      throw IoError(file() + ": unexpected tensor " + key + " (the checkpoint was written by another prune: section)");
    ranks_[key.substr(0, key.size() - 5)] = t.item<int64_t>();
  }
}

void TrpHook::add_metrics(nlohmann::json& record) const {
  if (!ranks_.empty()) record["trp_mean_rank"] = mean_rank();
}

}  // namespace ptm::compress
