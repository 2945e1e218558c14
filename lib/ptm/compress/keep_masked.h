// Keeps pruned weights at exactly zero while a pruned model trains (ptm prune's recovery):
// a gradient hook on each masked weight multiplies its gradient by the mask, so pruned
// weights get zero gradients. From zero, AdamW's moments stay zero and so does its update
// (0 / (sqrt(0) + eps)); decoupled weight decay scales zero; SGD momentum stays zero;
// clipping and loss scaling multiply. The weights therefore stay exactly zero through every
// optimizer step without the training loop knowing about masks.
#pragma once
#include <map>
#include <string>

#include "ptm/compress/targets.h"

namespace ptm::compress {

// Registers the hooks on the targets that have a mask (masks moved to each weight's device).
void keep_masked(const Targets& targets, const std::map<std::string, torch::Tensor>& masks);

}  // namespace ptm::compress
