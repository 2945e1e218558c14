// NSGA-II and random search over genomes, with an evaluation cache and a state file written
// after every generation.
#include "ptm/nas/search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "ptm/core/errors.h"
#include "ptm/nas/nsga2.h"
#include "ptm/nas/search_state.h"

namespace ptm::nas {
namespace {

constexpr int kTries = 10;  // draws for a genome not evaluated yet before taking a repeat

void check_options(const SearchSpace& space, const SearchOptions& o) {
  std::vector<Diagnostic> problems;
  const auto add = [&](const std::string& key, const std::string& msg) {
    problems.push_back({Origin{}, "search." + key, msg});
  };
  if (o.algorithm != "nsga2" && o.algorithm != "random")
    add("algorithm", "unknown algorithm '" + o.algorithm + "'; expected nsga2 or random");
  if (o.population < 2) add("population", "must be at least 2, got " + std::to_string(o.population));
  if (o.generations < 1) add("generations", "must be at least 1, got " + std::to_string(o.generations));
  if (!(o.crossover_prob >= 0 && o.crossover_prob <= 1)) add("crossover_prob", "must be in [0, 1]");
  if (!(o.mutation_prob >= 0 && o.mutation_prob <= 1)) add("mutation_prob", "must be in [0, 1]");
  if (o.oversample < 1) add("oversample", "must be at least 1, got " + std::to_string(o.oversample));
  if (o.oversample > 1 && !o.screen) add("oversample", "needs a screen that picks the candidates to evaluate");
  for (double v : o.hv_reference)
    if (!std::isfinite(v)) add("hv_reference", "must be finite numbers");
  if (!problems.empty()) throw ConfigError(std::move(problems));
  space.validate(std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max(), "space");
}

// Constrained non-dominated sorting of `members` (indices into ev): feasible fronts first,
// then infeasible points in fronts of equal violation, least first. Positions refer to members.
struct Ranking {
  std::vector<std::vector<size_t>> fronts;
  std::vector<size_t> rank;
  std::vector<double> crowd;
};

Ranking rank_members(const std::vector<EvaluatedPoint>& ev, const std::vector<size_t>& members) {
  Ranking r;
  r.rank.assign(members.size(), 0);
  r.crowd.assign(members.size(), 0.0);
  std::vector<size_t> feasible, infeasible;
  std::vector<std::vector<double>> points;
  for (size_t pos = 0; pos < members.size(); ++pos) {
    if (ev[members[pos]].eval.feasible) {
      feasible.push_back(pos);
      points.push_back(ev[members[pos]].eval.objectives);
    } else {
      infeasible.push_back(pos);
    }
  }
  for (const auto& f : non_dominated_sort(points)) {
    std::vector<size_t> front;
    for (size_t i : f) front.push_back(feasible[i]);
    const auto d = crowding_distance(points, f);
    for (size_t i = 0; i < front.size(); ++i) r.crowd[front[i]] = d[i];
    r.fronts.push_back(std::move(front));
  }
  const auto violation = [&](size_t pos) {
    const double v = ev[members[pos]].eval.violation;
    return std::isnan(v) ? std::numeric_limits<double>::infinity() : v;
  };
  std::stable_sort(infeasible.begin(), infeasible.end(), [&](size_t a, size_t b) { return violation(a) < violation(b); });
  for (size_t i = 0; i < infeasible.size(); ++i) {
    if (i == 0 || violation(infeasible[i]) != violation(infeasible[i - 1])) r.fronts.emplace_back();
    r.fronts.back().push_back(infeasible[i]);
  }
  for (size_t f = 0; f < r.fronts.size(); ++f)
    for (size_t pos : r.fronts[f]) r.rank[pos] = f;
  return r;
}

// The best `n` of `members`: whole fronts, the last one cut by crowding distance.
std::vector<size_t> select(const std::vector<EvaluatedPoint>& ev, const std::vector<size_t>& members, size_t n) {
  const Ranking r = rank_members(ev, members);
  std::vector<size_t> out;
  for (auto front : r.fronts) {
    if (out.size() >= n) break;
    if (out.size() + front.size() > n)
      std::stable_sort(front.begin(), front.end(), [&](size_t a, size_t b) { return r.crowd[a] > r.crowd[b]; });
    for (size_t i = 0; i < front.size() && out.size() < n; ++i) out.push_back(members[front[i]]);
  }
  return out;
}

class Searcher {
 public:
  Searcher(const SearchSpace& space, const SearchOptions& o, const Evaluate& evaluate)
      : space_(space), o_(o), evaluate_(evaluate) {}

  detail::SearchState state;

  void restore_index() {
    for (size_t i = 0; i < state.result.evaluated.size(); ++i) index_[state.result.evaluated[i].genome] = i;
    for (const auto& p : state.result.evaluated)
      if (p.eval.feasible && objectives_ == 0) objectives_ = p.eval.objectives.size();
  }

