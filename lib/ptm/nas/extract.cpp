// Sub-networks extracted through the pruning code's shrink().
#include "ptm/nas/extract.h"

#include <algorithm>

namespace ptm::nas {

compress::Shrunk extract_subnet(models::ModelImpl& model, const models::Subnet& subnet) {
  const auto full = models::full_subnet(model);
  const auto& s = subnet.empty() ? full : subnet;
  const auto first = [](int64_t n) {
    std::vector<int64_t> v(static_cast<size_t>(std::max<int64_t>(n, 1)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i);
    return v;
  };
  const bool heads_axis = [&] {
    for (const auto& a : compress::prunable_axes(model))
      if (a.name == "heads") return true;
    return false;
  }();
  compress::KeptUnits kept;
  kept["layers"].resize(1);
  for (size_t l = 0; l < s.size(); ++l) {
    if (heads_axis) kept["heads"].push_back(first(s[l].skipped() ? full[l].heads : s[l].heads));
    kept["neurons"].push_back(first(s[l].skipped() ? full[l].inner : s[l].inner));
    if (!s[l].skipped()) kept["layers"][0].push_back(static_cast<int64_t>(l));
  }
  return compress::shrink(model, kept);
}

}  // namespace ptm::nas
