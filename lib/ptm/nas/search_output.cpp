// Search results as CSV and JSON for users and scripts.
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "ptm/core/fs_util.h"
#include "ptm/nas/search.h"
#include "ptm/nas/search_state.h"

namespace ptm::nas {
namespace {

void check_names(const SearchResult& r, const std::vector<std::string>& names) {
  for (const auto& p : r.evaluated)
    if (p.eval.feasible && p.eval.objectives.size() != names.size())
      throw std::invalid_argument("nas results: " + std::to_string(names.size()) + " objective names for " +
                                  std::to_string(p.eval.objectives.size()) + " objectives");
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_number(double v) {
  if (std::isnan(v)) return "";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.12g", v);
  return buf;
}

nlohmann::json point_json(const EvaluatedPoint& p, const std::vector<std::string>& names) {
  nlohmann::json j = detail::evaluated_json(p);
  nlohmann::json named = nlohmann::json::object();
  for (size_t k = 0; k < names.size() && k < p.eval.objectives.size(); ++k) named[names[k]] = j["objectives"][k];
  j["objectives"] = named;
  return j;
}

}  // namespace

void write_points_csv(const std::string& path, const SearchResult& r, const std::vector<std::string>& names,
                      bool front_only) {
  check_names(r, names);
  std::string out = "genome";
  for (const auto& n : names) out += "," + csv_field(n);
  out += ",feasible,generation,why\n";
  const auto row = [&](const EvaluatedPoint& p) {
    out += csv_field(p.genome.str());
    for (size_t k = 0; k < names.size(); ++k)
      out += "," + (k < p.eval.objectives.size() ? csv_number(p.eval.objectives[k]) : std::string());
    out += std::string(",") + (p.eval.feasible ? "true" : "false") + "," + std::to_string(p.generation) + "," +
           csv_field(p.eval.why) + "\n";
  };
  if (front_only)
    for (size_t i : r.front) row(r.evaluated[i]);
  else
    for (const auto& p : r.evaluated) row(p);
  fs_util::write_file_atomic(path, out);
}

nlohmann::json result_json(const SearchResult& r, const std::vector<std::string>& names) {
  check_names(r, names);
  nlohmann::json all = nlohmann::json::array(), front = nlohmann::json::array(), hv = nlohmann::json::array();
  for (const auto& p : r.evaluated) all.push_back(point_json(p, names));
  for (size_t i : r.front) {
    nlohmann::json p = point_json(r.evaluated[i], names);
    p["index"] = i;
    front.push_back(std::move(p));
  }
  for (double v : r.hypervolume_per_generation) hv.push_back(std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr));
  return {{"objectives", names}, {"evaluated", all}, {"front", front}, {"hypervolume_per_generation", hv}};
}

}  // namespace ptm::nas
