// Front plots from points.json documents.
#include "ptm/nas/front_plot.h"

#include <algorithm>
#include <cmath>

#include "ptm/core/errors.h"
#include "ptm/nas/nas_config.h"
#include "ptm/report/svg_plot.h"

namespace ptm::nas {
namespace {

using nlohmann::json;
using Points = std::vector<std::pair<double, double>>;

double shown_value(const json& point, const std::string& name, const std::string& path) {
  const auto& objectives = point.at("objectives");
  if (!objectives.is_object() || !objectives.contains(name))
    throw IoError(path + ": a point has no objective '" + name + "'");
  const auto& v = objectives.at(name);
  if (!v.is_number()) return NAN;
  return name.rfind("neg_", 0) == 0 ? -v.get<double>() : v.get<double>();
}

Points feasible_points(const json& doc, const std::pair<std::string, std::string>& axes, const std::string& path) {
  Points out;
  for (const auto& p : doc.at("evaluated"))
    if (p.value("feasible", false)) out.emplace_back(shown_value(p, axes.first, path), shown_value(p, axes.second, path));
  return out;
}

Points front_points(const json& doc, const std::pair<std::string, std::string>& axes, const std::string& path) {
  Points out;
  for (const auto& p : doc.at("front")) out.emplace_back(shown_value(p, axes.first, path), shown_value(p, axes.second, path));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

// Defined here, in the torch-free library, so that ptm report can tell costs from metrics.
bool is_cost_objective(const std::string& name) { return name == "params" || name == "macs" || name == "latency_ms"; }

std::string algorithm_label(const std::string& algorithm) {
  return algorithm == "nsga2" ? "NSGA-II" : algorithm == "random" ? "random search" : algorithm;
}

std::string shown_objective(const std::string& stored) {
  return stored.rfind("neg_", 0) == 0 ? stored.substr(4) : stored;
}

std::pair<std::string, std::string> front_axes(const json& points, const std::string& path) {
  std::vector<std::string> names;
  if (points.is_object() && points.contains("objectives") && points["objectives"].is_array())
    for (const auto& n : points["objectives"])
      if (n.is_string()) names.push_back(n.get<std::string>());
  if (names.size() < 2)
    throw IoError(path + ": 'objectives' must name at least two objectives (a ptm nas search points.json)");
  const auto cost = std::find_if(names.begin(), names.end(), is_cost_objective);
  const auto metric = std::find_if_not(names.begin(), names.end(), is_cost_objective);
  if (cost != names.end() && metric != names.end()) return {*cost, *metric};
  return {names[0], names[1]};
}

std::string front_plot_svg(const json& points, const json* baseline, const std::string& dir,
                           const std::string& algorithm) {
  const std::string search_name = algorithm_label(algorithm);
  const std::string path = dir + "/points.json", bpath = dir + "/baseline_points.json";
  const auto axes = front_axes(points, path);
  report::LinePlot plot;
  plot.x_label = shown_objective(axes.first);
  plot.y_label = shown_objective(axes.second);
  plot.title = "Pareto front: " + plot.y_label + " vs " + plot.x_label;
  plot.y_scale = report::LinePlot::YScale::Linear;
  try {
    if (baseline) {
      plot.series.push_back({"random search (all)", "#bab0ac", feasible_points(*baseline, axes, bpath), true, false});
      plot.series.push_back({"random search front", report::palette(1), front_points(*baseline, axes, bpath), true, true});
    }
    plot.series.push_back({search_name + " (all)", "#a0cbe8", feasible_points(points, axes, path), true, false});
    plot.series.push_back({search_name + " front", report::palette(0), front_points(points, axes, path), true, true});
  } catch (const json::exception& e) {
    throw IoError(dir + ": points.json or baseline_points.json is not a ptm nas search result (" + e.what() + ")");
  }
  return report::line_plot_svg(plot);
}

}  // namespace ptm::nas
