// Pruning criteria (registry "criteria"): the importance of every weight of a Linear layer,
// higher = kept. Data-driven criteria read what calibration (calibration.h) gathered:
//   magnitude  |W|                          (L1 per weight; a unit's score sums its weights')
//   magnitude_l2  W^2                       (a unit's score: its squared L2 norm)
//   random     uniform [0, 1), seeded       (the baseline every criterion must beat)
//   wanda      |W_ij| * ||X_j||_2           (Sun et al. 2023: activation-aware, no retraining)
//   taylor     |W_ij * G_ij|                (first order: G the loss gradient averaged over
//                                            the calibration batches; Molchanov et al. 2019)
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ptm/core/registry.h"

namespace ptm::compress {

// What calibration gathered for one Linear layer (undefined tensors when not gathered).
struct LayerStats {
  torch::Tensor input_sq;  // [in]: sum over all calibration tokens of x_j^2
  torch::Tensor grad;      // [out, in]: sum over calibration batches of dLoss/dW
  int64_t batches = 0;
};

class Criterion {
 public:
  virtual ~Criterion() = default;
  virtual bool needs_activations() const { return false; }
  virtual bool needs_gradients() const { return false; }
  // weight [out, in] -> scores [out, in], float, >= 0.
  virtual torch::Tensor scores(const torch::Tensor& weight, const LayerStats& stats) = 0;
};

// seed: for criteria that draw random numbers (the run's seed).
using CriterionFactory = std::function<std::unique_ptr<Criterion>(uint64_t seed)>;

Registry<CriterionFactory>& criteria();

// Whether the named criterion reads calibration data (false for unknown names).
bool data_driven(const std::string& name);

}  // namespace ptm::compress
