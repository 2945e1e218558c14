// The "models" registry. Each architecture adds its line in register_<arch>() (declared in
// models_sources.cmake's files); nothing registers itself statically.
#include "ptm/config/component.h"
#include "ptm/models/electra.h"
#include "ptm/models/low_rank.h"
#include "ptm/models/model.h"
#include "ptm/models/zoo.h"

namespace ptm::models {

Registry<ModelFactory>& model_registry() {
  static Registry<ModelFactory> registry = [] {
    Registry<ModelFactory> r("model");
    register_zoo(r);
    register_electra(r);
    return r;
  }();
  return registry;
}

namespace {

// model.low_rank: {name: rank}; nested maps (an override model.low_rank.h.0.mlp.c_fc=8 splits
// the name at its dots) are read as the names they spell.
void read_ranks(config::Section& s, const std::string& prefix, std::map<std::string, int64_t>& ranks,
                std::map<std::string, Origin>& origins) {
  for (const auto& key : s.node()->keys()) {
    if (s.node()->find(key)->is_map()) {
      config::Section sub = s.sub(key);
      read_ranks(sub, prefix + key + ".", ranks, origins);
      continue;
    }
    int64_t rank = 0;
    if (s.req(key, rank, "rank of the layer's two factors").min(1).ok()) {
      ranks[prefix + key] = rank;
      origins[prefix + key] = s.where(key);
    }
  }
}

}  // namespace

ModelBuilder parse_model(config::Section s) {
  const auto* entry = config::component_entry(s, model_registry());
  if (!entry) {
    s.finish();
    return nullptr;
  }
  // Every architecture takes `low_rank` (low_rank.h): its Linear layers stored factorised.
  std::map<std::string, int64_t> ranks;
  std::map<std::string, Origin> origins;
  config::Section lr = s.sub("low_rank");
  if (lr.node() && !lr.node()->is_map())
    s.problem("low_rank", "expected a map of Linear layer names to ranks, e.g. {encoder.layer.0.intermediate.dense: 96}");
  else if (lr.node())
    read_ranks(lr, "", ranks, origins);
  auto build = entry->factory(s);
  if (!build || ranks.empty()) return build;
  return [build, ranks, origins] {
    auto model = build();
    apply_low_rank(*model, ranks, origins);
    return model;
  };
}

}  // namespace ptm::models
