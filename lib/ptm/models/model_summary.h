// `ptm info --model`: a per-block table of parameters and forward FLOPs for a model preset.
#pragma once
#include <string>

#include "ptm/models/model.h"

namespace ptm::models {

// Formatted table: block, parameters, share, GFLOPs per example at `seq_len`; then totals.
std::string summary_table(const ModelImpl& model, int64_t seq_len);

}  // namespace ptm::models
