// Components: a recipe map with `type:` is built by its area's registry from its other keys.
// component_entry reads `type`, reports a missing or unknown one with the registered names,
// and returns the entry whose factory then binds the remaining keys of the same section.
#pragma once
#include <string>

#include "ptm/config/binder.h"
#include "ptm/core/registry.h"
#include "ptm/core/text.h"

namespace ptm::config {

template <class Factory>
const typename Registry<Factory>::Entry* component_entry(Section& s, const Registry<Factory>& registry,
                                                         const std::string& default_type = "") {
  std::string type = default_type;
  const std::string help = registry.area() + " type, one of: " + text::join(registry.names(), ", ");
  bool ok = default_type.empty() ? s.req("type", type, help).ok() : s.opt("type", type, help).ok();
  if (!ok) return nullptr;
  const auto* entry = registry.find(type);
  if (!entry) {
    s.problem("type", "unknown " + registry.area() + " type '" + type + "'" +
                          text::did_you_mean(type, registry.names()) +
                          "; registered: " + text::join(registry.names(), ", "));
  }
  return entry;
}

}  // namespace ptm::config
