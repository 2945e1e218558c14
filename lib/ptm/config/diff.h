// What changed between two recipe trees, key path by key path ("train.batch_size: 8 -> 16"),
// for refusing (or recording) a resume under a different recipe.
#pragma once
#include <string>
#include <vector>

#include "ptm/config/node.h"

namespace ptm::config {

struct Change {
  std::string path;    // "train.batch_size"
  std::string before;  // one-line YAML; "(absent)" when the key was not there
  std::string after;
  std::string str() const { return path + ": " + before + " -> " + after; }
};

// Maps are compared key by key (recursively); scalars, lists and kinds as whole values.
std::vector<Change> diff(const Node& before, const Node& after);

// A value on one line: scalars as written, [a, b] for lists, {k: v} for maps.
std::string one_line(const Node& n);

}  // namespace ptm::config
