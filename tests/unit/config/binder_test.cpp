// Strict binding: types, ranges, unknown keys with suggestions and lines, defaults recorded,
// every problem reported at once; and the whole-recipe check.
#include "catch.h"
#include "ptm/config/binder.h"
#include "ptm/config/emit.h"
#include "ptm/config/load.h"
#include "ptm/recipes/recipe.h"

using namespace ptm::config;

namespace {

struct Opts {
  int64_t steps = 10;
  double lr = 0.1;
  bool flag = false;
  std::string mode = "a";
  std::vector<int64_t> sizes{1, 2};
};

std::vector<ptm::Diagnostic> bind_text(const std::string& yaml, Opts& o, BindContext& ctx) {
  const Node n = parse_yaml(yaml, "o.yaml");
  Section s(ctx, &n, "opts", {});
  s.opt("steps", o.steps, "steps").min(1);
  s.opt("lr", o.lr, "learning rate").above(0.0).max(1.0);
  s.opt("flag", o.flag, "a flag");
  s.opt("mode", o.mode, "mode").one_of({"a", "b"});
  s.opt("sizes", o.sizes, "sizes");
  s.finish();
  return ctx.problems();
}

std::string messages(const std::vector<ptm::Diagnostic>& d) {
  std::string s;
  for (const auto& x : d) s += x.str() + "\n";
  return s;
}

}  // namespace

TEST_CASE("values convert to the declared types", "[unit][config]") {
  Opts o;
  BindContext ctx;
  const auto p = bind_text("steps: 1e3\nlr: 3e-4\nflag: yes\nmode: b\nsizes: [4, 5, 6]\n", o, ctx);
  INFO(messages(p));
  REQUIRE(p.empty());
  CHECK(o.steps == 1000);
  CHECK(o.lr == Approx(3e-4));
  CHECK(o.flag);
  CHECK(o.mode == "b");
  CHECK(o.sizes == std::vector<int64_t>{4, 5, 6});
}

TEST_CASE("wrong types ranges and unknown keys are all reported with lines", "[unit][config]") {
  Opts o;
  BindContext ctx;
  const auto p = bind_text("steps: \"5\"\nlr: 2\nflag: maybe\nmode: c\nsizes: 3\nstpes: 4\nzzz_other: 1\n", o, ctx);
  REQUIRE(p.size() == 7);
  CHECK(p[0].str() == "o.yaml:1:8: opts.steps: expected an integer, got the string \"5\"");
  CHECK(p[1].str() == "o.yaml:2:5: opts.lr: must be <= 1.0, got 2.0");
  CHECK(p[2].str() == "o.yaml:3:7: opts.flag: expected a boolean (true or false), got 'maybe'");
  CHECK(p[3].str() == "o.yaml:4:7: opts.mode: 'c' is not one of: a, b");
  CHECK(p[4].message == "expected a list whose items are each an integer, got '3'");
  CHECK(p[5].str() == "o.yaml:6:8: opts.stpes: unknown key (did you mean steps?)");
  CHECK(p[6].message.find("unknown key (known keys: steps, lr, flag, mode, sizes)") == 0);
}

TEST_CASE("fractional and out-of-range integers are rejected", "[unit][config]") {
  Opts o;
  BindContext ctx;
  const auto p = bind_text("steps: 1.5\nlr: 0\n", o, ctx);
  REQUIRE(p.size() == 2);
  CHECK(p[0].message == "expected an integer, got '1.5'");
  CHECK(p[1].message == "must be > 0.0, got 0.0");
}

TEST_CASE("absent keys keep defaults and are recorded for the resolved dump", "[unit][config]") {
  Opts o;
  BindContext ctx;
  REQUIRE(bind_text("lr: 0.5\n", o, ctx).empty());
  CHECK(o.steps == 10);
  const Node full = with_defaults(parse_yaml("opts:\n  lr: 0.5\n", "o.yaml"), ctx);
  CHECK(full.find("opts")->find("steps")->text() == "10");
  CHECK(full.find("opts")->find("lr")->text() == "0.5");
  CHECK(full.find("opts")->find("mode")->text() == "a");
}

TEST_CASE("string defaults that look like other types are quoted", "[unit][config]") {
  CHECK(to_node(std::string("1e-4")).quoted());
  CHECK(to_node(std::string("true")).quoted());
  CHECK(to_node(std::string("")).quoted());
  CHECK_FALSE(to_node(std::string("auto")).quoted());
  CHECK(to_node(0.1).text() == "0.1");
  CHECK(to_node(1.0).text() == "1.0");
  CHECK(to_node(3e-4).text() == "0.0003");
}

TEST_CASE("the recipe check covers every section at once", "[unit][config]") {
  const Node n = parse_yaml(
      "run:\n  device: gpu\n  seed: -1\ntrain:\n  max_stpes: 5\n  batch_size: 0\nschedul:\n  type: cosine\n", "r.yaml");
  try {
    ptm::recipes::check(n, "r");
    FAIL("expected ConfigError");
  } catch (const ptm::ConfigError& e) {
    const std::string all = messages(e.diagnostics());
    INFO(all);
    REQUIRE(e.diagnostics().size() == 5);
    CHECK(all.find("r.yaml:2:11: run.device: 'gpu' is not a device") != std::string::npos);
    CHECK(all.find("r.yaml:3:9: run.seed: must be >= 0, got -1") != std::string::npos);
    CHECK(all.find("r.yaml:5:14: train.max_stpes: unknown key (did you mean max_steps?)") != std::string::npos);
    CHECK(all.find("r.yaml:6:15: train.batch_size: must be >= 1, got 0") != std::string::npos);
    CHECK(all.find("r.yaml:7:1: schedul: unknown key (did you mean schedule?)") != std::string::npos);
  }
}

TEST_CASE("the resolved recipe resolves to itself", "[unit][config]") {
  const Node n = parse_yaml("train:\n  max_steps: 7\nschedule:\n  type: cosine\n  warmup_steps: 2\n", "r.yaml");
  const auto first = ptm::recipes::check(n, "demo");
  CHECK(first.run.name == "demo");
  CHECK(first.train.max_steps == 7);
  const Node again = parse_yaml(to_yaml(first.resolved), "resolved.yaml");
  const auto second = ptm::recipes::check(again, "other-name");
  CHECK(same_value(first.resolved, second.resolved));
  CHECK(second.run.name == "demo");  // the dump pins the name
}
