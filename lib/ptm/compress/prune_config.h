// The `prune:` recipe section (ptm prune): which weights go, chosen how. Torch-free (recipe.h
// includes it).
//   prune:
//     criterion: wanda          # magnitude | magnitude_l2 | random | wanda | taylor (ptm list criteria)
//     granularity: unstructured # unstructured | nm | structured
//     sparsity: 0.5             # unstructured: share of the target weights set to zero
//     scope: row                # unstructured: layer | row | global; structured: layer | global
//     n: 2                      # nm: keep n of every m consecutive weights along the input dimension
//     m: 4
//     structured: {heads: 0.25, neurons: 0.5}   # structured: share of each axis's units removed
//     targets: [c_fc]           # module-name patterns (peft's); default: every Linear inside the layers
//     calibration_batches: 8    # train-split batches read by data-driven criteria (wanda, taylor)
//     eval_batches: 0           # validation batches evaluated before and after (0: all)
//     recover: false            # then fine-tune with the train:/optimizer:/schedule:/objective:
//                               # sections, pruned weights kept at exactly zero
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
  std::vector<std::string> targets;
  int64_t calibration_batches = 8;
  int64_t eval_batches = 0;
  bool recover = false;
  Origin origin;  // the section, for messages raised once the model is known
};

// Reads a `prune:` section; keys of another granularity are reported.
void bind(config::Section& s, PruneConfig& c);

}  // namespace ptm::compress
