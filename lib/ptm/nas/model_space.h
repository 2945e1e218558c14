// The search space of an elastic model: the recipe's choices (nas_config.h) completed from
// the model's own sizes and checked against them, and genomes as the model runs them.
#pragma once
#include <string>

#include "ptm/models/elastic.h"
#include "ptm/models/model.h"
#include "ptm/nas/genome.h"
#include "ptm/nas/nas_config.h"
#include "ptm/nas/search_space.h"

namespace ptm::nas {

// Empty choice lists become a quarter, half, three quarters and all of the model's heads and
// MLP width (rounded up, distinct); min_depth 0 becomes every layer. ConfigError naming
// `<section>.heads`, `.inner` or `.min_depth` when a choice is outside the model or the model
// is not elastic (its layers must have equal sizes), or cannot run the smallest sub-network
// (elastic heads with grouped-query attention).
SearchSpace model_space(const SpaceConfig& c, models::ModelImpl& model, const std::string& section);

inline models::Subnet to_subnet(const Genome& g) {
  models::Subnet s;
  for (const auto& l : g.layers) s.push_back({l.heads, l.inner});
  return s;
}

inline Genome to_genome(const models::Subnet& s) {
  Genome g;
  for (const auto& l : s) g.layers.push_back({l.heads, l.inner});
  return g;
}

}  // namespace ptm::nas
