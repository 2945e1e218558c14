// An SVG plot of a search's front in two of its objectives against the points of a random
// search with the same budget (report/svg_plot's scatter and line series).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "ptm/nas/search.h"

namespace ptm::nas {

struct FrontPlotOptions {
  std::string title = "Pareto front";
  std::vector<std::string> objective_names;  // axis labels, one per objective
  size_t x = 0, y = 1;                       // the objectives on the axes
  std::vector<bool> negate;                  // per objective: shown as -value (maximised ones, e.g. accuracy)
  std::string search_name = "NSGA-II", baseline_name = "random search";
};

// Feasible points of each search as scatter series and each front (its points sorted by x) as
// a line with markers; `baseline` may be null. std::invalid_argument for an axis beyond the
// objectives.
std::string front_plot_svg(const SearchResult& search, const SearchResult* baseline, const FrontPlotOptions& options);

}  // namespace ptm::nas
