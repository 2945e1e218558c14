// Recipe loading: origins, base: includes (order, nesting, relative paths), cycles, errors.
#include "catch.h"
#include "helpers.h"
#include "ptm/config/emit.h"
#include "ptm/config/load.h"

using namespace ptm::config;
using ptm::ConfigError;
using ptm::IoError;

namespace {
std::string scalar_at(const Node& root, const std::string& a, const std::string& b) {
  const Node* s = root.find(a);
  REQUIRE(s);
  const Node* v = s->find(b);
  REQUIRE(v);
  return v->text();
}

std::vector<ptm::Diagnostic> problems_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.diagnostics();
  }
  FAIL("expected a ConfigError");
  return {};
}
}  // namespace

TEST_CASE("parse_yaml keeps file and line of every value", "[unit][config]") {
  const Node n = parse_yaml("run:\n  name: x\ntrain:\n  max_steps: 10\n  lr: \"3\"\n", "r.yaml");
  const Node* ms = n.find("train")->find("max_steps");
  CHECK(ms->origin().file == "r.yaml");
  CHECK(ms->origin().line == 4);
  CHECK_FALSE(ms->quoted());
  CHECK(n.find("train")->find("lr")->quoted());
  CHECK(n.find("train")->origin().line == 3);  // a block points at its key
}

TEST_CASE("syntax errors and duplicate keys name the line", "[unit][config]") {
  auto p = problems_of([] { parse_yaml("train:\n  max_steps: [1, 2\n", "bad.yaml"); });
  REQUIRE(p.size() == 1);
  CHECK(p[0].origin.file == "bad.yaml");
  CHECK(p[0].origin.line >= 2);
  CHECK(p[0].message.find("YAML syntax error") != std::string::npos);

  p = problems_of([] { parse_yaml("train:\n  a: 1\n  a: 2\n", "dup.yaml"); });
  REQUIRE(p.size() == 1);
  CHECK(p[0].path == "train.a");
  CHECK(p[0].origin.line == 3);
  CHECK(p[0].message == "duplicate key");
}

TEST_CASE("base: fragments merge in order deeply under the body", "[unit][config]") {
  ptm::test::TempDir d;
  d.write("configs/a.yaml", "train:\n  max_steps: 1\n  batch_size: 4\nlist: [1, 2, 3]\n");
  d.write("configs/b.yaml", "train:\n  max_steps: 2\nlist: [9]\n");
  d.write("configs/nested.yaml", "base: b.yaml\nrun:\n  seed: 7\n");
  const auto recipe = d.write("recipes/r.yaml", "base: [../configs/a.yaml, ../configs/nested.yaml]\ntrain:\n  log_every: 5\n");
  const Node n = load_recipe(recipe);
  CHECK(n.find("base") == nullptr);
  CHECK(scalar_at(n, "train", "max_steps") == "2");   // later fragment wins
  CHECK(scalar_at(n, "train", "batch_size") == "4");  // maps merge deeply
  CHECK(scalar_at(n, "train", "log_every") == "5");   // body over fragments
  CHECK(scalar_at(n, "run", "seed") == "7");          // nested include, relative to its file
  REQUIRE(n.find("list")->items().size() == 1);       // lists replace
  CHECK(n.find("train")->find("batch_size")->origin().file.find("a.yaml") != std::string::npos);
}

TEST_CASE("a null in a recipe removes the key its base set", "[unit][config]") {
  ptm::test::TempDir d;
  d.write("configs/a.yaml", "init_from:\n  hf: some/folder\n  strict: true\n");
  const auto recipe = d.write("recipes/r.yaml", "base: ../configs/a.yaml\ninit_from:\n  hf: ~\n  checkpoint: c\nextra: ~\n");
  const Node n = load_recipe(recipe);
  const Node* init = n.find("init_from");
  REQUIRE(init);
  CHECK(init->find("hf") == nullptr);  // inherited, removed
  CHECK(scalar_at(n, "init_from", "checkpoint") == "c");
  CHECK(scalar_at(n, "init_from", "strict") == "true");
  REQUIRE(n.find("extra"));  // a null the base did not set stays (an empty section)
  CHECK(n.find("extra")->kind() == Node::Kind::Null);
}

TEST_CASE("include cycles and missing fragments are reported with the chain", "[unit][config]") {
  ptm::test::TempDir d;
  d.write("x.yaml", "base: y.yaml\n");
  d.write("y.yaml", "base: x.yaml\n");
  auto p = problems_of([&] { load_recipe(d.file("x.yaml")); });
  REQUIRE(p.size() == 1);
  CHECK(p[0].message == "include cycle: x.yaml -> y.yaml -> x.yaml");
  CHECK(p[0].path == "base");

  d.write("self.yaml", "base: [self.yaml]\n");
  p = problems_of([&] { load_recipe(d.file("self.yaml")); });
  CHECK(p[0].message.find("include cycle") != std::string::npos);

  d.write("m.yaml", "run:\n  seed: 1\nbase: nope.yaml\n");
  p = problems_of([&] { load_recipe(d.file("m.yaml")); });
  CHECK(p[0].origin.line == 3);
  CHECK(p[0].message.find("nope.yaml' not found") != std::string::npos);
}

TEST_CASE("a missing or non-map recipe is an input error", "[unit][config]") {
  ptm::test::TempDir d;
  CHECK_THROWS_AS(load_recipe(d.file("absent.yaml")), IoError);
  CHECK_THROWS_AS(load_recipe(d.path()), IoError);
  d.write("list.yaml", "- a\n- b\n");
  CHECK_THROWS_AS(load_recipe(d.file("list.yaml")), ConfigError);
  d.write("empty.yaml", "");
  CHECK(load_recipe(d.file("empty.yaml")).is_map());
}

TEST_CASE("to_yaml output parses back to the same values", "[unit][config]") {
  const std::string text =
      "run:\n  name: demo\n  tag: \"42\"\ntrain:\n  lr: 1e-4\n  sizes: [1, 2, 3]\n  empty: {}\n  none: ~\n"
      "nested:\n  - a: 1\n    b: [x, \"y z\"]\n  - true\n";
  const Node a = parse_yaml(text, "a");
  const Node b = parse_yaml(to_yaml(a), "b");
  CHECK(same_value(a, b));
  CHECK(b.find("run")->find("tag")->quoted());
}
