// Super-network training: several sub-networks per batch.
#include "ptm/nas/supernet_objective.h"

#include <algorithm>
#include <random>

#include "ptm/nas/model_space.h"

namespace ptm::nas {

SupernetObjective::SupernetObjective(std::unique_ptr<objectives::Objective> inner, SupernetConfig config)
    : inner_(std::move(inner)), config_(std::move(config)) {}

void SupernetObjective::attach(models::ModelImpl& model, const torch::Device& device) {
  inner_->attach(model, device);
  space_ = model_space(config_.space, model, "supernet");
  if (config_.sampling == "sortednet")
    nested_ = space_.sorted_nested(static_cast<int64_t>(std::max(space_.heads.size(), space_.inner.size())));
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
  for (const auto& g : genomes) {
    models::set_subnet(model, to_subnet(g));
    auto part = inner_->loss(model, batch, true);
    total.loss_sum = total.loss_sum.defined() ? total.loss_sum + part.loss_sum * share : part.loss_sum * share;
    total.targets = part.targets;
    for (auto& [k, v] : part.sums) total.sums[k] = total.sums.count(k) ? total.sums[k] + v * share : v * share;
  }
  models::set_subnet(model, {});
  return total;
}

}  // namespace ptm::nas
