// Supervised objectives for fine-tuning: classification (sequences, pairs, images), token
// classification and regression. They hand their per-example predictions to the evaluator
// (LossParts::predictions/references), which computes F1, MCC, correlations, ...
#pragma once
#include "ptm/objectives/objective.h"

namespace ptm::objectives {

void register_supervised(Registry<ObjectiveFactory>& r);

}  // namespace ptm::objectives
