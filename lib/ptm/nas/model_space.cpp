// Search spaces completed and checked against the model.
#include "ptm/nas/model_space.h"

#include <algorithm>

#include "ptm/core/errors.h"

namespace ptm::nas {
namespace {

std::vector<int64_t> quarters(int64_t full) {
  std::vector<int64_t> v;
  for (int64_t k = 1; k <= 4; ++k) v.push_back(std::max<int64_t>(1, (full * k + 3) / 4));
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

SearchSpace model_space(const SpaceConfig& c, models::ModelImpl& model, const std::string& section) {
  models::Subnet full;
  try {
    full = models::full_subnet(model);
  } catch (const RuntimeError& e) {
    throw ConfigError(c.origin, section, e.what());
  }
  for (const auto& l : full)
    if (l.heads != full.front().heads || l.inner != full.front().inner)
      throw ConfigError(c.origin, section,
                        "the model's layers differ in size (" + models::subnet_string(full) +
                            "): an elastic super-network needs equal layers");
  SearchSpace s;
  s.n_layer = static_cast<int64_t>(full.size());
  s.heads = c.heads.empty() ? quarters(full.front().heads) : c.heads;
  s.inner = c.inner.empty() ? quarters(full.front().inner) : c.inner;
  s.min_depth = c.min_depth == 0 ? s.n_layer : c.min_depth;
  s.validate(full.front().heads, full.front().inner, section);
  try {
    models::set_subnet(model, to_subnet(s.smallest()));
    models::set_subnet(model, {});
  } catch (const RuntimeError& e) {
    models::set_subnet(model, {});
    throw ConfigError(c.origin, section, e.what());
  }
  return s;
}

}  // namespace ptm::nas
