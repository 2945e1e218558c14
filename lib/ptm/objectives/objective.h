// Training objectives (registry "objectives"): turn a model output and its batch into a
// summed loss and the number of targets it covers. The trainer divides by the targets of
// all micro-batches of a step, so gradient accumulation weighs every target equally.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "ptm/config/binder.h"
#include "ptm/core/registry.h"
#include "ptm/data/dataset.h"
#include "ptm/models/model.h"

namespace ptm::objectives {

struct LossParts {
  torch::Tensor loss_sum;  // scalar, summed over targets
  torch::Tensor targets;   // scalar count of targets (int64), on the same device
  std::map<std::string, torch::Tensor> sums;  // extra summed metrics (e.g. "correct"), divided by targets when logged
  // Per-example outputs for metrics over a whole evaluation (F1, MCC, correlations) and the
  // predictions file; left undefined by objectives without them.
  torch::Tensor predictions;    // [N] predicted class ids (int64) or values (float)
  torch::Tensor references;     // [N] gold class ids or values
  torch::Tensor probabilities;  // [N, C] class probabilities, when the objective has classes
};

class Objective {
 public:
  virtual ~Objective() = default;
  // Called once before training or evaluation with the model being trained and the device.
  // Objectives with modules of their own (a teacher, projections, a generator) build or move
  // them here and may check that the model fits (ConfigError naming the key otherwise).
  virtual void attach(models::ModelImpl& model, const torch::Device& device) {
    (void)model;
    (void)device;
  }
  // Forward pass and loss of one batch. `training` is false during evaluation (objectives that
  // corrupt their input then use a fixed seed, so evaluations are comparable). The default runs
  // the model on the batch as it is and scores it with compute().
  virtual LossParts loss(models::ModelImpl& model, const data::Batch& batch, bool training) {
    (void)training;
    return compute(model.forward(batch), batch);
  }
  virtual LossParts compute(const models::ModelOutput& out, const data::Batch& batch) const = 0;
  // Trainable tensors besides the model's (e.g. distillation projections): optimized with the
  // model and saved in checkpoints as objective.safetensors.
  virtual models::NamedTensors parameters() const { return {}; }
  // The targets a batch holds, computed from the batch alone (before the forward pass).
  virtual torch::Tensor count_targets(const data::Batch& batch) const = 0;
  virtual std::string name() const = 0;
  // Whether perplexity makes sense.
  virtual bool language_model() const { return false; }
  // Forward-only FLOPs per sample of T tokens that the objective runs besides the model (a
  // distillation teacher), after attach(); counted by `ptm bench` in flops_per_step and MFU.
  virtual double extra_forward_flops(int64_t seq_len) const {
    (void)seq_len;
    return 0.0;
  }
  // The evaluation metrics this objective reports besides loss (checked against
  // train.best_metric before training); empty: not declared, checked at the first evaluation.
  virtual std::vector<std::string> metric_names() const { return {}; }
};

using ObjectiveBuilder = std::function<std::unique_ptr<Objective>()>;
using ObjectiveFactory = std::function<ObjectiveBuilder(config::Section&)>;

Registry<ObjectiveFactory>& objectives();
ObjectiveBuilder parse_objective(config::Section s, const std::string& default_type);
// An objective of the given type with default options (the subcommand's default).
std::unique_ptr<Objective> make(const std::string& type);

}  // namespace ptm::objectives
