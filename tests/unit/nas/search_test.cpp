// The search loop on a synthetic problem: two conflicting objectives (size, and distance from
// a mid-sized target genome) and a size budget. Determinism under a seed, exact resume of a
// killed search, Deb's constraint handling, NSGA-II against random search, and the writers.
#include "ptm/nas/search.h"

#include <cmath>
#include <cstdlib>
#include <set>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"

using namespace ptm::nas;
using ptm::test::contains;
using ptm::test::error_of;
using ptm::test::read_text;
using ptm::test::TempDir;

namespace {

SearchSpace space() {
  SearchSpace s;
  s.n_layer = 8;
  s.heads = {1, 2, 3, 4, 6, 8};
  s.inner = {32, 64, 96, 128, 192, 256};
  s.min_depth = 2;
  return s;
}

const Genome& target() {
  static const Genome t = Genome::parse("4/128,4/128,6/192,6/192,4/128,4/128,-,-", "target");
  return t;
}

double layer_size(const LayerGene& l) { return static_cast<double>(l.heads) / 8 + static_cast<double>(l.inner) / 256; }

// Objectives (size, distance from target); infeasible above a size budget, by the excess.
struct Synthetic {
  int calls = 0;
  double budget = 12;
  Evaluation operator()(const Genome& g) {
    ++calls;
    double size = 0, dist = 0;
    for (size_t i = 0; i < g.layers.size(); ++i) {
      size += layer_size(g.layers[i]);
      const auto& a = g.layers[i];
      const auto& b = target().layers[i];
      dist += std::abs(static_cast<double>(a.heads - b.heads)) / 8 + std::abs(static_cast<double>(a.inner - b.inner)) / 256;
    }
    Evaluation e;
    e.objectives = {size, dist};
    if (size > budget) {
      e.feasible = false;
      e.violation = size - budget;
      e.why = "size " + std::to_string(size) + " > " + std::to_string(budget);
      e.objectives.clear();  // an infeasible point need not be measured
    }
    return e;
  }
};

SearchOptions options(uint64_t seed, const std::string& algorithm = "nsga2") {
  SearchOptions o;
  o.algorithm = algorithm;
  o.population = 12;
  o.generations = 8;
  o.seed = seed;
  o.hv_reference = {16.5, 16.5};  // beyond the largest size (16) and distance
  return o;
}

void check_same(const SearchResult& a, const SearchResult& b) {
  REQUIRE(a.evaluated.size() == b.evaluated.size());
  for (size_t i = 0; i < a.evaluated.size(); ++i) {
    INFO(i);
    CHECK(a.evaluated[i].genome == b.evaluated[i].genome);
    CHECK(a.evaluated[i].eval.objectives == b.evaluated[i].eval.objectives);
    CHECK(a.evaluated[i].eval.feasible == b.evaluated[i].eval.feasible);
    CHECK(a.evaluated[i].generation == b.evaluated[i].generation);
  }
  CHECK(a.front == b.front);
  CHECK(a.hypervolume_per_generation == b.hypervolume_per_generation);
}

struct Killed {};

}  // namespace

TEST_CASE("a search is deterministic under its seed and evaluates each genome once", "[unit][nas]") {
  for (const std::string algo : {"nsga2", "random"}) {
    INFO(algo);
    Synthetic f1, f2, f3;
    const auto a = run_search(space(), options(1, algo), std::ref(f1), "");
    const auto b = run_search(space(), options(1, algo), std::ref(f2), "");
    const auto c = run_search(space(), options(2, algo), std::ref(f3), "");
    check_same(a, b);
    bool differs = a.evaluated.size() != c.evaluated.size();
    for (size_t i = 0; !differs && i < a.evaluated.size(); ++i) differs = a.evaluated[i].genome != c.evaluated[i].genome;
    CHECK(differs);
    // The budget: population * generations draws, each distinct genome evaluated once.
    CHECK(f1.calls == static_cast<int>(a.evaluated.size()));
    CHECK(a.evaluated.size() <= 12 * 8);
    CHECK(a.evaluated.size() >= 12 * 8 * 9 / 10);  // repeats are rare: new genomes are drawn first
    std::set<Genome> distinct;
    for (const auto& p : a.evaluated) {
      CHECK(space().check(p.genome).empty());
      distinct.insert(p.genome);
      CHECK((p.generation >= 0 && p.generation < 8));
    }
    CHECK(distinct.size() == a.evaluated.size());
    CHECK(a.evaluated.front().generation == 0);
    CHECK(a.evaluated.back().generation == 7);
    // The archive's hypervolume never falls.
    REQUIRE(a.hypervolume_per_generation.size() == 8);
    for (size_t g = 1; g < 8; ++g) CHECK(a.hypervolume_per_generation[g] >= a.hypervolume_per_generation[g - 1]);
  }
}

