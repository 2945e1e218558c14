// `ptm bench` results as JSON (schema "ptm.bench/1"), CSV and a console table, and the
// comparison with a baseline. Torch-free: the runner fills plain JSON, everything else here.
//
// Report: {"schema", "created" (UTC, ISO 8601), "command" [argv], "environment" (ptm::environment()),
//          "results": [result...], "comparison": [...] (with --compare)}
// Result (one per configuration): name, model, arch, mode, dtype, device, device_name, batch,
//   seq (null for images), warmup, iters, status ("ok" | "out_of_memory"), timer, params,
//   macs_per_sample, forward_flops_per_sample, flops_per_step, flop_formula, unit ("tokens/s" |
//   "samples/s"), throughput, tokens_per_s (null for images), samples_per_s, wall_s,
//   step_ms {mean, min, max, p50, p90, p99}, phase_ms {data, forward, backward, optimizer}
//   (means; backward/optimizer null in infer mode), peak_memory_bytes, peak_memory_kind,
//   peak_flops, peak_flops_source, mfu (null without a peak), achieved_tflops, loss.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ptm::bench {

inline constexpr const char* kSchema = "ptm.bench/1";

nlohmann::json make_report(const nlohmann::json& environment, const std::vector<std::string>& argv,
                           nlohmann::json results);

// CSV: a header of csv_columns(), then one row per result (environment columns repeated).
const std::vector<std::string>& csv_columns();
std::string to_csv(const nlohmann::json& report);

// The console table: one row per configuration, the formula and the environment underneath.
std::string format_table(const nlohmann::json& report);

// Reads a baseline: a ptm bench JSON report, or JSON (lines) records with tokens_per_s or
// samples_per_s plus batch and seq (the PyTorch peers' output). IoError naming the file.
nlohmann::json read_baseline(const std::string& path);

// One entry per result with a matching baseline record (same name, mode, dtype, batch,
// seq for ptm reports; same batch and seq for peer records): throughput ratio (this / baseline),
// step p50 ratio (baseline / this, > 1 = faster), peak memory ratio (this / baseline).
nlohmann::json compare(const nlohmann::json& report, const nlohmann::json& baseline);
std::string format_comparison(const nlohmann::json& comparison, const std::string& baseline_name);

// Writes the JSON report and/or the CSV (empty path: skipped; atomic writes, IoError on failure).
void write_outputs(const nlohmann::json& report, const std::string& json_path, const std::string& csv_path);

}  // namespace ptm::bench
