// Super-network training: several sub-networks per batch.
#include "ptm/nas/supernet_objective.h"

#include <algorithm>
#include <random>

#include "ptm/core/errors.h"
#include "ptm/distill/distill.h"
#include "ptm/distill/losses.h"
#include "ptm/nas/model_space.h"
#include "ptm/objectives/denoising.h"
#include "ptm/objectives/electra_objective.h"

namespace ptm::nas {

SupernetObjective::SupernetObjective(std::unique_ptr<objectives::Objective> inner, SupernetConfig config)
    : inner_(std::move(inner)), config_(std::move(config)) {}

void SupernetObjective::attach(models::ModelImpl& model, const torch::Device& device) {
  inner_->attach(model, device);
  // In-place distillation scores each sub-network's own forward pass of the batch as it is;
  // objectives that change their input or run a second model inside loss() cannot share it.
  if (config_.inplace_distill && (dynamic_cast<objectives::Denoising*>(inner_.get()) ||
                                  dynamic_cast<objectives::ElectraObjective*>(inner_.get()) ||
                                  dynamic_cast<distill::DistillObjective*>(inner_.get())))
    throw ConfigError(Origin{}, "supernet.inplace_distill",
                      "not with the " + inner_->name() +
                          " objective (it corrupts its input or runs a teacher of its own); use inplace_distill: false");
  space_ = model_space(config_.space, model, "supernet");
  if (config_.sampling == "sortednet")
    nested_ = space_.sorted_nested(static_cast<int64_t>(std::max(space_.heads.size(), space_.inner.size())));
}

torch::Tensor SupernetObjective::kd_sum(const torch::Tensor& logits, const torch::Tensor& teacher,
                                        const data::Batch& batch) const {
  const auto s = logits.to(torch::kFloat32);
  if (s.dim() == 2) return distill::kd_kl(s, teacher, config_.temperature).sum();
  // Token outputs [B, T, C]: the target tokens (targets -100 and padding left out).
  torch::Tensor keep;
  if (batch.targets.defined() && batch.targets.sizes() == s.sizes().slice(0, 2)) keep = batch.targets != -100;
  else if (batch.attention_mask.defined()) keep = batch.attention_mask != 0;
  else keep = torch::ones(s.sizes().slice(0, 2), torch::TensorOptions().dtype(torch::kBool).device(s.device()));
  const auto per_example = distill::kd_kl(s, teacher, config_.temperature, keep);  // mean over kept tokens
  return (per_example * keep.sum(-1).to(torch::kFloat32)).sum();
}

std::vector<Genome> SupernetObjective::sample() {
  // One draw from torch's CPU generator seeds this step's choices (resume restores it).
  std::mt19937_64 rng(static_cast<uint64_t>(torch::randint(0, int64_t(1) << 62, {1}, torch::kLong).item<int64_t>()));
  std::vector<Genome> out;
  if (config_.sampling == "sandwich") {
    out.push_back(space_.largest());
    out.push_back(space_.smallest());
    for (int64_t i = 2; i < config_.subnets; ++i) out.push_back(space_.sample(rng));
  } else if (config_.sampling == "sortednet") {
    std::uniform_int_distribution<size_t> pick(0, nested_.size() - 1);
    std::vector<size_t> levels;
    for (int64_t i = 0; i < config_.subnets; ++i) levels.push_back(pick(rng));
    std::sort(levels.begin(), levels.end());
    for (const auto l : levels) out.push_back(nested_[l]);
  } else {
    for (int64_t i = 0; i < config_.subnets; ++i) out.push_back(space_.sample(rng));
  }
  return out;
}

objectives::LossParts SupernetObjective::loss(models::ModelImpl& model, const data::Batch& batch, bool training) {
  if (!training) {
    models::set_subnet(model, {});
    return inner_->loss(model, batch, false);
  }
  const auto genomes = sample();
  objectives::LossParts total;
  const double share = 1.0 / static_cast<double>(genomes.size());
  torch::Tensor teacher;  // in-place distillation: the largest sub-network's logits
  for (size_t i = 0; i < genomes.size(); ++i) {
    models::set_subnet(model, to_subnet(genomes[i]));
    objectives::LossParts part;
    if (!config_.inplace_distill) {
      part = inner_->loss(model, batch, true);
    } else {
      const auto out = model.forward(batch);
      part = inner_->compute(out, batch);  // the labels' loss and the metrics, logged for every sub-network
      if (i == 0) {
        teacher = out.logits.detach().to(torch::kFloat32);
      } else {
        part.loss_sum = kd_sum(out.logits, teacher, batch);
      }
    }
    total.loss_sum = total.loss_sum.defined() ? total.loss_sum + part.loss_sum * share : part.loss_sum * share;
    total.targets = part.targets;
    for (auto& [k, v] : part.sums) total.sums[k] = total.sums.count(k) ? total.sums[k] + v * share : v * share;
  }
  models::set_subnet(model, {});
  return total;
}

}  // namespace ptm::nas
