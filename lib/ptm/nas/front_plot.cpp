// Front plots from search results.
#include "ptm/nas/front_plot.h"

#include <algorithm>
#include <stdexcept>

#include "ptm/report/svg_plot.h"

namespace ptm::nas {
namespace {

using Points = std::vector<std::pair<double, double>>;

double shown(const FrontPlotOptions& o, const EvaluatedPoint& p, size_t k) {
  if (k >= p.eval.objectives.size())
    throw std::invalid_argument("front plot: objective " + std::to_string(k) + " of " +
                                std::to_string(p.eval.objectives.size()));
  const double v = p.eval.objectives[k];
  return k < o.negate.size() && o.negate[k] ? -v : v;
}

Points feasible_points(const SearchResult& r, const FrontPlotOptions& o) {
  Points out;
  for (const auto& p : r.evaluated)
    if (p.eval.feasible) out.emplace_back(shown(o, p, o.x), shown(o, p, o.y));
  return out;
}

Points front_points(const SearchResult& r, const FrontPlotOptions& o) {
  Points out;
  for (size_t i : r.front) out.emplace_back(shown(o, r.evaluated[i], o.x), shown(o, r.evaluated[i], o.y));
  std::sort(out.begin(), out.end());
  return out;
}

std::string name(const FrontPlotOptions& o, size_t k) {
  return k < o.objective_names.size() ? o.objective_names[k] : "objective " + std::to_string(k);
}

}  // namespace

std::string front_plot_svg(const SearchResult& search, const SearchResult* baseline, const FrontPlotOptions& o) {
  report::LinePlot plot;
  plot.title = o.title;
  plot.x_label = name(o, o.x);
  plot.y_label = name(o, o.y);
  plot.y_scale = report::LinePlot::YScale::Linear;
  if (baseline) {
    plot.series.push_back({o.baseline_name + " (all)", "#bab0ac", feasible_points(*baseline, o), true, false});
    plot.series.push_back({o.baseline_name + " front", report::palette(1), front_points(*baseline, o), true, true});
  }
  plot.series.push_back({o.search_name + " (all)", "#a0cbe8", feasible_points(search, o), true, false});
  plot.series.push_back({o.search_name + " front", report::palette(0), front_points(search, o), true, true});
  return report::line_plot_svg(plot);
}

}  // namespace ptm::nas
