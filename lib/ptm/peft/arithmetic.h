// Arithmetic on whole state dicts (named tensors), for soups and task vectors.
#pragma once
#include <string>
#include <vector>

#include "ptm/models/model.h"

namespace ptm::peft {

// Every state must hold the same tensor names with the same shapes as the first; otherwise a
// ConfigError naming labels[i] and the first differences.
void check_same_tensors(const std::vector<models::NamedTensors>& states, const std::vector<std::string>& labels);

// Element-wise mean of the states (floating tensors; others are taken from the first).
models::NamedTensors average(const std::vector<models::NamedTensors>& states);

// base + sum_i coef[i] (finetuned[i] - base): task vectors added, negated or scaled.
models::NamedTensors apply_task_vectors(const models::NamedTensors& base,
                                        const std::vector<models::NamedTensors>& finetuned,
                                        const std::vector<double>& coef);

}  // namespace ptm::peft
