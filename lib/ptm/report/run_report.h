// `ptm report RUN [RUN ...]`: what one or several training runs did, from their run
// directories (metrics.jsonl, summary.json, config.yaml, cmdline.txt), and what `ptm bench`
// measured (its --json files): one self-contained HTML page (inline SVG, no JavaScript, no
// network) or a short terminal summary.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ptm::report {

struct RunData {
  std::string dir;
  std::string name;                      // shown in legends and tables (unique among the runs)
  std::vector<nlohmann::json> train;     // metrics.jsonl records without "split"
  std::vector<nlohmann::json> eval;      // split "val"
  std::vector<nlohmann::json> test;      // split "test"
  nlohmann::json summary;                // summary.json; null while the run is unfinished
  std::string config_yaml;               // config.yaml ("" when absent)
  std::vector<std::pair<std::string, std::string>> environment;  // cmdline.txt's "key: value" lines
  std::string command;                   // cmdline.txt's first line
};

// Reads a run directory. IoError naming the folder when it holds no metrics.jsonl; lines torn
// by a kill are skipped. A step logged twice keeps its last record.
RunData load_run(const std::string& dir);
struct BenchData {
  std::string path;
  nlohmann::json report;  // schema ptm.bench/1 (lib/ptm/bench/report.h)
};

struct ReportInputs {
  std::vector<RunData> runs;
  std::vector<BenchData> benches;
};

// Each path is a run directory or a `ptm bench --json` file; run names are made unique (the
// folder name, else the path). IoError naming the path for anything else.
ReportInputs load_inputs(const std::vector<std::string>& paths);

std::string html_report(const ReportInputs& inputs);
std::string text_summary(const ReportInputs& inputs);

}  // namespace ptm::report
