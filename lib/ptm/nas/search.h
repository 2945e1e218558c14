// Multi-objective search over a SearchSpace: NSGA-II with Deb's constraint handling, or a
// random-search baseline with the same evaluation budget. Resumable after every generation.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/nas/genome.h"
#include "ptm/nas/search_space.h"

namespace ptm::nas {

// What the caller measured for one genome; every objective is minimised (negate accuracy).
struct Evaluation {
  std::vector<double> objectives;  // unused when infeasible (may be empty: skip costly measurements)
  bool feasible = true;            // false: violates a constraint (e.g. params > budget)
  std::string why;                 // for infeasible points: which constraint, by how much
  double violation = 0;            // how far outside the constraints; among infeasible points, smaller is better
};
using Evaluate = std::function<Evaluation(const Genome&)>;

struct EvaluatedPoint {
  Genome genome;
  Evaluation eval;
  int64_t generation = 0;  // the generation that first evaluated it
};

struct SearchResult {
  std::vector<EvaluatedPoint> evaluated;  // every distinct genome, in evaluation order
  std::vector<size_t> front;              // indices into evaluated: feasible and non-dominated among all evaluated
  std::vector<double> hypervolume_per_generation;  // of the front after each generation (with hv_reference)
};

// Pre-screening of NSGA-II offspring (e.g. by an accuracy predictor): picks the `keep`
// candidates to evaluate, as indices into `candidates` (new genomes, none evaluated yet). It
// must be deterministic in its arguments, so that a resumed search breeds the same.
using Screen = std::function<std::vector<size_t>(const std::vector<Genome>& candidates, size_t keep,
                                                 const SearchResult& so_far)>;

struct SearchOptions {
  std::string algorithm = "nsga2";  // or "random"
  int64_t population = 16, generations = 8;
  uint64_t seed = 0;
  double crossover_prob = 0.9, mutation_prob = 0.2;  // mutation_prob: per layer
  std::vector<double> hv_reference;                  // empty: no hypervolume per generation
  // NSGA-II with a screen: each generation breeds oversample x population candidates and
  // evaluates the population that `screen` keeps (the evaluation budget stays the same).
  int64_t oversample = 1;
  Screen screen;
  std::string screen_settings;  // what determines the screen (saved with the state: a resumed search must match)
};

// Runs the search; ptm::ConfigError on bad options (naming "search.<key>"). Generation 0
// samples `population` genomes; each later one breeds `population` offspring (binary
// tournament on rank and crowding, uniform crossover, per-layer mutation) and keeps the best
// `population` of parents and offspring. Random search samples `population` genomes per
// generation. Both try up to 10 draws for a genome not evaluated yet; each distinct genome is
// evaluated once. Feasible points beat infeasible ones, infeasible ones compare by violation.
// After every generation `state_path` (when not empty) is written atomically; a search
// started on an existing state with the same options and space continues after its last
// finished generation and ends with the result of an uninterrupted run (ConfigError when the
// state is from other options). on_generation runs after the state is written.
SearchResult run_search(const SearchSpace& space, const SearchOptions& options, const Evaluate& evaluate,
                        const std::string& state_path,
                        const std::function<void(int64_t generation, const SearchResult&)>& on_generation = {});

// The feasible non-dominated points of `evaluated` (indices, ascending).
std::vector<size_t> pareto_front(const std::vector<EvaluatedPoint>& evaluated);

// CSV: genome, one column per objective name, feasible, generation, why. Front only or every point.
void write_points_csv(const std::string& path, const SearchResult& result, const std::vector<std::string>& objective_names,
                      bool front_only);
// {"objectives": names, "evaluated": [points], "front": [points with "index"], "hypervolume_per_generation"}
nlohmann::json result_json(const SearchResult& result, const std::vector<std::string>& objective_names);

}  // namespace ptm::nas
