// `ptm report RUN [RUN ...]`: what one or several training runs did, from their run
// directories (metrics.jsonl, summary.json, config.yaml, cmdline.txt): one self-contained
// HTML page (inline SVG, no JavaScript, no network) or a short terminal summary.
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
// Loads each folder and makes the names unique (the folder name, else the path).
std::vector<RunData> load_runs(const std::vector<std::string>& dirs);

std::string html_report(const std::vector<RunData>& runs);
std::string text_summary(const std::vector<RunData>& runs);

}  // namespace ptm::report
