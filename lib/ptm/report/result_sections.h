// The parts of a `ptm report` page for folders that are not training runs: a `ptm prune`
// folder (sparsity.json: the per-layer sparsity profile, units kept per layer, before/after
// metrics) and a `ptm nas search` folder (points.json: the Pareto front against the random
// baseline, hypervolume per generation). Drawn with svg_plot, the one plot code of ptm.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace ptm::report {

struct PruneData {
  std::string dir, name;
  nlohmann::json sparsity;  // sparsity.json (compress/sparsity_report.h)
  nlohmann::json summary;   // summary.json; null while unfinished
};

struct SearchData {
  std::string dir, name;
  nlohmann::json points;    // points.json (nas::result_json)
  nlohmann::json baseline;  // baseline_points.json; null without a random baseline
  nlohmann::json summary;   // summary.json; null while unfinished
};

// A JSON file of a run folder; IoError naming it when it does not parse.
nlohmann::json read_json_file(const std::string& path);

PruneData load_prune(const std::string& dir, const std::string& name);
SearchData load_search(const std::string& dir, const std::string& name);

// Bar charts of the fraction of zero weights per layer (data-value: sparsity.json's values)
// and, for structured pruning, of the units kept per layer (instead: it leaves no zeros).
std::string sparsity_profile_svgs(const nlohmann::json& sparsity);

std::string prune_section(const PruneData& p);
std::string search_section(const SearchData& s);
std::string prune_text(const PruneData& p);
std::string search_text(const SearchData& s);

}  // namespace ptm::report
