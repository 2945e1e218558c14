// Unstructured and N:M pruning of the target Linear weights: each weight scored by the
// criterion, masked by scope (layer, row, global) or N:M along the input dimension, and the
// pruned weights set to exactly zero.
#pragma once
#include <map>
#include <string>

#include "ptm/compress/calibration.h"
#include "ptm/compress/criteria.h"
#include "ptm/compress/prune_config.h"
#include "ptm/compress/targets.h"

namespace ptm::compress {

// The masks (1 kept, 0 pruned) by target name, already applied to the weights. With
// `previous` masks (gradual pruning), what they pruned stays pruned: those weights score
// below every other.
std::map<std::string, torch::Tensor> prune_unstructured(const PruneConfig& c, Criterion& criterion,
                                                        const Targets& targets,
                                                        const std::map<std::string, LayerStats>& stats,
                                                        const std::map<std::string, torch::Tensor>* previous = nullptr);

// The Linear layers an unstructured or N:M prune acts on: ConfigError naming prune.targets when
// none matches, prune.m when it does not divide a layer's input width.
Targets checked_targets(const PruneConfig& c, models::ModelImpl& model);

// weight *= mask for each named target (masks on the weights' device or moved there).
void apply_masks(const Targets& targets, const std::map<std::string, torch::Tensor>& masks);

}  // namespace ptm::compress
