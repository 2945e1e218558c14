// ZeRO stage 1 (Rajbhandari et al. 2020; PyTorch's ZeroRedundancyOptimizer): the optimizer
// state is sharded across the ranks. Every trainable tensor has one owner rank, which keeps its
// AdamW moments and updates it after the gradient all-reduce; the owner then broadcasts the new
// values. Checkpoints hold the whole state, gathered on rank 0, in the same file format as a
// single-process run.
#pragma once
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "ptm/dist/process_group.h"
#include "ptm/models/safetensors.h"

namespace ptm::dist {

struct ZeroShards {
  std::vector<at::Tensor> params;  // every trainable tensor, in the optimizer's order
  std::vector<int> owner;          // owner[i]: the rank that updates params[i]
};

// Owners by greedy balance of element counts, largest tensors first (ties: the lower index),
// the same on every rank.
std::vector<int> assign_owners(const std::vector<at::Tensor>& params, int world);

// After each rank's optimizer step on its own tensors: every tensor from its owner.
void broadcast_from_owners(Group& group, const ZeroShards& shards);

// Every rank's optimizer state (`local`: the tensors this rank owns) on rank 0; other ranks get {}.
models::NamedTensors gather_optimizer_state(Group& group, const models::NamedTensors& local, const at::Device& device);

}  // namespace ptm::dist
