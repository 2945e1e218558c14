// Unit scores, unit selection and masking along prunable axes.
#include "ptm/compress/structured.h"

#include <algorithm>
#include <set>

#include "ptm/compress/masks.h"
#include "ptm/core/errors.h"
#include "ptm/core/text.h"

namespace ptm::compress {
namespace {

std::string module_of(const std::string& tensor) { return tensor.substr(0, tensor.rfind('.')); }

const PrunableAxis* find_axis(const std::vector<PrunableAxis>& axes, const std::string& name) {
  for (const auto& a : axes)
    if (a.name == name) return &a;
  return nullptr;
}

std::vector<int64_t> complement(int64_t units, const std::set<int64_t>& removed) {
  std::vector<int64_t> kept;
  for (int64_t u = 0; u < units; ++u)
    if (!removed.count(u)) kept.push_back(u);
  return kept;
}

}  // namespace

std::vector<torch::Tensor> unit_scores(const PrunableAxis& axis, models::ModelImpl& model, Criterion& criterion,
                                       const std::map<std::string, LayerStats>& stats) {
  static const LayerStats none;
  const auto params = model.named_parameters();
  std::vector<torch::Tensor> out;
  for (const auto& layer : axis.layers) {
    auto total = torch::zeros({layer.units}, torch::kFloat);
    for (const auto& c : layer.tensors) {
      if (!c.scored) continue;
      const auto it = stats.find(module_of(c.tensor));
      const auto s = criterion.scores(params[c.tensor], it == stats.end() ? none : it->second).cpu();  // [out, in]
      const auto along = s.sum(1 - c.dim);                                                             // [size(dim)]
      for (const auto off : c.offsets)
        total += along.slice(0, off, off + layer.units * c.width).view({layer.units, c.width}).sum(1);
    }
    out.push_back(total);
  }
  return out;
}

KeptUnits select_units(const PruneConfig& c, models::ModelImpl& model, Criterion& criterion,
                       const std::map<std::string, LayerStats>& stats) {
  const auto axes = prunable_axes(model);
  KeptUnits kept;
  for (const auto& amount : c.structured) {
    const auto* axis = find_axis(axes, amount.axis);
    const std::string key = "prune.structured." + amount.axis;
    if (!axis) {
      std::vector<std::string> names;
      for (const auto& a : axes) names.push_back(a.name);
      throw ConfigError(amount.origin, key,
                        "the " + model.arch() + " model has no prunable axis '" + amount.axis + "' (" +
                            (names.empty() ? std::string("it declares none") : "axes: " + text::join(names, ", ")) +
                            ")");
    }
    const auto scores = unit_scores(*axis, model, criterion, stats);
    std::vector<std::set<int64_t>> removed(scores.size());
    if (c.scope == "global") {
      const auto all = torch::cat(scores);
      const int64_t k = pruned_count(amount.fraction, all.numel());
      const auto order = std::get<1>(all.sort(/*stable=*/true, 0, false)).slice(0, 0, k).contiguous();
      const auto* lowest = order.data_ptr<int64_t>();
      std::vector<int64_t> start;
      int64_t offset = 0;
      for (const auto& s : scores) {
        start.push_back(offset);
        offset += s.numel();
      }
      for (int64_t i = 0; i < k; ++i) {
        const int64_t flat = lowest[i];
        const auto l = std::upper_bound(start.begin(), start.end(), flat) - start.begin() - 1;
        removed[l].insert(flat - start[l]);
      }
    } else {
      for (size_t l = 0; l < scores.size(); ++l) {
        const int64_t k = pruned_count(amount.fraction, scores[l].numel());
        const auto order = std::get<1>(scores[l].sort(/*stable=*/true, 0, false)).slice(0, 0, k).contiguous();
        removed[l].insert(order.data_ptr<int64_t>(), order.data_ptr<int64_t>() + k);
      }
    }
    auto& per_layer = kept[amount.axis];
    for (size_t l = 0; l < scores.size(); ++l) {
      per_layer.push_back(complement(axis->layers[l].units, removed[l]));
      if (per_layer.back().empty())
        throw ConfigError(amount.origin, key,
                          "would remove every " + axis->unit + " of layer " + std::to_string(l) + " (scope " + c.scope +
                              ", " + std::to_string(axis->layers[l].units) +
                              " units); lower the share or use scope: layer (removing whole layers is not supported)");
    }
  }
  return kept;
}

void zero_units(models::ModelImpl& model, const KeptUnits& kept) {
  torch::NoGradGuard no_grad;
  auto params = model.named_parameters();
  for (const auto& axis : prunable_axes(model)) {
    const auto it = kept.find(axis.name);
    if (it == kept.end()) continue;
    for (size_t l = 0; l < axis.layers.size(); ++l) {
      const auto& keep = it->second[l];
      std::vector<int64_t> gone;
      for (int64_t u = 0; u < axis.layers[l].units; ++u)
        if (!std::binary_search(keep.begin(), keep.end(), u)) gone.push_back(u);
      if (gone.empty()) continue;
      for (const auto& c : axis.layers[l].tensors) {
        auto t = params[c.tensor];
        t.index_fill_(c.dim, unit_indices(c, gone).to(t.device()), 0.0);
      }
    }
  }
}

Targets scored_modules(const PruneConfig& c, models::ModelImpl& model) {
  std::set<std::string> wanted;
  for (const auto& axis : prunable_axes(model)) {
    bool asked = false;
    for (const auto& a : c.structured) asked = asked || a.axis == axis.name;
    if (!asked) continue;
    for (const auto& layer : axis.layers)
      for (const auto& t : layer.tensors)
        if (t.scored) wanted.insert(module_of(t.tensor));
  }
  Targets out;
  for (const auto& item : model.named_modules("", false))
    if (wanted.count(item.key()))
      if (auto* lin = item.value()->as<models::LinearImpl>()) out.emplace_back(item.key(), lin);
  return out;
}

}  // namespace ptm::compress
