// Run directories -> an HTML page of curves and tables, or a terminal summary.
#include "ptm/report/run_report.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "ptm/bench/report.h"
#include "ptm/config/diff.h"
#include "ptm/config/load.h"
#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/version.h"
#include "ptm/report/svg_plot.h"

namespace ptm::report {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Evaluation fields that are counts, not metrics.
// Counts, not metrics; a task mixture's per-source keys are "<source>/<name>".
bool is_count(const std::string& key) {
  const std::string name = key.substr(key.rfind('/') + 1);
  return name == "targets" || name == "batches" || name == "weights_step";
}

bool lower_is_better(const std::string& key) {
  return key == "loss" || key == "perplexity" || key == "mse" || key.find("loss") != std::string::npos;
}

double number(const json& record, const std::string& key) {
  const auto it = record.find(key);
  return it != record.end() && it->is_number() ? it->get<double>() : NAN;
}

std::string exact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

// The evaluation metric names of the runs (without "eval_"), loss first.
std::vector<std::string> eval_keys(const std::vector<RunData>& runs, bool test) {
  std::set<std::string> keys;
  for (const auto& r : runs)
    for (const auto& rec : test ? r.test : r.eval)
      for (const auto& [k, v] : rec.items())
        if (k.rfind("eval_", 0) == 0 && v.is_number() && !is_count(k.substr(5))) keys.insert(k.substr(5));
  std::vector<std::string> out;
  if (keys.count("loss")) out.push_back("loss");
  for (const auto& k : keys)
    if (k != "loss") out.push_back(k);
  return out;
}

// "tokens_per_s" or "samples_per_s", whichever the run logs.
std::string throughput_key(const RunData& r) {
  for (const auto& rec : r.train)
    for (const char* k : {"tokens_per_s", "samples_per_s"})
      if (rec.contains(k)) return k;
  return "tokens_per_s";
}

// "tokens/s", "samples/s", or "per second" when the runs differ.
std::string throughput_label(const std::vector<RunData>& runs) {
  std::set<std::string> keys;
  for (const auto& r : runs) keys.insert(throughput_key(r));
  if (keys.size() != 1) return "per second";
  return *keys.begin() == "samples_per_s" ? "samples/s" : "tokens/s";
}

struct Best {
  double value = NAN;
  int64_t step = -1;
};

// The best value of evaluation metric `metric` (field "eval_<metric>") and its step.
Best best_of(const std::vector<json>& records, const std::string& metric) {
  Best b;
  const bool lower = lower_is_better(metric);
  for (const auto& rec : records) {
    const double v = number(rec, "eval_" + metric);
    if (std::isfinite(v) && (b.step < 0 || (lower ? v < b.value : v > b.value))) b = {v, rec["step"].get<int64_t>()};
  }
  return b;
}

double last_of(const std::vector<json>& records, const std::string& key) {
  for (auto it = records.rbegin(); it != records.rend(); ++it)
    if (it->contains(key)) return number(*it, key);
  return NAN;
}

std::string td(double v, const std::string& extra = "") {
  // Counts (steps, parameters) in full; other values with 5 significant digits.
  const bool count = std::isfinite(v) && v == std::round(v) && std::fabs(v) < 1e12;
  return "<td class=\"num\" data-value=\"" + exact(v) + "\">" + escape(count ? exact(v) : format_number(v, 5)) +
         extra + "</td>";
}

const char* kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:1240px;margin:0 auto;padding:16px 20px}
h1{font-size:22px;margin:4px 0}h2{font-size:17px;margin:24px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666;font-size:13px}
.runs span.swatch{display:inline-block;width:14px;height:14px;border-radius:2px;vertical-align:-2px;margin-right:6px}
.runs li{list-style:none;margin:2px 0}.runs{padding:0}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:12px 20px}
figure{margin:0;break-inside:avoid}svg.plot{width:100%;height:auto;display:block}
svg .title{font:600 14px sans-serif;fill:#222}svg .tick{font:11px sans-serif;fill:#555}
svg .label{font:12px sans-serif;fill:#333}svg .legend{font:12px sans-serif;fill:#222}
svg .grid{stroke:#ececec;stroke-width:1}svg .frame{fill:none;stroke:#999;stroke-width:1}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:13px;margin:4px 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f5f5f5}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.same{color:#999}
pre{background:#f7f7f7;padding:8px;font-size:12px;overflow-x:auto}
@media print{body{max-width:none;padding:0}.plots{grid-template-columns:1fr 1fr}h2{break-after:avoid}
.scroll{overflow:visible}th,td{overflow-wrap:anywhere}pre{white-space:pre-wrap;overflow-wrap:anywhere}}
)";

struct PlotSpec {
  std::string title, y_label;
  bool eval;          // points from the evaluation records (markers)
  std::string key;    // field of the record; "" = the run's throughput key
  LinePlot::YScale scale;
};

std::string figure(const std::vector<RunData>& runs, const PlotSpec& spec, double max_step) {
  LinePlot p;
  p.title = spec.title;
  p.y_label = spec.y_label;
  p.y_scale = spec.scale;
  p.x_range = std::make_pair(0.0, max_step);
  bool any = false;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (!runs[i].merge.is_null()) continue;  // a merged model: numbers in the table only
    Series s;
    s.name = runs[i].name;
    s.color = palette(i);
    s.markers = spec.eval;
    const std::string key = spec.key.empty() ? throughput_key(runs[i]) : spec.key;
    for (const auto& rec : spec.eval ? runs[i].eval : runs[i].train) {
      const double v = number(rec, key);
      if (std::isfinite(v)) s.points.emplace_back(rec["step"].get<double>(), v);
    }
    any = any || !s.points.empty();
    p.series.push_back(std::move(s));
  }
  if (!any) return "";
  return "<figure>" + line_plot_svg(p) + "</figure>\n";
}

// "uniform_soup of a, b" from merge.json (its inputs' run folders).
std::string merge_description(const json& merge) {
  std::string out = merge.value("method", std::string("merge"));
  std::string inputs;
  for (const char* key : {"kept", "inputs"})
    if (inputs.empty() && merge.contains(key) && merge[key].is_array())
      for (const auto& in : merge[key])
        if (in.is_string()) {
          const fs::path p = fs::path(in.get<std::string>()).lexically_normal();
          // <run>/checkpoints/step_N: name the run
          const fs::path run = p.parent_path().filename() == "checkpoints" ? p.parent_path().parent_path() : p;
          inputs += (inputs.empty() ? "" : ", ") + run.filename().string();
        }
  if (merge.contains("from") && merge["from"].is_string()) inputs = merge["from"].get<std::string>();
  return inputs.empty() ? out : out + " of " + inputs;
}

// Values of the recipes that differ between the runs (run.name and run.dir left out).
std::string recipe_section(std::vector<RunData> runs) {
  std::string out = "<h2>Recipes</h2>\n";
  std::vector<RunData> all = runs;
  runs.clear();  // those with a recipe
  for (const auto& r : all) {
    if (!r.config_yaml.empty()) runs.push_back(r);
    else if (!r.merge.is_null())
      out += "<p><b>" + escape(r.name) + "</b> is a merged model: " + escape(merge_description(r.merge)) + ".</p>\n";
    else
      out += "<p>" + escape(r.name) + " has no config.yaml.</p>\n";
  }
  std::vector<config::Node> trees;
  for (const auto& r : runs) trees.push_back(config::parse_yaml(r.config_yaml, r.dir + "/config.yaml"));
  if (runs.size() > 1) {
    // Every path that differs from the first run in some run, with each run's value.
    std::vector<std::string> paths;
    std::map<std::string, std::string> base;
    std::vector<std::map<std::string, std::string>> changed(runs.size());
    for (size_t i = 1; i < runs.size(); ++i)
      for (const auto& c : config::diff(trees[0], trees[i])) {
        if (c.path == "run.name" || c.path == "run.dir") continue;
        if (!base.count(c.path)) paths.push_back(c.path);
        base[c.path] = c.before;
        changed[i][c.path] = c.after;
      }
    std::sort(paths.begin(), paths.end());
    if (paths.empty()) {
      out += "<p>The recipes are the same (run.name and run.dir aside).</p>\n";
    } else {
      out += "<p>Keys whose values differ between the runs (run.name and run.dir left out); grey: same as " +
             escape(runs[0].name) + ".</p>\n<div class=\"scroll\"><table class=\"recipe-diff\"><tr><th>key</th>";
      for (const auto& r : runs) out += "<th>" + escape(r.name) + "</th>";
      out += "</tr>\n";
      for (const auto& path : paths) {
        out += "<tr><td><code>" + escape(path) + "</code></td><td>" + escape(base[path]) + "</td>";
        for (size_t i = 1; i < runs.size(); ++i) {
          const auto it = changed[i].find(path);
          out += it == changed[i].end() ? "<td class=\"same\">" + escape(base[path]) + "</td>"
                                        : "<td>" + escape(it->second) + "</td>";
        }
        out += "</tr>\n";
      }
      out += "</table></div>\n";
    }
  }
  for (const auto& r : runs)
    out += "<details><summary>config.yaml of " + escape(r.name) + "</summary><pre>" + escape(r.config_yaml) +
           "</pre></details>\n";
  return out;
}

std::string metrics_table(const std::vector<RunData>& runs) {
  std::string out = "<div class=\"scroll\"><table class=\"metrics\"><tr><th>metric</th>";
  for (const auto& r : runs) out += "<th>" + escape(r.name) + "</th>";
  out += "</tr>\n";
  const auto row = [&](const std::string& label, const std::string& key, auto cell) {
    out += "<tr data-key=\"" + escape(key) + "\"><td>" + escape(label) + "</td>";
    for (const auto& r : runs) out += cell(r);
    out += "</tr>\n";
  };
  const auto summary_num = [](const RunData& r, const std::string& key) {
    return r.summary.is_object() ? number(r.summary, key) : NAN;
  };
  row("steps", "steps", [](const RunData& r) {
    if (!r.merge.is_null()) return td(NAN, " (merged)");
    return td(r.train.empty() ? NAN : r.train.back()["step"].get<double>(), r.summary.is_null() ? " (unfinished)" : "");
  });
  row("wall time (s)", "seconds", [&](const RunData& r) { return td(summary_num(r, "seconds")); });
  row("throughput (/s)", "throughput", [&](const RunData& r) {
    return td(summary_num(r, throughput_key(r)), throughput_key(r) == "samples_per_s" ? " samples" : " tokens");
  });
  row("trainable parameters", "trainable_parameters",
      [&](const RunData& r) { return td(summary_num(r, "trainable_parameters")); });
  row("final train loss", "train_loss", [](const RunData& r) { return td(last_of(r.train, "loss")); });
  for (const auto& k : eval_keys(runs, false)) {
    row("final eval " + k, "eval_" + k, [&](const RunData& r) { return td(last_of(r.eval, "eval_" + k)); });
    row(std::string("best eval ") + k + (lower_is_better(k) ? " (min)" : " (max)"), "best_eval_" + k,
        [&](const RunData& r) {
          const auto b = best_of(r.eval, k);
          return td(b.value, b.step >= 0 ? " @" + std::to_string(b.step) : "");
        });
  }
  for (const auto& k : eval_keys(runs, true))
    row("test " + k, "test_" + k, [&](const RunData& r) { return td(last_of(r.test, "eval_" + k)); });
  return out + "</table></div>\n";
}

std::string environment_section(const std::vector<RunData>& runs) {
  std::vector<std::string> keys;
  for (const auto& r : runs)
    for (const auto& [k, v] : r.environment)
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
  std::string out = "<h2>Environment</h2>\n<div class=\"scroll\"><table class=\"environment\"><tr><th></th>";
  for (const auto& r : runs) out += "<th>" + escape(r.name) + "</th>";
  out += "</tr>\n<tr><td>command</td>";
  for (const auto& r : runs) out += "<td><code>" + escape(r.command) + "</code></td>";
  out += "</tr>\n";
  for (const auto& k : keys) {
    out += "<tr><td>" + escape(k) + "</td>";
    for (const auto& r : runs) {
      std::string value;
      for (const auto& [kk, v] : r.environment)
        if (kk == k) value = v;
      out += "<td>" + escape(value) + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</table></div>\n";
}

// A `ptm bench` report: its console table and bar charts of throughput and step time.
std::string bench_section(const BenchData& b) {
  std::string out = "<h2>Benchmark " + escape(fs::path(b.path).filename().string()) + "</h2>\n<p class=\"meta\">" +
                    escape(b.path) + ", " + escape(b.report.value("created", std::string())) + "</p>\n";
  BarChart throughput, step;
  throughput.title = "throughput";
  step.title = "step time (p50)";
  step.value_label = "ms per step";
  size_t i = 0;
  for (const auto& r : b.report.value("results", json::array())) {
    std::string label = r.value("name", std::string()) + " " + r.value("mode", std::string()) + " b" +
                        (r.contains("batch") && r["batch"].is_number() ? std::to_string(r["batch"].get<int64_t>()) : "?");
    if (r.contains("seq") && r["seq"].is_number()) label += " s" + std::to_string(r["seq"].get<int64_t>());
    if (throughput.value_label.empty()) throughput.value_label = r.value("unit", std::string("per second"));
    const auto& st = r.contains("step_ms") ? r["step_ms"] : json();
    throughput.bars.push_back({label, number(r, "throughput"), palette(i)});
    step.bars.push_back({label, st.is_object() ? number(st, "p50") : NAN, palette(i)});
    ++i;
  }
  out += "<div class=\"plots\"><figure>" + bar_chart_svg(throughput) + "</figure><figure>" + bar_chart_svg(step) +
         "</figure></div>\n";
  return out + "<pre>" + escape(bench::format_table(b.report)) + "</pre>\n";
}

// The folder's name ("runs/a/" -> "a").
std::string folder_name(const std::string& dir) {
  std::string name = fs::path(dir).lexically_normal().filename().string();
  if (name.empty() || name == ".") name = fs::path(dir).lexically_normal().parent_path().filename().string();
  return name;
}

}  // namespace

RunData load_run(const std::string& dir) {
  RunData r;
  r.dir = dir;
  r.name = folder_name(dir);
  const std::string metrics = dir + "/metrics.jsonl";
  if (!fs::is_directory(dir)) throw IoError("'" + dir + "' is not a folder (ptm report reads run directories)");
  if (!fs::exists(metrics))
    throw IoError("'" + dir + "' is not a run directory: it has no metrics.jsonl (ptm report reads the folders "
                  "that ptm pretrain/finetune/distill write, and ptm merge (merge.json), ptm prune (sparsity.json) "
                  "and ptm nas search (points.json) folders)");
  std::map<int64_t, json> train, eval, test;
  std::istringstream in(fs_util::read_file(metrics));
  for (std::string line; std::getline(in, line);) {
    json rec;
    try {
      rec = json::parse(line);
    } catch (const json::exception&) {
      continue;  // torn by a kill
    }
    if (!rec.is_object() || !rec.contains("step") || !rec["step"].is_number_integer()) continue;
    const std::string split = rec.value("split", std::string());
    auto& into = split.empty() ? train : split == "test" ? test : eval;
    into[rec["step"].get<int64_t>()] = rec;
  }
  for (auto& [s, rec] : train) r.train.push_back(std::move(rec));
  for (auto& [s, rec] : eval) r.eval.push_back(std::move(rec));
  for (auto& [s, rec] : test) r.test.push_back(std::move(rec));
  if (fs::exists(dir + "/summary.json")) {
    try {
      r.summary = json::parse(fs_util::read_file(dir + "/summary.json"));
    } catch (const json::exception& e) {
      throw IoError("'" + dir + "/summary.json' is not valid JSON: " + e.what());
    }
  }
  if (fs::exists(dir + "/config.yaml")) r.config_yaml = fs_util::read_file(dir + "/config.yaml");
  if (fs::exists(dir + "/cmdline.txt")) {
    std::istringstream cmd(fs_util::read_file(dir + "/cmdline.txt"));
    std::getline(cmd, r.command);
    for (std::string line; std::getline(cmd, line);) {
      const auto colon = line.find(": ");
      if (colon != std::string::npos) r.environment.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    }
  }
  return r;
}

RunData load_merged(const std::string& dir) {
  RunData r;
  r.dir = dir;
  r.name = folder_name(dir);
  r.merge = read_json_file(dir + "/merge.json");
  // ptm eval's JSON ({"accuracy": ..., "loss": ...}) as an evaluation record at no step.
  const auto record = [](const json& eval, const char* split) {
    json rec = {{"step", -1}, {"split", split}};
    for (const auto& [k, v] : eval.items())
      if (v.is_number()) rec["eval_" + k] = v;
    return rec;
  };
  if (fs::exists(dir + "/eval.json"))
    r.eval.push_back(record(read_json_file(dir + "/eval.json"), "val"));
  else if (r.merge.contains("soup_eval") && r.merge["soup_eval"].is_object())
    r.eval.push_back(record(r.merge["soup_eval"], "val"));
  if (fs::exists(dir + "/eval_test.json")) r.test.push_back(record(read_json_file(dir + "/eval_test.json"), "test"));
  r.summary = r.merge;  // finished
  return r;
}

ReportInputs load_inputs(const std::vector<std::string>& paths) {
  ReportInputs in;
  for (const auto& p : paths) {
    if (fs::is_directory(p) && fs::exists(p + "/points.json")) {
      in.searches.push_back(load_search(p, folder_name(p)));
      continue;
    }
    if (fs::is_directory(p) && fs::exists(p + "/merge.json")) {
      in.runs.push_back(load_merged(p));
      continue;
    }
    if (fs::is_directory(p) && fs::exists(p + "/sparsity.json")) {
      in.prunes.push_back(load_prune(p, folder_name(p)));
      if (!fs::exists(p + "/metrics.jsonl")) continue;  // no recovery fine-tune
    }
    if (fs::is_regular_file(p)) {
      json report;
      try {
        report = json::parse(fs_util::read_file(p));
      } catch (const json::exception& e) {
        throw IoError("'" + p + "' is not valid JSON (ptm report reads run directories and `ptm bench --json` "
                      "files): " + e.what());
      }
      if (!report.is_object() || report.value("schema", std::string()) != bench::kSchema)
        throw IoError("'" + p + "' is not a `ptm bench --json` report (schema " + std::string(bench::kSchema) + ")");
      in.benches.push_back({p, std::move(report)});
    } else {
      in.runs.push_back(load_run(p));
    }
  }
  std::map<std::string, int> seen;
  for (const auto& r : in.runs) ++seen[r.name];
  for (auto& r : in.runs)
    if (seen[r.name] > 1) r.name = r.dir;
  return in;
}

std::string html_report(const ReportInputs& inputs) {
  const auto& runs = inputs.runs;
  double max_step = 1;
  for (const auto& r : runs) {
    if (!r.train.empty()) max_step = std::max(max_step, r.train.back()["step"].get<double>());
    if (!r.eval.empty()) max_step = std::max(max_step, r.eval.back()["step"].get<double>());
  }
  std::string title = "ptm report: ";
  for (size_t i = 0; i < runs.size(); ++i) title += (i ? ", " : "") + runs[i].name;
  std::vector<std::string> others;
  for (const auto& p : inputs.prunes) others.push_back(p.name);
  for (const auto& s : inputs.searches) others.push_back(s.name);
  for (const auto& b : inputs.benches) others.push_back(fs::path(b.path).filename().string());
  for (size_t i = 0; i < others.size(); ++i) title += (i || !runs.empty() ? ", " : "") + others[i];
  char when[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", std::gmtime(&now));

  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/><title>" +
                    escape(title) + "</title><style>" + kStyle + "</style></head>\n<body>\n<h1>" + escape(title) +
                    "</h1>\n<p class=\"meta\">Written by ptm " + escape(version()) + " on " + when + ".</p>\n";
  if (!runs.empty()) {
    out += "<ul class=\"runs\">";
    for (size_t i = 0; i < runs.size(); ++i)
      out += "<li><span class=\"swatch\" style=\"background:" + palette(i) + "\"></span><b>" +
             escape(runs[i].name) + "</b> <span class=\"meta\">" + escape(runs[i].dir) +
             (runs[i].summary.is_null() ? " (unfinished)" : "") +
             (runs[i].merge.is_null() ? "" : " (" + escape(merge_description(runs[i].merge)) + ")") + "</span></li>";
    // The numbers first: a comparison is read from the table, the curves show how it came about.
    out += "</ul>\n<h2>Final and best metrics</h2>\n" + metrics_table(runs) + "<h2>Curves</h2>\n<div class=\"plots\">\n";
    using S = LinePlot::YScale;
    std::vector<PlotSpec> specs = {{"training loss", "loss", false, "loss", S::Auto},
                                   {"evaluation loss", "loss", true, "eval_loss", S::Auto},
                                   {"learning rate", "lr", false, "lr", S::Linear},
                                   {"throughput", throughput_label(runs), false, "", S::Linear}};
    for (const auto& k : eval_keys(runs, false))
      if (k != "loss" && k != "perplexity") specs.push_back({"evaluation " + k, k, true, "eval_" + k, S::Linear});
    specs.push_back({"gradient norm (before clipping)", "L2 norm", false, "grad_norm", S::Auto});
    specs.push_back({"peak memory per log interval", "bytes", false, "peak_memory_bytes", S::Linear});
    for (const auto& spec : specs) out += figure(runs, spec, max_step);
    out += "</div>\n";
    out += recipe_section(runs);
    out += environment_section(runs);
  }
  for (const auto& p : inputs.prunes) out += prune_section(p);
  for (const auto& s : inputs.searches) out += search_section(s);
  for (const auto& b : inputs.benches) out += bench_section(b);
  return out + "</body></html>\n";
}

std::string text_summary(const ReportInputs& inputs) {
  const auto& runs = inputs.runs;
  std::string out;
  for (const auto& r : runs) {
    const std::string tkey = throughput_key(r);
    out += r.name + " (" + r.dir + "): ";
    if (!r.merge.is_null()) {
      out += merge_description(r.merge) + "\n";
      for (const auto& [records, label] : {std::make_pair(&r.eval, "eval"), std::make_pair(&r.test, "test")}) {
        std::string line;
        for (const auto& k : eval_keys({r}, records == &r.test))
          line += (line.empty() ? "" : ", ") + k + " " + format_number(last_of(*records, "eval_" + k), 5);
        if (!line.empty()) out += std::string("  ") + label + " " + line + "\n";
      }
      continue;
    }
    out += r.train.empty() ? "no steps logged" : std::to_string(r.train.back()["step"].get<int64_t>()) + " steps";
    if (r.summary.is_object()) {
      out += ", " + format_number(number(r.summary, "seconds"), 4) + " s, " +
             format_number(number(r.summary, tkey), 4, true) + (tkey == "samples_per_s" ? " samples/s" : " tokens/s");
    } else {
      out += " (unfinished)";
    }
    out += "\n";
    if (!r.train.empty()) out += "  train loss " + format_number(last_of(r.train, "loss"), 5) + "\n";
    for (const auto& k : eval_keys({r}, false)) {
      const auto b = best_of(r.eval, k);
      out += "  eval " + k + " " + format_number(last_of(r.eval, "eval_" + k), 5) + " (best " +
             format_number(b.value, 5) + " at step " + std::to_string(b.step) + ")\n";
    }
    std::string test;
    for (const auto& k : eval_keys({r}, true))
      test += (test.empty() ? "" : ", ") + k + " " + format_number(last_of(r.test, "eval_" + k), 5);
    if (!test.empty()) out += "  test " + test + "\n";
  }
  if (runs.size() > 1) {
    std::set<std::string> differ;
    for (size_t i = 1; i < runs.size(); ++i) {
      if (runs[0].config_yaml.empty() || runs[i].config_yaml.empty()) continue;
      for (const auto& c : config::diff(config::parse_yaml(runs[0].config_yaml, runs[0].dir + "/config.yaml"),
                                        config::parse_yaml(runs[i].config_yaml, runs[i].dir + "/config.yaml")))
        if (c.path != "run.name" && c.path != "run.dir") differ.insert(c.path);
    }
    std::string keys;
    for (const auto& k : differ) keys += (keys.empty() ? "" : ", ") + k;
    out += differ.empty() ? "recipes: the same\n" : "recipes differ in: " + keys + "\n";
  }
  for (const auto& p : inputs.prunes) out += prune_text(p);
  for (const auto& s : inputs.searches) out += search_text(s);
  for (const auto& b : inputs.benches) out += b.path + ":\n" + bench::format_table(b.report);
  return out;
}

}  // namespace ptm::report
