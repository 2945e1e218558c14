// Registry: add, find, sorted names, duplicates rejected; component type selection.
#include <functional>

#include "catch.h"
#include "ptm/config/component.h"
#include "ptm/config/load.h"
#include "ptm/core/registry.h"

using Factory = std::function<int(int)>;

TEST_CASE("registry finds what was added and lists names sorted", "[unit][core]") {
  ptm::Registry<Factory> r("widget");
  r.add("double", "times two", [](int x) { return 2 * x; });
  r.add("add_one", "plus one", [](int x) { return x + 1; });
  REQUIRE(r.size() == 2);
  REQUIRE(r.find("double") != nullptr);
  CHECK(r.find("double")->factory(21) == 42);
  CHECK(r.find("add_one")->help == "plus one");
  CHECK(r.find("triple") == nullptr);
  CHECK(r.names() == std::vector<std::string>{"add_one", "double"});
}

TEST_CASE("registering a name twice is a programming error", "[unit][core]") {
  ptm::Registry<Factory> r("widget");
  r.add("a", "", [](int x) { return x; });
  CHECK_THROWS_AS(r.add("a", "", [](int x) { return x; }), std::logic_error);
}

TEST_CASE("component_entry reports unknown types with a suggestion", "[unit][core]") {
  ptm::Registry<Factory> r("widget");
  r.add("double", "times two", [](int x) { return 2 * x; });
  const auto node = ptm::config::parse_yaml("w:\n  type: doubel\n", "t.yaml");
  ptm::config::BindContext ctx;
  ptm::config::Section top(ctx, &node, "", {});
  auto s = top.sub("w");
  CHECK(ptm::config::component_entry(s, r) == nullptr);
  REQUIRE(ctx.problems().size() == 1);
  CHECK(ctx.problems()[0].path == "w.type");
  CHECK(ctx.problems()[0].origin.line == 2);
  CHECK(ctx.problems()[0].message.find("did you mean double?") != std::string::npos);
}
