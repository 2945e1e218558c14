// Scoring and masking of target weights.
#include "ptm/compress/unstructured.h"

#include "ptm/compress/masks.h"

namespace ptm::compress {

std::map<std::string, torch::Tensor> prune_unstructured(const PruneConfig& c, Criterion& criterion,
                                                        const Targets& targets,
                                                        const std::map<std::string, LayerStats>& stats) {
  static const LayerStats none;
  std::vector<torch::Tensor> scores;
  for (const auto& [name, lin] : targets) {
    const auto it = stats.find(name);
    scores.push_back(criterion.scores(lin->weight, it == stats.end() ? none : it->second));
  }
  std::vector<torch::Tensor> masks;
  if (c.granularity == "nm") {
    for (const auto& s : scores) masks.push_back(nm_mask(s, c.n, c.m));
  } else if (c.scope == "global") {
    masks = global_masks(scores, c.sparsity);
  } else {
    for (const auto& s : scores)
      masks.push_back(c.scope == "row" ? row_mask(s, c.sparsity) : layer_mask(s, c.sparsity));
  }
  std::map<std::string, torch::Tensor> out;
  for (size_t i = 0; i < targets.size(); ++i) out[targets[i].first] = masks[i];
  apply_masks(targets, out);
  return out;
}

void apply_masks(const Targets& targets, const std::map<std::string, torch::Tensor>& masks) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, lin] : targets) {
    const auto it = masks.find(name);
    if (it != masks.end()) lin->weight.mul_(it->second.to(lin->weight.device(), lin->weight.scalar_type()));
  }
}

}  // namespace ptm::compress
