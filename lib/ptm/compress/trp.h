// Trained Rank Pruning (Xu et al. 2019, "TRP: Trained Rank Pruning for Efficient Deep Neural
// Networks"): a `prune:` section with granularity low_rank in ptm pretrain | finetune | distill.
// The targets (low_rank.h: the FFN Linears by default) train as full weights, and
//   - every `every` optimizer steps from start_step on, and after the last step, each target
//     weight is replaced by its rank-r truncated SVD W_r (r from prune.rank, or per weight from
//     prune.energy), so the network learns to work in the low-rank space;
//   - with prune.nuclear = lambda > 0, lambda U V^T (the sub-gradient of the nuclear norm
//     ||W||_* at W = U S V^T) is added to each target's gradient at every step, driving the
//     small singular values toward zero between truncations. It is computed once per optimizer
//     step, from the weight the step starts from, and split over the micro-batches.
// With prune.energy each truncation keeps that share of the weight's current energy, so the
// ranks keep falling from one truncation to the next while training does not restore it.
// The weights the run ends with are of rank r exactly; `ptm prune` with granularity low_rank
// (energy: 0.99999, or the rank) then factorises them into two Linears each at no cost.
// The hook's state (each target's last rank) is saved in every checkpoint (trp.safetensors).
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "ptm/compress/prune_config.h"
#include "ptm/compress/targets.h"
#include "ptm/train/step_hook.h"

namespace ptm::compress {

class TrpHook : public train::StepHook {
 public:
  // `targets` (low_rank_targets) of a model that lives on its device already.
  TrpHook(const PruneConfig& c, Targets targets, int64_t max_steps, int64_t grad_accum_steps);

  // Whether the weights are truncated after optimizer step `step`.
  bool truncates_at(int64_t step) const;
  const std::map<std::string, int64_t>& ranks() const { return ranks_; }  // at the last truncation
  double mean_rank() const;

  void start(int64_t step, bool resumed) override;
  void after_step(int64_t step) override;
  std::string file() const override { return "trp.safetensors"; }
  models::NamedTensors state() const override;
  void load(const models::NamedTensors& state) override;
  void add_metrics(nlohmann::json& record) const override;

 private:
  void truncate();
  void refresh_subgradients();  // U V^T of every target weight

  PruneConfig c_;
  Targets targets_;
  int64_t max_steps_, accum_;
  std::map<std::string, int64_t> ranks_;
  std::map<std::string, torch::Tensor> uv_;  // updated in place: the gradient hooks hold them
};

}  // namespace ptm::compress
