// The sparsity report of a pruned model (sparsity.json and the console table): zeros per
// target weight, per layer (h.N / layer.N) and over all targets, and the model's parameters
// and nonzero parameters.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "ptm/compress/targets.h"

namespace ptm::compress {

nlohmann::json sparsity_report(models::ModelImpl& model, const Targets& targets);

// One line per layer and a total line, for the log.
std::string sparsity_table(const nlohmann::json& report);

}  // namespace ptm::compress
