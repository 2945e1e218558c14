// Sorting units by importance along the model's prunable axes.
#include "ptm/compress/reorder.h"

#include "ptm/compress/structured.h"

namespace ptm::compress {

KeptUnits sort_units(models::ModelImpl& model, Criterion& criterion, const std::map<std::string, LayerStats>& stats) {
  torch::NoGradGuard no_grad;
  auto params = model.named_parameters();
  KeptUnits orders;
  for (const auto& axis : prunable_axes(model)) {
    const auto scores = unit_scores(axis, model, criterion, stats);
    for (size_t l = 0; l < axis.layers.size(); ++l) {
      const auto sorted = std::get<1>(scores[l].sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
      const std::vector<int64_t> order(sorted.data_ptr<int64_t>(), sorted.data_ptr<int64_t>() + sorted.numel());
      for (const auto& c : axis.layers[l].tensors) {
        auto t = params[c.tensor];
        t.copy_(t.index_select(c.dim, unit_indices(c, order).to(t.device())));
      }
      orders[axis.name].push_back(order);
    }
  }
  return orders;
}

}  // namespace ptm::compress
