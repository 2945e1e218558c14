// Gradient masking hooks.
#include "ptm/compress/keep_masked.h"

namespace ptm::compress {

void keep_masked(const Targets& targets, const std::map<std::string, torch::Tensor>& masks) {
  for (const auto& [name, lin] : targets) {
    const auto it = masks.find(name);
    if (it == masks.end() || !lin->weight.requires_grad()) continue;
    const auto mask = it->second.to(lin->weight.device());
    lin->weight.register_hook([mask](const torch::Tensor& grad) { return grad * mask.to(grad.scalar_type()); });
  }
}

}  // namespace ptm::compress
