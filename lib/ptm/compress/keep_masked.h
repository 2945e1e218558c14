// Keeps pruned weights at exactly zero while a pruned model trains (ptm prune's recovery,
// pruning during training): a gradient hook on each masked weight multiplies its gradient by
// the mask, so pruned weights get zero gradients. From zero, AdamW's moments stay zero and so
// does its update (0 / (sqrt(0) + eps)); decoupled weight decay scales zero; SGD momentum
// stays zero; clipping and loss scaling multiply. The weights therefore stay exactly zero
// through every optimizer step without the training loop knowing about masks. (A weight
// pruned after its moments grew still moves: gradual_pruner.h masks the weights again.)
#pragma once
#include <map>
#include <string>

#include "ptm/compress/targets.h"

namespace ptm::compress {

// Registers the hooks on the targets that have a mask and a gradient (frozen weights have
// none and do not move). The hooks hold the given mask tensors themselves (moved only when on
// another device than the weight), so a mask updated in place changes what they keep.
void keep_masked(const Targets& targets, const std::map<std::string, torch::Tensor>& masks);

}  // namespace ptm::compress
