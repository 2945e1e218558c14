// The `prune:` recipe section (ptm prune): which weights go, chosen how. Torch-free (recipe.h
// includes it).
//   prune:
//     criterion: wanda          # magnitude | magnitude_l2 | random | wanda | taylor (ptm list criteria);
//                               # layers: block_influence | angular | random (ptm list layer_criteria)
//     granularity: unstructured # unstructured | nm | structured | layers | low_rank
//     sparsity: 0.5             # unstructured: share of the target weights set to zero
//     scope: row                # unstructured: layer | row | global; structured: layer | global
//     n: 2                      # nm: keep n of every m consecutive weights along the input dimension
//     m: 4
//     structured: {heads: 0.25, neurons: 0.5}   # structured: share of each axis's units removed
//     remove_layers: 2          # layers: whole layers removed (layer_prune.h)
//     rank: 64                  # low_rank (low_rank.h; criterion svd): the rank kept in every target,
//     energy: 0.9               #   or each target's smallest rank keeping this share of sum s_i^2
//     targets: [c_fc]           # module-name patterns (peft's); default: every Linear inside the layers
//                               # (low_rank: the FFN Linears)
//     calibration_batches: 8    # train-split batches read by data-driven criteria (wanda, taylor)
//     eval_batches: 0           # validation batches evaluated before and after (0: all)
//     recover: false            # then fine-tune with the train:/optimizer:/schedule:/objective:
//                               # sections, pruned weights kept at exactly zero
// The same section in a training recipe (ptm pretrain | finetune | distill) prunes while the
// model trains (gradual_pruner.h): `sparsity` is the final sparsity, reached by the cubic
// schedule of Zhu & Gupta (2017) from
//     initial_sparsity: 0.0     # unstructured: the sparsity of the first pruning step
//     start_step: 0             # the first pruning step (nm: the one step the N:M mask is set)
//     end_step: 1000            # unstructured: the last (default train.max_steps)
//     every: 100                # unstructured: steps between pruning steps
// With granularity low_rank it trains with TRP (trp.h): every `every` steps each target weight
// is replaced by its rank/energy truncation, and
//     nuclear: 0.0001           # low_rank: lambda of the nuclear-norm sub-gradient lambda U V^T
//                               # added to each target's gradient
// or by iterative rounds (gradual_pruner.h): at the end of each round of `round_steps` steps a
// further share of what is left goes, the same share each round (Frankle & Carbin's iterative
// magnitude pruning), so that the last round reaches `sparsity`; after it the sparse model
// trains until train.max_steps. Between rounds the weights either train on (prune, then
// recover) or are rewound (lottery tickets):
//     rounds: 3                 # sparsity after round r: 1 - (1 - sparsity)^(r / rounds)
//     round_steps: 300          # optimizer steps of each round
//     rewind: init              # none (default) | init | {to_step: k, weights: true}: surviving
//                               # weights back to their values at step k (init: step 0), the
//                               # optimizer state reset and the LR schedule restarted at step k;
//                               # weights: false keeps the weights (learning-rate rewinding)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ptm/config/binder.h"

namespace ptm::compress {

// One prunable axis (heads, neurons, ...) and the share of its units removed.
struct AxisAmount {
  std::string axis;
  double fraction = 0.0;
  Origin origin;
};

struct PruneConfig {
  std::string criterion = "magnitude";
  std::string granularity = "unstructured";
  double sparsity = 0.5;
  std::string scope = "layer";
  int64_t n = 2, m = 4;
  std::vector<AxisAmount> structured;
  int64_t remove_layers = 0;
  int64_t rank = 0;      // low_rank: 0 when chosen by energy
  double energy = 0.0;   // low_rank: 0 when chosen by rank
  double nuclear = 0.0;  // low_rank while training (TRP)
  std::vector<std::string> targets;
  int64_t calibration_batches = 8;
  int64_t eval_batches = 0;
  bool recover = false;
  // Pruning during training (only read when given: ptm prune refuses them).
  double initial_sparsity = 0.0;
  int64_t start_step = 0;
  int64_t end_step = -1;  // -1: train.max_steps
  int64_t every = 100;
  int64_t rounds = 0;  // 0: the gradual schedule
  int64_t round_steps = 0;
  int64_t rewind_step = -1;  // -1: no rewinding
  bool rewind_weights = true;
  std::string schedule_key;  // the first of these keys the section gives ("": none)
  Origin schedule_origin;
  Origin origin;  // the section, for messages raised once the model is known
};

// Reads a `prune:` section; keys of another granularity are reported.
void bind(config::Section& s, PruneConfig& c);

}  // namespace ptm::compress
