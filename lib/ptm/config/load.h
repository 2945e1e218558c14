// Reading recipes: YAML text -> Node with origins, and `base:` includes.
//
// `base:` (a path or a list of paths, relative to the including file) names fragments
// that are merged first, in order; the including file's body is merged over them.
// Include cycles and missing fragments are errors that name the chain and the line.
#pragma once
#include <string>

#include "ptm/config/node.h"

namespace ptm::config {

// Parses one YAML document. Syntax errors and duplicate keys throw ConfigError naming
// `source` and the line.
Node parse_yaml(const std::string& text, const std::string& source);

// Loads a recipe file and resolves its `base:` includes. Throws IoError when `path`
// itself cannot be read and ConfigError for everything wrong inside.
Node load_recipe(const std::string& path);

}  // namespace ptm::config
