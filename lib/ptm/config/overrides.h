// Command-line overrides: `train.lr=1e-4` sets a value (typed as a YAML scalar, so 1e-4 is a
// float and [1,2] a list), `~train.lr` deletes a key. Applied in order, after the recipe.
#pragma once
#include <string>
#include <vector>

#include "ptm/config/node.h"

namespace ptm::config {

// True for arguments that look like overrides (contain '=' or start with '~').
bool is_override(const std::string& arg);

// Applies every override; all malformed ones are reported together in one ConfigError.
void apply_overrides(Node& root, const std::vector<std::string>& args);

// Sets `value` at the dotted `path`, creating maps on the way (sugar flags use this).
void set_path(Node& root, const std::string& path, Node value);

}  // namespace ptm::config
