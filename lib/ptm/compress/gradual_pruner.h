// Pruning while the model trains (a `prune:` section in ptm pretrain | finetune | distill).
// Unstructured: at steps start_step, start_step + every, ... and end_step the target weights
// are pruned to the sparsity of the cubic schedule of Zhu & Gupta (2017),
//   s(t) = s_f + (s_i - s_f) (1 - (t - start) / (end - start))^3,
// each step pruning more of what the criterion scores lowest, never bringing back a weight
// pruned before. N:M: the mask is set once, at start_step. Steps count the optimizer steps
// done (step 0: before the first). Pruned weights stay exactly zero: their gradients are
// masked and the weights masked again after every optimizer step (an optimizer's moments from
// before a weight was pruned would move it). The masks are saved in every checkpoint
// (masks.safetensors), so a resumed run continues bit for bit.
//
// In rounds (prune.rounds): at the end of round r (step r x round_steps, after its evaluation
// and checkpoint, before the next optimizer step: before_step) the target weights
// are pruned to 1 - (1 - sparsity)^(r / rounds), each round removing the same share of the
// weights still there, masks nested as above. With prune.rewind to step k, the model's
// trainable weights are copied at step k (weight_snapshot.h); after each round's pruning they
// are copied back (pruned ones staying zero), the optimizer state starts from zero and the LR
// schedule restarts at step k: every round after the first, and the sparse model after the
// last, runs the schedule from its position at step k to its end as a run of k + (its steps)
// steps would; the first round runs it over its round_steps. The copy is in every checkpoint.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "ptm/compress/prune_config.h"
#include "ptm/compress/targets.h"
#include "ptm/compress/weight_snapshot.h"
#include "ptm/train/step_hook.h"

namespace ptm::compress {

// The schedule's sparsity at `step` (initial before start, final from end on).
double cubic_sparsity(double initial, double final, int64_t start, int64_t end, int64_t step);

// The sparsity after round `round` of `rounds` that end at `final`: 1 - (1 - final)^(round / rounds).
double round_sparsity(double final, int64_t rounds, int64_t round);

// The recipe checks that need no model: ConfigError naming the key (granularity structured,
// data-driven criteria, recover, a schedule that ends after train.max_steps or not after it starts,
// rounds that do not end before train.max_steps).
void check_training_prune(const PruneConfig& c, int64_t max_steps);

class GradualPruner : public train::StepHook {
 public:
  // `targets` of `model` (checked_targets), which lives on its device already. `model` is
  // needed when the section rewinds weights.
  GradualPruner(const PruneConfig& c, Targets targets, int64_t max_steps, uint64_t seed,
                models::ModelImpl* model = nullptr);

  // Whether it prunes after step `step` (rounds: before the next step).
  bool prunes_at(int64_t step) const;
  double sparsity() const { return sparsity_; }  // of the target weights now
  int64_t round() const { return round_; }         // pruning rounds done (prune.rounds)
  const std::map<std::string, torch::Tensor>& masks() const { return masks_; }

  void start(int64_t step, bool resumed) override;
  void after_step(int64_t step) override;
  void before_step(int64_t step) override;
  std::string file() const override { return "masks.safetensors"; }
  models::NamedTensors state() const override;
  void load(const models::NamedTensors& state) override;
  void add_metrics(nlohmann::json& record) const override;
  bool resets_optimizer(int64_t step) const override;
  LrPosition lr_position(int64_t step, int64_t max_steps) const override;

 private:
  void prune(int64_t step);
  void measure();  // sparsity_ from the masks


  PruneConfig c_;
  Targets targets_;
  int64_t end_;
  uint64_t seed_;
  std::map<std::string, torch::Tensor> masks_;  // updated in place: the gradient hooks hold them
  double sparsity_ = 0;
  int64_t round_ = 0;
  std::unique_ptr<WeightSnapshot> rewind_;  // null: no weights rewound
};

}  // namespace ptm::compress