  void run_generation(int64_t g) {
    const auto n = static_cast<size_t>(o_.population);
    if (o_.algorithm == "random" || g == 0) {
      std::vector<size_t> drawn;
      for (size_t i = 0; i < n; ++i) drawn.push_back(add(novel([&] { return space_.sample(state.rng); }), g));
      if (o_.algorithm == "nsga2") state.population = select(state.result.evaluated, unique(drawn), n);
    } else {
      const Ranking r = rank_members(state.result.evaluated, state.population);
      const auto tournament = [&] {
        std::uniform_int_distribution<size_t> any(0, state.population.size() - 1);
        const size_t a = any(state.rng), b = any(state.rng);
        const bool a_wins = r.rank[a] != r.rank[b] ? r.rank[a] < r.rank[b] : r.crowd[a] >= r.crowd[b];
        return state.result.evaluated[state.population[a_wins ? a : b]].genome;
      };
      const auto breed = [&] {
        const Genome p1 = tournament(), p2 = tournament();
        const bool cross = std::uniform_real_distribution<double>(0, 1)(state.rng) < o_.crossover_prob;
        return space_.mutate(cross ? space_.crossover(p1, p2, state.rng) : p1, o_.mutation_prob, state.rng);
      };
      std::vector<size_t> children;
      if (o_.oversample > 1) {
        // Distinct new candidates, of which the screen picks the ones worth evaluating.
        std::vector<Genome> pool;
        for (size_t i = 0; i < n * static_cast<size_t>(o_.oversample); ++i) {
          Genome c = novel(breed);
          if (index_.count(c) == 0 && std::find(pool.begin(), pool.end(), c) == pool.end()) pool.push_back(std::move(c));
        }
        std::vector<size_t> picked(pool.size());
        std::iota(picked.begin(), picked.end(), size_t{0});
        if (pool.size() > n) picked = o_.screen(pool, n, state.result);
        if (picked.size() > n) throw RuntimeError("nas search: the screen kept more candidates than asked");
        for (size_t i : picked) children.push_back(add(pool.at(i), g));
      } else {
        for (size_t i = 0; i < n; ++i) children.push_back(add(novel(breed), g));
      }
      std::vector<size_t> all = state.population;
      all.insert(all.end(), children.begin(), children.end());
      state.population = select(state.result.evaluated, unique(all), n);
    }
    state.result.front = pareto_front(state.result.evaluated);
    if (!o_.hv_reference.empty()) {
      std::vector<std::vector<double>> pts;
      for (size_t i : state.result.front) pts.push_back(state.result.evaluated[i].eval.objectives);
      state.result.hypervolume_per_generation.push_back(hypervolume(pts, o_.hv_reference));
    }
    state.generation = g;
  }

 private:
  // Draws up to kTries genomes for one not evaluated yet; else the last draw.
  template <class Draw>
  Genome novel(Draw draw) {
    Genome g;
    for (int t = 0; t < kTries; ++t) {
      g = draw();
      if (index_.find(g) == index_.end()) break;
    }
    return g;
  }

  // Index of g in evaluated, evaluating it first when new.
  size_t add(const Genome& g, int64_t generation) {
    if (const auto it = index_.find(g); it != index_.end()) return it->second;
    const std::string outside = space_.check(g);
    if (!outside.empty()) throw RuntimeError("nas search made genome " + g.str() + " outside its space: " + outside);
    Evaluation e = evaluate_(g);
    if (e.feasible) {
      if (objectives_ == 0) objectives_ = e.objectives.size();
      if (e.objectives.empty() || e.objectives.size() != objectives_)
        throw RuntimeError("nas search: the evaluation of " + g.str() + " gave " + std::to_string(e.objectives.size()) +
                           " objectives, earlier ones " + std::to_string(objectives_));
      for (double v : e.objectives)
        if (std::isnan(v)) throw RuntimeError("nas search: the evaluation of " + g.str() + " gave NaN (mark it infeasible instead)");
      if (!o_.hv_reference.empty() && o_.hv_reference.size() != objectives_)
        throw ConfigError(Origin{}, "search.hv_reference",
                          "has " + std::to_string(o_.hv_reference.size()) + " values for " + std::to_string(objectives_) +
                              " objectives");
    }
    index_[g] = state.result.evaluated.size();
    state.result.evaluated.push_back({g, std::move(e), generation});
    return state.result.evaluated.size() - 1;
  }

  static std::vector<size_t> unique(const std::vector<size_t>& v) {
    std::vector<size_t> out;
    for (size_t i : v)
      if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
    return out;
  }

  const SearchSpace& space_;
  const SearchOptions& o_;
  const Evaluate& evaluate_;
  std::map<Genome, size_t> index_;
  size_t objectives_ = 0;
};

}  // namespace

std::vector<size_t> pareto_front(const std::vector<EvaluatedPoint>& evaluated) {
  std::vector<size_t> feasible;
  std::vector<std::vector<double>> points;
  for (size_t i = 0; i < evaluated.size(); ++i)
    if (evaluated[i].eval.feasible) {
      feasible.push_back(i);
      points.push_back(evaluated[i].eval.objectives);
    }
  std::vector<size_t> front;
  const auto fronts = non_dominated_sort(points);
  if (!fronts.empty())
    for (size_t i : fronts.front()) front.push_back(feasible[i]);
  return front;
}

SearchResult run_search(const SearchSpace& space, const SearchOptions& options, const Evaluate& evaluate,
                        const std::string& state_path,
                        const std::function<void(int64_t generation, const SearchResult&)>& on_generation) {
  check_options(space, options);
  const nlohmann::json identity = detail::identity_json(space, options);
  Searcher s(space, options, evaluate);
  s.state.rng.seed(options.seed);
  if (!state_path.empty() && detail::load_state(state_path, identity, s.state)) {
    if (s.state.generation >= options.generations)
      throw ConfigError(Origin{state_path}, "search.generations",
                        std::to_string(options.generations) + " generations, but the saved search has finished " +
                            std::to_string(s.state.generation + 1));
    s.restore_index();
    s.state.result.front = pareto_front(s.state.result.evaluated);
  }
  for (int64_t g = s.state.generation + 1; g < options.generations; ++g) {
    s.run_generation(g);
    if (!state_path.empty()) detail::save_state(state_path, identity, s.state);
    if (on_generation) on_generation(g, s.state.result);
  }
  return s.state.result;
}

}  // namespace ptm::nas
