// `ptm bench` end to end: recipe (or model preset + synthetic data that fits the model) ->
// model, objective, optimizer -> one measured configuration per (seq, batch) -> the report
// (report.h) with the environment fingerprint, and the comparison with --compare.
// Torch-free header: apps/ptm/cmd_bench.cpp includes only this.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/bench/options.h"

namespace ptm::bench {

// ConfigError/IoError (exit 2) for bad options, recipes and files; RuntimeError for failures.
// A configuration that runs out of device memory is reported with status "out_of_memory".
nlohmann::json run(const BenchOptions& options, const std::vector<std::string>& argv);

}  // namespace ptm::bench
