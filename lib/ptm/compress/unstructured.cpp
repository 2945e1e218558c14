// Scoring and masking of target weights.
#include "ptm/compress/unstructured.h"

#include "ptm/compress/masks.h"
#include "ptm/core/errors.h"

namespace ptm::compress {

std::map<std::string, torch::Tensor> prune_unstructured(const PruneConfig& c, Criterion& criterion,
                                                        const Targets& targets,
                                                        const std::map<std::string, LayerStats>& stats,
                                                        const std::map<std::string, torch::Tensor>* previous) {
  static const LayerStats none;
  std::vector<torch::Tensor> scores;
  for (const auto& [name, lin] : targets) {
    const auto it = stats.find(name);
    auto score = criterion.scores(lin->weight, it == stats.end() ? none : it->second);
    if (previous && previous->count(name))  // scores are >= 0: -1 ranks these first
      score = torch::where(previous->at(name).to(score.device()) > 0, score, torch::full({}, -1.0, score.options()));
    scores.push_back(score);
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

Targets checked_targets(const PruneConfig& c, models::ModelImpl& model) {
  auto targets = select_targets(model, c.targets);
  if (targets.empty())
    throw ConfigError(c.origin, "prune.targets", "match no Linear layer of the " + model.arch() + " model");
  if (c.granularity == "nm") {
    std::vector<Diagnostic> problems;
    for (const auto& [name, lin] : targets) {
      const int64_t in = lin->weight.size(1);
      if (in % c.m != 0)
        problems.push_back({c.origin, "prune.m",
                            std::to_string(c.m) + " does not divide the input width " + std::to_string(in) + " of " +
                                name + " (N:M groups run along the input dimension)"});
    }
    if (!problems.empty()) throw ConfigError(problems);
  }
  return targets;
}

void apply_masks(const Targets& targets, const std::map<std::string, torch::Tensor>& masks) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, lin] : targets) {
    const auto it = masks.find(name);
    if (it != masks.end()) lin->weight.mul_(it->second.to(lin->weight.device(), lin->weight.scalar_type()));
  }
}

}  // namespace ptm::compress
