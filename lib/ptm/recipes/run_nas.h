// `ptm nas search` and `ptm nas export`.
//
// search: loads a trained super-network (init_from), and searches its sub-networks (nas:
// section) for the trade-off between the objectives: an evaluation metric on the validation
// split (sub-network slices evaluated as `ptm eval` does), parameters, and latency measured by
// timing the physically extracted sub-network on the run's device. Writes a run directory:
// config.yaml, cmdline.txt, log.txt, search_state.json (after every generation; a killed
// search started again on the same directory continues from it), points.json (every
// evaluated sub-network and the Pareto front), points.csv, front.csv and summary.json.
//
// export: one sub-network of a search run (or a genome given by hand) as a plain model
// directory like ptm prune's: config.yaml with the per-layer sizes, checkpoints/step_00000000/,
// which `ptm eval --from`, `ptm bench` and init_from.checkpoint take like any run.
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ptm/recipes/recipe.h"
#include "ptm/recipes/run_train.h"

namespace ptm::recipes {

// Returns summary.json's content.
nlohmann::json run_nas_search(const Recipe& recipe, const RunOptions& options);

struct NasExportOptions {
  std::string from;                      // a ptm nas search run directory
  std::string out;                       // the new model's run directory
  std::optional<int64_t> pick;           // the pick-th front point by parameters (0: smallest)
  std::optional<int64_t> max_params;     // the front point with the best metric under this size
  std::optional<double> max_latency_ms;  // ... under this latency
  std::string genome;                    // or this sub-network, e.g. "4/512,-,2/256"
  bool overwrite = false;
  std::vector<std::string> argv;
};

// Returns the exported model's summary.json (genome, parameters, its search measurements).
nlohmann::json run_nas_export(const NasExportOptions& options);

}  // namespace ptm::recipes
