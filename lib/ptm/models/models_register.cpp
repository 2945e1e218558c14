// The "models" registry. Each architecture adds its line in register_<arch>() (declared in
// models_sources.cmake's files); nothing registers itself statically.
#include "ptm/config/component.h"
#include "ptm/models/electra.h"
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

ModelBuilder parse_model(config::Section s) {
  const auto* entry = config::component_entry(s, model_registry());
  if (!entry) {
    s.finish();
    return nullptr;
  }
  return entry->factory(s);
}

}  // namespace ptm::models
