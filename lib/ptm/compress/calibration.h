// Calibration: runs train-split batches through the model and gathers, for each target
// Linear, what data-driven criteria read (criteria.h LayerStats): the sum of squares of each
// input feature over all tokens (through a Linear output hook that changes nothing), and the
// loss gradient of the weight summed over batches (loss = the objective's mean over targets).
#pragma once
#include <map>
#include <string>

#include "ptm/compress/criteria.h"
#include "ptm/compress/targets.h"
#include "ptm/data/dataset.h"
#include "ptm/objectives/objective.h"

namespace ptm::compress {

struct CalibrationOptions {
  bool activations = false;
  bool gradients = false;
  int64_t batches = 8;
};

// Keyed by target name. Leaves the model's gradients cleared and its hooks as they were.
// Returns fewer batches' worth (stats.batches) when the stream ends first.
std::map<std::string, LayerStats> calibrate(models::ModelImpl& model, objectives::Objective& objective,
                                            data::BatchStream& stream, const Targets& targets,
                                            const CalibrationOptions& options, const torch::Device& device);

}  // namespace ptm::compress
