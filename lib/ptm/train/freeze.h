// The `freeze:` section: which weights stay fixed while the rest train.
//   freeze:
//     backbone: true          # linear probe: only the task head trains
//     embeddings: true        # token/position/patch embeddings (ResNet: the stem)
//     first_layers: 4         # the first k transformer layers (ResNet: stages layer1..k)
//     patterns: ['attention\.self\.key']   # regular expressions searched in parameter names
// Frozen parameters get requires_grad = false, so the optimizer never sees them.
#pragma once
#include <string>
#include <vector>

#include "ptm/config/binder.h"
#include "ptm/models/model.h"

namespace ptm::train {

struct FreezeConfig {
  bool backbone = false;
  bool embeddings = false;
  int64_t first_layers = 0;
  std::vector<std::string> patterns;
  bool empty() const { return !backbone && !embeddings && first_layers == 0 && patterns.empty(); }
};

void bind(config::Section& s, FreezeConfig& c);  // ConfigError naming a pattern that is not a valid regex

// Whether a parameter name belongs to a task head (classifier, MLM/LM head, ResNet fc, ...).
bool is_head_parameter(const std::string& name);
// The transformer layer (or ResNet stage, 0-based) a parameter name belongs to; -1 if none.
int64_t layer_of(const std::string& name);
// Whether a parameter name is an embedding (or a ResNet stem) weight.
bool is_embedding_parameter(const std::string& name);

// Freezes what `c` names and returns the names frozen. ConfigError when `c` would freeze
// every parameter, or a pattern matches nothing (most likely a typo).
std::vector<std::string> apply_freeze(const FreezeConfig& c, models::ModelImpl& model);

}  // namespace ptm::train
