// Recipe differences key by key, as a refused resume lists them.
#include "catch.h"
#include "ptm/config/diff.h"
#include "ptm/config/load.h"

using namespace ptm::config;

TEST_CASE("diff names every changed, added and removed key path with both values", "[unit][config]") {
  const auto before = parse_yaml("train: {batch_size: 8, max_steps: 100}\nmodel: {layers: [1, 2], name: a}\nold: 1\n", "a");
  const auto after = parse_yaml("train: {batch_size: 16, max_steps: 100}\nmodel: {layers: [1, 3], name: a}\nnew: {x: 2}\n", "b");
  std::vector<std::string> lines;
  for (const auto& c : diff(before, after)) lines.push_back(c.str());
  CHECK(lines == std::vector<std::string>{"train.batch_size: 8 -> 16", "model.layers: [1, 2] -> [1, 3]",
                                          "old: 1 -> (absent)", "new: (absent) -> {x: 2}"});
  CHECK(diff(before, before).empty());
}
