// Search spaces: sampling, mutation and crossover stay inside; SortedNet genomes are nested;
// check() and validate() say what is wrong and where.
#include "ptm/nas/search_space.h"

#include <set>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"

using namespace ptm::nas;
using ptm::test::contains;
using ptm::test::error_of;

namespace {

SearchSpace space6() {
  SearchSpace s;
  s.n_layer = 6;
  s.heads = {2, 4, 8};
  s.inner = {64, 128, 256};
  s.min_depth = 3;
  return s;
}

}  // namespace

TEST_CASE("sampled, mutated and crossed genomes stay inside the space and cover it", "[unit][nas]") {
  const SearchSpace s = space6();
  std::mt19937_64 rng(7);
  std::set<int64_t> depths, heads, inner;
  std::set<Genome> distinct;
  Genome prev = s.sample(rng);
  for (int i = 0; i < 500; ++i) {
    const Genome a = s.sample(rng);
    INFO(a.str());
    REQUIRE(s.check(a).empty());
    depths.insert(a.depth());
    for (const auto& l : a.layers) heads.insert(l.heads), inner.insert(l.inner);
    const Genome m = s.mutate(a, 0.5, rng);
    INFO(m.str());
    REQUIRE(s.check(m).empty());
    const Genome c = s.crossover(a, prev, rng);
    INFO(c.str());
    REQUIRE(s.check(c).empty());
    // Every layer of the child comes from one parent, or is a restored layer (depth repair).
    for (size_t l = 0; l < c.layers.size(); ++l)
      CHECK((c.layers[l] == a.layers[l] || c.layers[l] == prev.layers[l] || (!a.kept(l) || !prev.kept(l))));
    distinct.insert(m);
    prev = a;
  }
  CHECK(depths == std::set<int64_t>{3, 4, 5, 6});
  CHECK(heads == std::set<int64_t>{0, 2, 4, 8});  // 0: dropped layers
  CHECK(inner == std::set<int64_t>{0, 64, 128, 256});
  CHECK(distinct.size() > 400);
  // Mutation with p = 0 changes nothing; with p = 1 nearly always something.
  const Genome a = s.sample(rng);
  CHECK(s.mutate(a, 0.0, rng) == a);
  int changed = 0;
  for (int i = 0; i < 50; ++i) changed += s.mutate(a, 1.0, rng) != a;
  CHECK(changed >= 45);
}

TEST_CASE("a space that keeps every layer never drops one", "[unit][nas]") {
  SearchSpace s = space6();
  s.min_depth = 6;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200; ++i) {
    const Genome a = s.sample(rng), b = s.sample(rng);
    REQUIRE(a.depth() == 6);
    REQUIRE(s.mutate(a, 1.0, rng).depth() == 6);
    REQUIRE(s.crossover(a, b, rng).depth() == 6);
  }
}

TEST_CASE("SortedNet genomes are nested from the smallest to the largest", "[unit][nas]") {
  const SearchSpace s = space6();
  CHECK(s.largest().str() == "8/256,8/256,8/256,8/256,8/256,8/256");
  CHECK(s.smallest().str() == "2/64,2/64,2/64,-,-,-");
  const auto n = s.sorted_nested(4);
  REQUIRE(n.size() == 4);
  CHECK(n.front() == s.smallest());
  CHECK(n.back() == s.largest());
  // f = 1/3: depth 3 + round(1) = 4, choice index round(2/3) = 1.
  CHECK(n[1].str() == "4/128,4/128,4/128,4/128,-,-");
  for (size_t i = 1; i < n.size(); ++i) {
    CHECK(s.check(n[i]).empty());
    for (size_t l = 0; l < 6; ++l) {
      CHECK(n[i - 1].layers[l].heads <= n[i].layers[l].heads);
      CHECK(n[i - 1].layers[l].inner <= n[i].layers[l].inner);
    }
  }
  CHECK(s.sorted_nested(1) == std::vector<Genome>{s.largest()});
  CHECK(s.sorted_nested(0).empty());
}

TEST_CASE("check() names the layer and the reason a genome is outside the space", "[unit][nas]") {
  const SearchSpace s = space6();
  CHECK(s.check(Genome::parse("2/64,2/64,2/64,-,-,-", "x")).empty());
  CHECK(contains(s.check(Genome::parse("2/64,2/64,2/64", "x")), "has 3 layers; the model has 6"));
  CHECK(contains(s.check(Genome::parse("2/64,2/64,3/64,-,-,-", "x")), "layer 2: heads 3 not among [2, 4, 8]"));
  CHECK(contains(s.check(Genome::parse("2/64,2/64,2/64,-,2/100,-", "x")), "layer 4: MLP width 100"));
  CHECK(contains(s.check(Genome::parse("2/64,2/64,-,-,-,-", "x")), "keeps 2 layers; min_depth is 3"));
  Genome half = s.largest();
  half.layers[1].inner = 0;  // heads without a width is not a dropped layer
  CHECK(contains(s.check(half), "layer 1: MLP width 0"));
  SearchSpace all = s;
  all.min_depth = 6;
  CHECK(contains(all.check(s.smallest()), "layer 3: dropped, but the space keeps every layer"));
}

TEST_CASE("validate() refuses spaces the model cannot build, naming each key", "[unit][nas]") {
  CHECK_NOTHROW(space6().validate(8, 256, "nas.space"));
  const auto msg = [](SearchSpace s) { return error_of([&] { s.validate(8, 256, "nas.space"); }); };
  SearchSpace s = space6();
  s.heads = {2, 12};
  CHECK(contains(msg(s), "nas.space.heads: head count 12 is above the model's 8"));
  s = space6();
  s.heads = {};
  CHECK(contains(msg(s), "nas.space.heads: empty"));
  s = space6();
  s.inner = {0, 64};
  CHECK(contains(msg(s), "nas.space.inner: MLP width 0 must be positive"));
  s = space6();
  s.inner = {64, 512};
  CHECK(contains(msg(s), "nas.space.inner: MLP width 512 is above the model's 256"));
  s = space6();
  s.inner = {128, 64};
  CHECK(contains(msg(s), "nas.space.inner: must be ascending"));
  s = space6();
  s.min_depth = 0;
  CHECK(contains(msg(s), "nas.space.min_depth: 0 is outside [1, 6]"));
  s.min_depth = 7;
  CHECK(contains(msg(s), "nas.space.min_depth: 7 is outside"));
  // Every problem at once.
  s = space6();
  s.heads = {-1};
  s.min_depth = 0;
  const std::string both = msg(s);
  CHECK(contains(both, "2 problems"));
  CHECK_THROWS_AS(s.validate(8, 256, "nas.space"), ptm::ConfigError);
}