TEST_CASE("the front holds only feasible non-dominated points, and infeasible ones are kept as evaluated", "[unit][nas]") {
  Synthetic f;
  f.budget = 5;  // about a third of the space's sizes
  const auto r = run_search(space(), options(3), std::ref(f), "");
  size_t infeasible = 0;
  for (const auto& p : r.evaluated) infeasible += !p.eval.feasible;
  CHECK(infeasible > 0);
  REQUIRE_FALSE(r.front.empty());
  for (size_t i : r.front) {
    CHECK(r.evaluated[i].eval.feasible);
    for (const auto& p : r.evaluated)
      if (p.eval.feasible) {
        const auto& a = p.eval.objectives;
        const auto& b = r.evaluated[i].eval.objectives;
        CHECK_FALSE((a[0] <= b[0] && a[1] <= b[1] && (a[0] < b[0] || a[1] < b[1])));
      }
  }
  // Feasibility drives selection: later generations of NSGA-II breed mostly feasible genomes.
  size_t late = 0, late_feasible = 0;
  for (const auto& p : r.evaluated)
    if (p.generation >= 4) ++late, late_feasible += p.eval.feasible;
  CHECK(late_feasible * 10 >= late * 8);
  // Nothing under the budget: an empty front, said by the caller.
  Synthetic none;
  none.budget = -1;
  const auto empty = run_search(space(), options(3), std::ref(none), "");
  CHECK(empty.front.empty());
  CHECK(empty.hypervolume_per_generation.back() == 0.0);
}

TEST_CASE("a killed search resumes from its last finished generation and ends as if uninterrupted", "[unit][nas]") {
  TempDir dir;
  for (const std::string algo : {"nsga2", "random"}) {
    INFO(algo);
    Synthetic whole_f;
    const auto whole = run_search(space(), options(5, algo), std::ref(whole_f), dir.file(algo + "-whole.json"));
    const std::string state = dir.file(algo + "-killed.json");
    Synthetic first;
    int64_t last_seen = -1;
    CHECK_THROWS_AS(run_search(space(), options(5, algo), std::ref(first), state,
                               [&](int64_t g, const SearchResult&) {
                                 last_seen = g;
                                 if (g == 2) throw Killed{};
                               }),
                    Killed);
    CHECK(last_seen == 2);
    Synthetic second;
    std::vector<int64_t> resumed_generations;
    const auto resumed = run_search(space(), options(5, algo), std::ref(second), state,
                                    [&](int64_t g, const SearchResult&) { resumed_generations.push_back(g); });
    CHECK(resumed_generations == std::vector<int64_t>{3, 4, 5, 6, 7});
    check_same(resumed, whole);
    // Nothing was evaluated twice across the two processes.
    CHECK(first.calls + second.calls == whole_f.calls);
    // A finished search returns its result without evaluating anything.
    Synthetic third;
    check_same(run_search(space(), options(5, algo), std::ref(third), state), whole);
    CHECK(third.calls == 0);
    // More generations continue a finished search.
    SearchOptions more = options(5, algo);
    more.generations = 10;
    Synthetic fourth, longer_f;
    const auto continued = run_search(space(), more, std::ref(fourth), state);
    check_same(continued, run_search(space(), more, std::ref(longer_f), ""));
  }
}

