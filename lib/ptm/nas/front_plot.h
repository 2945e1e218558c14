// The plot of a search's Pareto front, drawn from the points.json documents that `ptm nas
// search` writes (nas::result_json), against the random baseline's baseline_points.json when
// there is one. One function for front.svg and for `ptm report` on a search folder, on
// report/svg_plot's scatter and line series.
#pragma once
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace ptm::nas {

// The objectives on the axes, as points.json names them: x the first cost (params, macs,
// latency_ms), y the first metric; else the first two. IoError when points.json names fewer
// than two objectives.
std::pair<std::string, std::string> front_axes(const nlohmann::json& points, const std::string& path);

// A stored name as the plot shows it: "neg_accuracy" (a maximised metric stored negated) is
// "accuracy", and its values change sign back.
std::string shown_objective(const std::string& stored);

// Feasible points of each search as scatter series ("NSGA-II (all)", "random search (all)")
// and each front sorted by x as a line with markers ("NSGA-II front", "random search front");
// `baseline` may be null. IoError naming the file under `dir` (the search folder) for a
// malformed document.
std::string front_plot_svg(const nlohmann::json& points, const nlohmann::json* baseline, const std::string& dir,
                           const std::string& algorithm = "nsga2");

// How plots and reports name a search algorithm: "NSGA-II", "random search".
std::string algorithm_label(const std::string& algorithm);

}  // namespace ptm::nas
