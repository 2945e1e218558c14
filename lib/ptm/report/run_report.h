// `ptm report RUN [RUN ...]`: what one or several training runs did, from their run
// directories (metrics.jsonl, summary.json, config.yaml, cmdline.txt), merged models beside
// them (a `ptm merge` folder: merge.json, scored by `ptm eval` into eval.json and
// eval_test.json), what `ptm prune` and `ptm nas search` found (result_sections.h) and what
// `ptm bench` measured (its --json files): one self-contained HTML page (inline SVG, no
// JavaScript, no network) or a short terminal summary.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/report/result_sections.h"

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
  nlohmann::json merge;                  // merge.json of a `ptm merge` folder (no training records)
};

// Reads a run directory. IoError naming the folder when it holds no metrics.jsonl; lines torn
// by a kill are skipped. A step logged twice keeps its last record.
RunData load_run(const std::string& dir);
// A `ptm merge` folder as a run without steps: its validation metrics from eval.json (else
// merge.json's soup_eval), its test metrics from eval_test.json (`ptm eval --split test --out`).
RunData load_merged(const std::string& dir);
struct BenchData {
  std::string path;
  nlohmann::json report;  // schema ptm.bench/1 (lib/ptm/bench/report.h)
};

struct ReportInputs {
  std::vector<RunData> runs;
  std::vector<BenchData> benches;
  std::vector<PruneData> prunes;     // folders with sparsity.json (a recovered one is also a run)
  std::vector<SearchData> searches;  // folders with points.json
};

// Each path is a run directory, a `ptm merge`, `ptm prune` or `ptm nas search` folder, or a
// `ptm bench --json` file; run names are made unique (the folder name, else the path).
// IoError naming the path for anything else.
ReportInputs load_inputs(const std::vector<std::string>& paths);

std::string html_report(const ReportInputs& inputs);
std::string text_summary(const ReportInputs& inputs);

}  // namespace ptm::report