TEST_CASE("a search state from other settings is refused, naming what differs", "[unit][nas]") {
  TempDir dir;
  const std::string state = dir.file("state.json");
  Synthetic f;
  run_search(space(), options(5), std::ref(f), state);
  SearchOptions other = options(5);
  other.population = 10;
  const std::string msg = error_of([&] { run_search(space(), other, std::ref(f), state); });
  CHECK(contains(msg, state));
  CHECK(contains(msg, "population 12 there, 10 now"));
  SearchSpace wider = space();
  wider.min_depth = 1;
  CHECK(contains(error_of([&] { run_search(wider, options(5), std::ref(f), state); }), "space"));
  SearchOptions fewer = options(5);
  fewer.generations = 4;
  CHECK(contains(error_of([&] { run_search(space(), fewer, std::ref(f), state); }), "has finished 8"));
  dir.write("bad.json", "{\"format\": ");
  CHECK_THROWS_AS(run_search(space(), options(5), std::ref(f), dir.file("bad.json")), ptm::IoError);
}

TEST_CASE("bad search options name their key", "[unit][nas]") {
  Synthetic f;
  const auto msg = [&](SearchOptions o) { return error_of([&] { run_search(space(), o, std::ref(f), ""); }); };
  SearchOptions o = options(0);
  o.algorithm = "anneal";
  CHECK(contains(msg(o), "search.algorithm: unknown algorithm 'anneal'"));
  o = options(0);
  o.population = 1;
  CHECK(contains(msg(o), "search.population"));
  o = options(0);
  o.generations = 0;
  CHECK(contains(msg(o), "search.generations"));
  o = options(0);
  o.mutation_prob = 1.5;
  CHECK(contains(msg(o), "search.mutation_prob"));
  o = options(0);
  o.hv_reference = {1, 2, 3};
  CHECK(contains(msg(o), "search.hv_reference: has 3 values for 2 objectives"));
  SearchSpace s = space();
  s.heads.clear();
  CHECK(contains(error_of([&] { run_search(s, options(0), std::ref(f), ""); }), "space.heads: empty"));
}

TEST_CASE("NSGA-II finds a front with more hypervolume than random search at the same budget", "[unit][nas]") {
  for (uint64_t seed : {11, 12, 13}) {
    INFO(seed);
    Synthetic a, b;
    const auto nsga = run_search(space(), options(seed, "nsga2"), std::ref(a), "");
    const auto random = run_search(space(), options(seed, "random"), std::ref(b), "");
    CHECK(a.calls <= b.calls);  // no more evaluations than the baseline
    const double hv_n = nsga.hypervolume_per_generation.back(), hv_r = random.hypervolume_per_generation.back();
    INFO("nsga2 " << hv_n << " random " << hv_r);
    CHECK(hv_n > hv_r);
  }
}

TEST_CASE("search results are written as CSV and JSON with named objectives", "[unit][nas]") {
  TempDir dir;
  Synthetic f;
  f.budget = 6;
  SearchOptions o = options(4);
  o.generations = 2;
  const auto r = run_search(space(), o, std::ref(f), "");
  write_points_csv(dir.file("front.csv"), r, {"size", "distance"}, true);
  write_points_csv(dir.file("all.csv"), r, {"size", "distance"}, false);
  const std::string front = read_text(dir.file("front.csv")), all = read_text(dir.file("all.csv"));
  CHECK(front.rfind("genome,size,distance,feasible,generation,why\n", 0) == 0);
  size_t rows = 0;
  for (char c : all) rows += c == '\n';
  CHECK(rows == r.evaluated.size() + 1);
  const auto& p = r.evaluated[r.front[0]];
  CHECK(contains(front, "\"" + p.genome.str() + "\","));  // genomes hold commas: quoted
  CHECK(contains(all, ",false,"));
  const auto j = result_json(r, {"size", "distance"});
  REQUIRE(j["front"].size() == r.front.size());
  CHECK(j["front"][0]["index"] == r.front[0]);
  CHECK(j["front"][0]["genome"] == p.genome.str());
  CHECK(j["front"][0]["objectives"]["size"].get<double>() == p.eval.objectives[0]);
  CHECK(j["evaluated"].size() == r.evaluated.size());
  CHECK(j["objectives"] == nlohmann::json({"size", "distance"}));
  CHECK_THROWS_AS(result_json(r, {"size"}), std::invalid_argument);
}

