// Sorting the units of every prunable axis by importance (ptm nas): units are interchangeable,
// so the model computes the same function afterwards, and the first k heads or neurons of a
// layer are its k most important ones, which is what an elastic sub-network slices.
#pragma once
#include <map>
#include <string>

#include "ptm/compress/axes.h"
#include "ptm/compress/criteria.h"

namespace ptm::compress {

// Reorders, in place, every coupled tensor of every axis the model declares so that each
// layer's units run from the highest score (criterion summed over the unit's weights, as
// structured pruning ranks them) to the lowest; ties keep their order. Returns the new order
// per axis and layer (entry i = the old index of the unit now at i). Call before an optimizer
// holds state for the weights.
KeptUnits sort_units(models::ModelImpl& model, Criterion& criterion, const std::map<std::string, LayerStats>& stats);

}  // namespace ptm::compress
