// Adversarial fine-tuning (objective "adversarial"): classification trained on a mix of clean
// and PGD-K adversarial inputs (Madry et al. 2018; "A Simple Fine-tuning Is All You Need").
// The attack perturbs the images (in the normalised input space), or for text the word
// embeddings of a bert or gpt model (FreeLB/SMART-style; padding is never perturbed), within
// an L-inf or L2 ball (L2: per example) of radius epsilon, K steps of size step_size from an optional random start; the loss is
// (1 - adv_weight) * clean + adv_weight * adversarial. Evaluation reports clean metrics and
// robust_accuracy under a PGD attack of eval_steps steps.
#pragma once
#include "ptm/objectives/objective.h"

namespace ptm::objectives {

struct PgdOptions {
  double epsilon = 0.1;    // ball radius: normalised pixel units, or embedding units for text
  double step_size = 0.025;
  int64_t steps = 3;       // K during training
  int64_t eval_steps = 10; // K for robust accuracy (0: clean evaluation only)
  bool random_start = true;
  std::string norm = "linf";  // linf | l2
  double adv_weight = 1.0;
};

// The PGD perturbation that raises the model's classification loss, inside the ball: of
// `batch.images` (same shape) for image batches, else of the word embeddings ([B, T, H], zero
// at padding) for token batches; detached. ConfigError when the batch or model has neither. Runs the model in eval mode (batch-norm statistics
// stay clean) with gradients enabled even under a NoGradGuard; parameter gradients untouched.
torch::Tensor pgd_perturbation(models::ModelImpl& model, const data::Batch& batch, const PgdOptions& o, int64_t steps,
                               torch::Generator gen = {});

void register_adversarial(Registry<ObjectiveFactory>& r);

}  // namespace ptm::objectives
