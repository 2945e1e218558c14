// Node -> YAML text (for `ptm config`, config.yaml in run directories and dumps).
#pragma once
#include <string>

#include "ptm/config/node.h"

namespace ptm::config {

// Block-style YAML that parse_yaml reads back to the same values (quoted strings stay quoted).
std::string to_yaml(const Node& n);

}  // namespace ptm::config
