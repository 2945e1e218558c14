// The resumable state of a search (internal to run_search): written after every finished
// generation as JSON, read back when a killed search starts again.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/nas/search.h"

namespace ptm::nas::detail {

struct SearchState {
  SearchResult result;
  std::vector<size_t> population;  // NSGA-II's current parents, indices into result.evaluated
  std::mt19937_64 rng;
  int64_t generation = -1;         // the last finished one; -1: none yet
};

// What must match for a state to be continued: the options (but generations, which may grow)
// and the space.
nlohmann::json identity_json(const SearchSpace& space, const SearchOptions& options);

nlohmann::json evaluated_json(const EvaluatedPoint& p);  // objectives NaN/inf as null

void save_state(const std::string& path, const nlohmann::json& identity, const SearchState& state);
// False when `path` does not exist. ptm::IoError when it is unreadable or corrupt,
// ptm::ConfigError when it was written by a search with another identity.
bool load_state(const std::string& path, const nlohmann::json& identity, SearchState& state);

}  // namespace ptm::nas::detail
