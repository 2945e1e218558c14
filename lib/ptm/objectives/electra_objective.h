// The `electra` objective: replaced-token detection. The corruption engine masks the input
// (15%, all [MASK] by default), the generator predicts the masked tokens (MLM loss), tokens
// sampled from its distribution replace them, and the discriminator labels every real token
// replaced (1) or original (0). Loss per masked token: generator MLM + lambda x the
// discriminator's mean binary cross entropy (ELECTRA: lambda = 50).
#pragma once
#include <memory>
#include <string>

#include "ptm/models/electra.h"
#include "ptm/objectives/denoising.h"

namespace ptm::objectives {

struct ElectraObjectiveOptions {
  DenoisingOptions masking;  // one denoiser, masked mode
  double discriminator_weight = 50.0;
  double temperature = 1.0;  // sampling temperature of the generator
};

// One ELECTRA step's tensors (exposed for tests).
struct ElectraStep {
  data::Batch masked;             // generator input; targets = original ids at masked positions, -100 elsewhere
  torch::Tensor original;         // [B, T] the uncorrupted ids
  torch::Tensor masked_rows;      // [M] flattened positions of the masked tokens
  torch::Tensor generator_logits; // [M, V] at masked_rows
  torch::Tensor replaced_input;   // [B, T] discriminator input: samples at masked positions
  torch::Tensor labels;           // [B, T] float: 1 where replaced_input != original (real tokens)
  torch::Tensor real;             // [B, T] bool: tokens the discriminator is scored on
  torch::Tensor disc_logits;      // [B, T]
};

class ElectraObjective : public Objective {
 public:
  explicit ElectraObjective(const ElectraObjectiveOptions& o);
  void attach(models::ModelImpl& model, const torch::Device& device) override;
  LossParts loss(models::ModelImpl& model, const data::Batch& batch, bool training) override;
  LossParts compute(const models::ModelOutput& out, const data::Batch& batch) const override;
  torch::Tensor count_targets(const data::Batch& batch) const override;
  std::string name() const override { return "electra"; }

  ElectraStep step(models::ElectraImpl& model, const data::Batch& batch, bool training);
  // The loss of a step (and its metrics).
  LossParts score(const ElectraStep& s) const;

 private:
  ElectraObjectiveOptions o_;
  Denoising masking_;
};

}  // namespace ptm::objectives
