// Prune and NAS folders -> sections of the report page and lines of the terminal summary.
#include "ptm/report/result_sections.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/nas/front_plot.h"
#include "ptm/report/svg_plot.h"

namespace ptm::report {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

double num(const json& j, const std::string& key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
}

std::string exact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

// An objective of a points.json point with its own sign (neg_accuracy -> accuracy).
double shown(const json& point, const std::string& stored) {
  const double v = num(point["objectives"], stored);
  return stored.rfind("neg_", 0) == 0 ? -v : v;
}

// The front's points in the order of the plot's x axis.
std::vector<json> sorted_front(const json& points, const std::string& x) {
  std::vector<json> out(points["front"].begin(), points["front"].end());
  std::stable_sort(out.begin(), out.end(), [&](const json& a, const json& b) { return shown(a, x) < shown(b, x); });
  return out;
}

std::string cell(double v) {
  return "<td class=\"num\" data-value=\"" + exact(v) + "\">" + escape(format_number(v, 5)) + "</td>";
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f%%", 100 * fraction);
  return std::isfinite(fraction) ? buf : "-";
}

// The numbers two evaluations share, one row each: the metric, before, after.
std::string before_after_rows(const json& before, const json& after, const std::string& after_label) {
  std::string out;
  if (!before.is_object()) return out;
  for (const auto& [k, v] : before.items()) {
    if (!v.is_number() || k == "targets" || k == "batches") continue;
    out += "<tr data-key=\"" + escape(k) + "\"><td>" + escape(k) + "</td>" + cell(v.get<double>()) +
           cell(num(after, k)) + "</tr>\n";
  }
  return out.empty() ? out
                     : "<table class=\"prune-eval\"><tr><th>metric</th><th>before</th><th>" + escape(after_label) +
                           "</th></tr>\n" + out + "</table>\n";
}

std::string front_table(const SearchData& s) {
  const auto& names = s.points["objectives"];
  std::string out = "<div class=\"scroll\"><table class=\"front\"><tr><th>genome</th>";
  for (const auto& n : names) out += "<th>" + escape(nas::shown_objective(n.get<std::string>())) + "</th>";
  out += "</tr>\n";
  for (const auto& p : sorted_front(s.points, nas::front_axes(s.points, s.dir + "/points.json").first)) {
    out += "<tr><td><code>" + escape(p["genome"].is_string() ? p["genome"].get<std::string>() : p["genome"].dump()) +
           "</code></td>";
    for (const auto& n : names) out += cell(shown(p, n.get<std::string>()));
    out += "</tr>\n";
  }
  return out + "</table></div>\n";
}

}  // namespace

json read_json_file(const std::string& path) {
  try {
    return json::parse(fs_util::read_file(path));
  } catch (const json::exception& e) {
    throw IoError("'" + path + "' is not valid JSON: " + e.what());
  }
}

PruneData load_prune(const std::string& dir, const std::string& name) {
  PruneData p{dir, name, read_json_file(dir + "/sparsity.json"), nullptr};
  if (!p.sparsity.is_object() || !p.sparsity.contains("layers") || !p.sparsity["layers"].is_array() ||
      !p.sparsity.contains("targets"))
    throw IoError("'" + dir + "/sparsity.json' is not a ptm prune sparsity report (expected 'layers' and 'targets')");
  if (fs::exists(dir + "/summary.json")) p.summary = read_json_file(dir + "/summary.json");
  return p;
}

SearchData load_search(const std::string& dir, const std::string& name) {
  SearchData s{dir, name, read_json_file(dir + "/points.json"), nullptr, nullptr};
  nas::front_axes(s.points, dir + "/points.json");  // checks the objectives
  if (!s.points.contains("evaluated") || !s.points["evaluated"].is_array() || !s.points.contains("front") ||
      !s.points["front"].is_array())
    throw IoError("'" + dir + "/points.json' is not a ptm nas search result (expected 'evaluated' and 'front' lists)");
  if (fs::exists(dir + "/baseline_points.json")) s.baseline = read_json_file(dir + "/baseline_points.json");
  if (fs::exists(dir + "/summary.json")) s.summary = read_json_file(dir + "/summary.json");
  return s;
}

std::string sparsity_profile_svgs(const json& sparsity) {
  BarChart layers;
  layers.title = "sparsity per layer";
  layers.value_label = "fraction of the pruned weights that are zero";
  layers.max_value = 1;
  for (const auto& l : sparsity["layers"]) layers.bars.push_back({l.value("layer", std::string("?")), num(l, "sparsity"), palette(0)});
  layers.bars.push_back({"all targets", num(sparsity["targets"], "sparsity"), palette(1)});
  const bool structured = sparsity.contains("units") && sparsity["units"].is_object();
  // Structured pruning removes units and leaves no zeros: its profile is the units kept.
  std::string out = structured && !(num(sparsity["targets"], "sparsity") > 0) ? "" : "<figure>" + bar_chart_svg(layers) + "</figure>";
  // Structured pruning: units (heads, neurons) kept per layer.
  if (structured)
    for (const auto& [axis, kept] : sparsity["units"].items()) {
      BarChart units;
      units.title = axis + " kept per layer";
      units.value_label = axis;
      for (size_t i = 0; i < kept.size(); ++i)
        units.bars.push_back({"layer " + std::to_string(i), kept[i].is_number() ? kept[i].get<double>() : NAN, palette(2)});
      out += "<figure>" + bar_chart_svg(units) + "</figure>";
    }
  return out;
}

