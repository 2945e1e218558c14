// Collects the registries of every area for `ptm list`. A new area adds one block here.
#include "ptm/recipes/catalog.h"

#include "ptm/compress/criteria.h"
#include "ptm/compress/layer_prune.h"
#include "ptm/compress/low_rank.h"
#include "ptm/data/dataset.h"
#include "ptm/data/tokenizer_registry.h"
#include "ptm/models/model.h"
#include "ptm/objectives/objective.h"
#include "ptm/optim/schedule.h"
#include "ptm/recipes/recipe.h"

namespace ptm::recipes {
namespace {

template <class Factory>
CatalogArea from_registry(const std::string& name, const std::string& help, const Registry<Factory>& r) {
  CatalogArea area{name, help, {}};
  for (const auto* e : r.entries()) area.entries.push_back({e->name, e->help});
  return area;
}

}  // namespace

std::vector<CatalogArea> catalog() {
  std::vector<CatalogArea> areas;
  CatalogArea secs{"sections", "top-level sections of a recipe", {}};
  for (const auto& s : sections()) secs.entries.push_back({s.name, s.help});
  areas.push_back(secs);
  areas.push_back(from_registry("schedules", "learning-rate schedules (schedule.type)", optim::schedules()));
  areas.push_back(from_registry("data", "data sets (data.type)", data::datasets()));
  areas.push_back(from_registry("objectives", "training objectives (objective.type)", objectives::objectives()));
  areas.push_back(from_registry("models", "model architectures (model.type)", models::model_registry()));
  areas.push_back(from_registry("criteria", "pruning criteria (prune.criterion)", compress::criteria()));
  areas.push_back(from_registry("layer_criteria", "layer criteria (prune.criterion with prune.granularity: layers)",
                                compress::layer_criteria()));
  areas.push_back(from_registry("low_rank_methods",
                                "low-rank factorisations (prune.criterion with prune.granularity: low_rank)",
                                compress::low_rank_methods()));
  areas.push_back(from_registry("tokenizers", "tokenizers (prepare.tokenizer.type)", data::tokenizers()));
  return areas;
}

}  // namespace ptm::recipes
