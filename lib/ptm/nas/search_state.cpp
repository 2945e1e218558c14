// Search state as JSON. The generator's state is the standard's text form, so a resumed
// search draws exactly the numbers the uninterrupted one would have.
#include "ptm/nas/search_state.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <locale>
#include <sstream>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"

namespace ptm::nas::detail {
namespace {

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

double read_number(const nlohmann::json& j) {
  return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>();
}

}  // namespace

nlohmann::json identity_json(const SearchSpace& space, const SearchOptions& o) {
  nlohmann::json j = {{"algorithm", o.algorithm},       {"population", o.population},
                      {"seed", o.seed},                 {"crossover_prob", o.crossover_prob},
                      {"mutation_prob", o.mutation_prob}, {"hv_reference", o.hv_reference},
                      {"space",
                       {{"n_layer", space.n_layer},
                        {"heads", space.heads},
                        {"inner", space.inner},
                        {"min_depth", space.min_depth}}}};
  if (o.oversample > 1) {  // (absent: states written before screening existed)
    j["oversample"] = o.oversample;
    j["screen"] = o.screen_settings;
  }
  return nlohmann::json::parse(j.dump());  // the form it has when read back (numbers' types)
}

nlohmann::json evaluated_json(const EvaluatedPoint& p) {
  nlohmann::json obj = nlohmann::json::array();
  for (double v : p.eval.objectives) obj.push_back(number(v));
  return {{"genome", p.genome.to_json()}, {"objectives", obj},          {"feasible", p.eval.feasible},
          {"why", p.eval.why},            {"violation", number(p.eval.violation)}, {"generation", p.generation}};
}

void save_state(const std::string& path, const nlohmann::json& identity, const SearchState& s) {
  std::ostringstream rng;
  rng.imbue(std::locale::classic());
  rng << s.rng;
  nlohmann::json ev = nlohmann::json::array();
  for (const auto& p : s.result.evaluated) ev.push_back(evaluated_json(p));
  nlohmann::json hv = nlohmann::json::array();
  for (double v : s.result.hypervolume_per_generation) hv.push_back(number(v));
  const nlohmann::json j = {{"format", "ptm-nas-search-state-1"},
                            {"identity", identity},
                            {"generation", s.generation},
                            {"rng", rng.str()},
                            {"population", s.population},
                            {"hypervolume_per_generation", hv},
                            {"evaluated", ev}};
  fs_util::write_file_atomic(path, j.dump(1) + "\n");
}

bool load_state(const std::string& path, const nlohmann::json& identity, SearchState& s) {
  if (!std::filesystem::exists(path)) return false;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(fs_util::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw IoError(path + ": corrupt search state (" + e.what() + "); remove it to start the search again");
  }
  try {
    if (j.at("format") != "ptm-nas-search-state-1") throw IoError(path + ": not a ptm search state (format " + j.at("format").dump() + ")");
    const auto& was = j.at("identity");
    if (was != identity) {
      std::string diff;
      for (const auto& [key, value] : identity.items())
        if (!was.contains(key) || was[key] != value)
          diff += (diff.empty() ? "" : ", ") + key + " " + (was.contains(key) ? was[key].dump() : "absent") + " there, " +
                  value.dump() + " now";
      throw ConfigError(Origin{path}, "search",
                        "the search state was written with other settings (" + diff +
                            "); use another run directory or remove the state to start again");
    }
    s = SearchState{};
    s.generation = j.at("generation").get<int64_t>();
    std::istringstream rng(j.at("rng").get<std::string>());
    rng.imbue(std::locale::classic());
    rng >> s.rng;
    if (!rng) throw IoError(path + ": corrupt search state (rng)");
    s.population = j.at("population").get<std::vector<size_t>>();
    for (const auto& v : j.at("hypervolume_per_generation")) s.result.hypervolume_per_generation.push_back(read_number(v));
    for (const auto& e : j.at("evaluated")) {
      EvaluatedPoint p;
      p.genome = Genome::from_json(e.at("genome"), path);
      for (const auto& v : e.at("objectives")) p.eval.objectives.push_back(read_number(v));
      p.eval.feasible = e.at("feasible").get<bool>();
      p.eval.why = e.at("why").get<std::string>();
      p.eval.violation = read_number(e.at("violation"));
      p.generation = e.at("generation").get<int64_t>();
      s.result.evaluated.push_back(std::move(p));
    }
    for (size_t i : s.population)
      if (i >= s.result.evaluated.size()) throw IoError(path + ": corrupt search state (population index " + std::to_string(i) + ")");
  } catch (const nlohmann::json::exception& e) {
    throw IoError(path + ": corrupt search state (" + e.what() + "); remove it to start the search again");
  }
  return true;
}

}  // namespace ptm::nas::detail