TEST_CASE("a search on three objectives keeps a 3-D front and its hypervolume", "[unit][nas]") {
  Synthetic base;
  base.budget = 100;
  const Evaluate three = [&](const Genome& g) {
    Evaluation e = base(g);
    e.objectives.push_back(std::abs(static_cast<double>(g.depth() - 5)));  // a third, discrete objective
    return e;
  };
  SearchOptions o = options(9);
  o.hv_reference = {16.5, 16.5, 7};
  const auto r = run_search(space(), o, three, "");
  REQUIRE_FALSE(r.front.empty());
  for (size_t i : r.front)
    for (const auto& p : r.evaluated) {
      const auto& a = p.eval.objectives;
      const auto& b = r.evaluated[i].eval.objectives;
      CHECK_FALSE((a[0] <= b[0] && a[1] <= b[1] && a[2] <= b[2] && a != b));
    }
  REQUIRE(r.hypervolume_per_generation.size() == 8);
  CHECK(r.hypervolume_per_generation.front() > 0);
  CHECK(r.hypervolume_per_generation.back() >= r.hypervolume_per_generation.front());
  CHECK(r.hypervolume_per_generation.back() < 16.5 * 16.5 * 7);
}

TEST_CASE("a screened NSGA-II search evaluates only the offspring its screen keeps, and resumes to the same result", "[unit][nas]") {
  // The screen keeps the candidates nearest the target (what a good predictor of the distance would do).
  const auto distance = [](const Genome& g) {
    double d = 0;
    for (size_t i = 0; i < g.layers.size(); ++i)
      d += std::abs(static_cast<double>(g.layers[i].heads - target().layers[i].heads)) +
           std::abs(static_cast<double>(g.layers[i].inner - target().layers[i].inner)) / 32;
    return d;
  };
  std::set<Genome> kept;
  std::vector<size_t> pool_sizes;
  SearchOptions o = options(4);
  o.oversample = 3;
  o.screen = [&](const std::vector<Genome>& pool, size_t keep, const SearchResult& so_far) {
    for (const auto& c : pool)
      for (const auto& p : so_far.evaluated) CHECK(c != p.genome);  // only new genomes are offered
    pool_sizes.push_back(pool.size());
    std::vector<size_t> order(pool.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return distance(pool[a]) < distance(pool[b]); });
    order.resize(keep);
    for (size_t i : order) kept.insert(pool[i]);
    return order;
  };
  Synthetic f;
  const auto screened = run_search(space(), o, std::ref(f), "");
  REQUIRE(pool_sizes.size() == 7);  // generations 1..7
  for (size_t n : pool_sizes) CHECK((n > 12 && n <= 36));
  CHECK(screened.evaluated.size() <= 12 * 8);  // the same evaluation budget
  for (const auto& p : screened.evaluated)
    if (p.generation > 0) CHECK(kept.count(p.genome) == 1);
  // Steered towards the target, the screened search ends nearer to it than the plain one.
  Synthetic g;
  const auto plain = run_search(space(), options(4), std::ref(g), "");
  const auto nearest = [&](const SearchResult& r) {
    double best = 1e9;
    for (const auto& p : r.evaluated) best = std::min(best, distance(p.genome));
    return best;
  };
  CHECK(nearest(screened) < nearest(plain));

  // Killed after generation 3 and started again: the same result; a state saved with other
  // oversampling is refused.
  TempDir tmp;
  const std::string state = tmp.file("state.json");
  Synthetic first;
  CHECK_THROWS_AS(run_search(space(), o, std::ref(first), state,
                             [](int64_t gen, const SearchResult&) {
                               if (gen == 3) throw Killed{};
                             }),
                  Killed);
  Synthetic second;
  check_same(run_search(space(), o, std::ref(second), state), screened);
  SearchOptions other = o;
  other.oversample = 2;
  Synthetic third;
  CHECK_THROWS_AS(run_search(space(), other, std::ref(third), state), ptm::ConfigError);
  SearchOptions resettled = o;
  resettled.screen_settings = "another predictor";
  CHECK_THROWS_AS(run_search(space(), resettled, std::ref(third), state), ptm::ConfigError);
  CHECK(third.calls == 0);
}
