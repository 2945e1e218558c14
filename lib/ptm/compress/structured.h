// Structured pruning: whole units of a prunable axis (axes.h) ranked by the criterion's scores
// summed over every weight the unit owns in its coupled Linear weights, the lowest removed
// per layer (scope layer) or across layers (scope global).
#pragma once
#include <map>
#include <string>

#include "ptm/compress/axes.h"
#include "ptm/compress/calibration.h"
#include "ptm/compress/criteria.h"
#include "ptm/compress/prune_config.h"

namespace ptm::compress {

// Scores of every unit [units] per layer of `axis`. `stats` keyed by module name (the
// coupled weight's name without ".weight").
std::vector<torch::Tensor> unit_scores(const PrunableAxis& axis, models::ModelImpl& model, Criterion& criterion,
                                       const std::map<std::string, LayerStats>& stats);

// Kept units for every axis of c.structured. ConfigError naming prune.structured.<axis> when
// the model has no such axis or a layer would lose every unit.
KeptUnits select_units(const PruneConfig& c, models::ModelImpl& model, Criterion& criterion,
                       const std::map<std::string, LayerStats>& stats);

// The masked twin of shrink(): zeroes, in place, the coupled slices of every unit not kept.
void zero_units(models::ModelImpl& model, const KeptUnits& kept);

// The Linear modules whose weights the axes of c.structured score (for calibration).
Targets scored_modules(const PruneConfig& c, models::ModelImpl& model);

}  // namespace ptm::compress
