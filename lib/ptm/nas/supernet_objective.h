// Super-network training (the `supernet:` section): the recipe's objective, computed on several
// sub-networks of one batch per step, their losses averaged, so one backward pass sums their
// gradients into the shared weights before the optimizer step. Sampling:
//   sandwich   the largest and the smallest sub-network and subnets - 2 random ones (BigNAS)
//   sortednet  subnets of the space's nested sub-networks, smallest to largest (SortedNet)
//   uniform    subnets random sub-networks
// With inplace_distill (sandwich), the largest sub-network learns from the labels and the
// others from its detached logits (KL at the given temperature, BigNAS/OFA).
// The draws come from torch's CPU generator, whose state checkpoints keep, so a resumed run
// trains the same sub-networks. Evaluation runs the whole model.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ptm/nas/nas_config.h"
#include "ptm/nas/search_space.h"
#include "ptm/objectives/objective.h"

namespace ptm::nas {

class SupernetObjective : public objectives::Objective {
 public:
  SupernetObjective(std::unique_ptr<objectives::Objective> inner, SupernetConfig config);
  void attach(models::ModelImpl& model, const torch::Device& device) override;
  objectives::LossParts loss(models::ModelImpl& model, const data::Batch& batch, bool training) override;
  objectives::LossParts compute(const models::ModelOutput& out, const data::Batch& batch) const override {
    return inner_->compute(out, batch);
  }
  models::NamedTensors parameters() const override { return inner_->parameters(); }
  torch::Tensor count_targets(const data::Batch& batch) const override { return inner_->count_targets(batch); }
  std::string name() const override { return inner_->name(); }
  bool language_model() const override { return inner_->language_model(); }
  double extra_forward_flops(int64_t seq_len) const override { return inner_->extra_forward_flops(seq_len); }
  std::vector<std::string> metric_names() const override { return inner_->metric_names(); }

  // The sub-networks of the next training step (draws from torch's generator).
  std::vector<Genome> sample();
  const SearchSpace& space() const { return space_; }
  // In-place distillation's loss of a sub-network's logits against the largest's, summed as
  // the objective sums its loss (over target tokens, or over examples).
  torch::Tensor kd_sum(const torch::Tensor& logits, const torch::Tensor& teacher, const data::Batch& batch) const;

 private:
  std::unique_ptr<objectives::Objective> inner_;
  SupernetConfig config_;
  SearchSpace space_;
  std::vector<Genome> nested_;  // sortednet
};

}  // namespace ptm::nas