std::string prune_section(const PruneData& p) {
  const json& s = p.summary;
  std::string out = "<h2>Pruning " + escape(p.name) + "</h2>\n<p class=\"meta\">" + escape(p.dir);
  if (s.is_object())
    out += ": " + escape(s.value("granularity", std::string())) + " pruning by " +
           escape(s.value("criterion", std::string())) + ", " + format_number(num(s, "parameters_before"), 4, true) +
           " parameters before, " + format_number(num(s, "parameters"), 4, true) + " after, " +
           format_number(num(s, "nonzero_parameters"), 4, true) + " of them nonzero";
  else
    out += " (unfinished: no summary.json)";
  out += ".</p>\n<div class=\"plots\">" + sparsity_profile_svgs(p.sparsity) + "</div>\n";
  if (s.is_object()) {
    out += before_after_rows(s.value("before", json()), s.value("after", json()), "after pruning");
    if (s.contains("recovered") && s["recovered"].is_object())
      out += before_after_rows(s.value("before", json()), s["recovered"].value("eval", json()), "after recovery");
  }
  out += "<details><summary>sparsity per weight</summary><div class=\"scroll\"><table class=\"sparsity\"><tr>"
         "<th>weight</th><th>elements</th><th>zeros</th><th>sparsity</th></tr>\n";
  for (const auto& t : p.sparsity.value("tensors", json::array()))
    out += "<tr><td><code>" + escape(t.value("name", std::string())) + "</code></td>" + cell(num(t, "numel")) +
           cell(num(t, "zeros")) + cell(num(t, "sparsity")) + "</tr>\n";
  return out + "</table></div></details>\n";
}

std::string search_section(const SearchData& s) {
  const std::string algorithm = s.summary.is_object() ? s.summary.value("algorithm", std::string("nsga2")) : "nsga2";
  std::string out = "<h2>Architecture search " + escape(s.name) + "</h2>\n<p class=\"meta\">" + escape(s.dir) + ": " +
                    escape(nas::algorithm_label(algorithm)) + ", " + std::to_string(s.points["evaluated"].size()) +
                    " sub-networks evaluated, a front of " + std::to_string(s.points["front"].size());
  if (s.baseline.is_object())
    out += "; random search with the same budget: " + std::to_string(s.baseline.value("evaluated", json::array()).size()) +
           " evaluated, a front of " + std::to_string(s.baseline.value("front", json::array()).size());
  out += s.summary.is_null() ? " (unfinished)" : "";
  out += ".</p>\n<div class=\"plots\"><figure>" +
         nas::front_plot_svg(s.points, s.baseline.is_object() ? &s.baseline : nullptr, s.dir, algorithm) + "</figure>";
  // Hypervolume after each generation, both searches on one axis.
  LinePlot hv;
  hv.title = "hypervolume per generation";
  hv.x_label = "generation";
  hv.y_label = "hypervolume";
  hv.y_scale = LinePlot::YScale::Linear;
  const auto series = [](const json& doc, const std::string& name, const std::string& color) {
    Series out{name, color, {}, true, true};
    size_t g = 0;
    for (const auto& v : doc.value("hypervolume_per_generation", json::array())) {
      if (v.is_number()) out.points.emplace_back(static_cast<double>(g), v.get<double>());
      ++g;
    }
    return out;
  };
  if (s.baseline.is_object()) hv.series.push_back(series(s.baseline, "random search", palette(1)));
  hv.series.push_back(series(s.points, nas::algorithm_label(algorithm), palette(0)));
  if (!hv.series.back().points.empty()) out += "<figure>" + line_plot_svg(hv) + "</figure>";
  return out + "</div>\n<p>The front (objectives as measured; maximised metrics shown with their own sign):</p>\n" +
         front_table(s);
}

std::string prune_text(const PruneData& p) {
  std::string out = p.name + " (" + p.dir + "): ";
  const json& s = p.summary;
  if (s.is_object())
    out += s.value("granularity", std::string()) + " pruning by " + s.value("criterion", std::string()) + ", ";
  out += "target sparsity " + percent(num(p.sparsity["targets"], "sparsity")) + "\n  per layer:";
  for (const auto& l : p.sparsity["layers"]) out += " " + l.value("layer", std::string("?")) + " " + percent(num(l, "sparsity"));
  out += "\n";
  if (p.sparsity.contains("units") && p.sparsity["units"].is_object())
    for (const auto& [axis, kept] : p.sparsity["units"].items()) out += "  " + axis + " kept per layer: " + kept.dump() + "\n";
  if (s.is_object() && s["before"].is_object())
    for (const char* k : {"loss", "perplexity", "accuracy"})
      if (s["before"].contains(k))
        out += std::string("  ") + k + " " + format_number(num(s["before"], k), 5) + " -> " +
               format_number(num(s["after"], k), 5) + " after pruning\n";
  return out;
}

std::string search_text(const SearchData& s) {
  const std::string algorithm = s.summary.is_object() ? s.summary.value("algorithm", std::string("nsga2")) : "nsga2";
  const auto axes = nas::front_axes(s.points, s.dir + "/points.json");
  std::string out = s.name + " (" + s.dir + "): " + nas::algorithm_label(algorithm) + ", " +
                    std::to_string(s.points["evaluated"].size()) + " evaluated, front of " +
                    std::to_string(s.points["front"].size()) + " (" + nas::shown_objective(axes.first) + ", " +
                    nas::shown_objective(axes.second) + "):";
  for (const auto& p : sorted_front(s.points, axes.first))
    out += " (" + format_number(shown(p, axes.first), 4, true) + ", " + format_number(shown(p, axes.second), 4) + ")";
  return out + "\n";
}

}  // namespace ptm::report
