// The Linear layers a prune acts on: those whose name matches one of the recipe's patterns
// (peft's name patterns: name, .suffix, glob, re:regex), or by default every Linear inside
// the repeated layers (h.N., layer.N., layers.N., blocks.N.): not the embeddings, the LM
// head or a task head.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "ptm/models/linear.h"
#include "ptm/models/model.h"

namespace ptm::compress {

using Targets = std::vector<std::pair<std::string, models::LinearImpl*>>;

// In module order. Empty when nothing matches (the caller names the key).
Targets select_targets(models::ModelImpl& model, const std::vector<std::string>& patterns);

}  // namespace ptm::compress
