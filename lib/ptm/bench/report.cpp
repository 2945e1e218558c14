// Bench report: JSON assembly, CSV, console tables, baselines and ratios.
#include "ptm/bench/report.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"

namespace ptm::bench {
namespace {

using nlohmann::json;

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const json& at_or_null(const json& j, const std::string& key) {
  static const json null_value;
  if (!j.is_object()) return null_value;
  const auto it = j.find(key);
  return it == j.end() ? null_value : *it;
}

// Value of one CSV column for a result; nested values by prefix.
json column_value(const json& report, const json& r, const std::string& col) {
  const auto& env = at_or_null(report, "environment");
  if (col.rfind("step_ms_", 0) == 0) return at_or_null(at_or_null(r, "step_ms"), col.substr(8));
  for (const char* phase : {"data", "forward", "backward", "optimizer"})
    if (col == std::string(phase) + "_ms") return at_or_null(at_or_null(r, "phase_ms"), phase);
  if (col == "ptm_version") return at_or_null(at_or_null(env, "ptm"), "version");
  if (col == "git_revision") return at_or_null(at_or_null(env, "ptm"), "git_revision");
  if (col == "torch") return at_or_null(at_or_null(env, "torch"), "version");
  if (col == "threads") return at_or_null(at_or_null(env, "cpu"), "intra_op_threads");
  if (col == "created") return at_or_null(report, "created");
  return at_or_null(r, col);
}

std::string csv_cell(const json& v) {
  if (v.is_null()) return "";
  if (!v.is_string()) return v.dump();
  const auto& s = v.get_ref<const std::string&>();
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

std::string num(const json& v, const char* f) { return v.is_number() ? fmt(f, v.get<double>()) : "-"; }

std::string bytes(const json& v) {
  if (!v.is_number()) return "-";
  const double b = v.get<double>();
  return b >= (1LL << 30) ? fmt("%.2f GiB", b / (1LL << 30)) : fmt("%.0f MiB", b / (1 << 20));
}

std::string pad(const std::string& s, size_t w) {
  return s.size() >= w ? s + " " : std::string(w - s.size(), ' ') + s + " ";
}

// Peer records ({"tokens_per_s", "batch", "seq", ...}) as minimal results.
json peer_as_result(const json& p) {
  json r = {{"batch", at_or_null(p, "batch")}, {"seq", at_or_null(p, "seq")}, {"peer", true}};
  r["name"] = p.value("impl", std::string("peer"));
  const bool tokens = p.contains("tokens_per_s");
  r["throughput"] = tokens ? p["tokens_per_s"] : at_or_null(p, "samples_per_s");
  r["unit"] = tokens ? "tokens/s" : "samples/s";
  r["step_ms"] = {{"p50", at_or_null(p, "ms_per_step")}};
  const auto& mem = at_or_null(p, "peak_mem_gb");
  r["peak_memory_bytes"] = mem.is_number() ? json(mem.get<double>() * double(1LL << 30)) : json();
  return r;
}

}  // namespace

json make_report(const json& environment, const std::vector<std::string>& argv, json results) {
  return {{"schema", kSchema},
          {"created", utc_now()},
          {"command", argv},
          {"environment", environment},
          {"results", std::move(results)}};
}

const std::vector<std::string>& csv_columns() {
  static const std::vector<std::string> cols{"name",
                                             "model",
                                             "arch",
                                             "mode",
                                             "dtype",
                                             "device",
                                             "device_name",
                                             "batch",
                                             "seq",
                                             "warmup",
                                             "iters",
                                             "status",
                                             "params",
                                             "macs_per_sample",
                                             "flops_per_step",
                                             "unit",
                                             "throughput",
                                             "tokens_per_s",
                                             "samples_per_s",
                                             "step_ms_mean",
                                             "step_ms_p50",
                                             "step_ms_p90",
                                             "step_ms_p99",
                                             "data_ms",
                                             "forward_ms",
                                             "backward_ms",
                                             "optimizer_ms",
                                             "peak_memory_bytes",
                                             "peak_memory_kind",
                                             "peak_flops",
                                             "mfu",
                                             "achieved_tflops",
                                             "loss",
                                             "ptm_version",
                                             "git_revision",
                                             "torch",
                                             "threads",
                                             "created"};
  return cols;
}

std::string to_csv(const json& report) {
  std::ostringstream out;
  const auto& cols = csv_columns();
  for (size_t i = 0; i < cols.size(); ++i) out << (i ? "," : "") << cols[i];
  out << "\n";
  for (const auto& r : at_or_null(report, "results")) {
    for (size_t i = 0; i < cols.size(); ++i) out << (i ? "," : "") << csv_cell(column_value(report, r, cols[i]));
    out << "\n";
  }
  return out.str();
}

std::string format_table(const json& report) {
  std::ostringstream out;
  const auto& results = at_or_null(report, "results");
  const auto& env = at_or_null(report, "environment");
  out << pad("name", 14) << pad("mode", 6) << pad("dtype", 5) << pad("batch", 6) << pad("seq", 5)
      << pad("throughput", 16) << pad("ms p50", 8) << pad("p90", 8) << pad("p99", 8) << pad("data", 7) << pad("fwd", 8)
      << pad("bwd", 8) << pad("opt", 7) << pad("peak mem", 10) << pad("TFLOP/s", 8) << pad("MFU", 6) << "\n";
  for (const auto& r : results) {
    const auto& st = at_or_null(r, "step_ms");
    const auto& ph = at_or_null(r, "phase_ms");
    const bool ok = at_or_null(r, "status") == "ok";
    const auto& tv = at_or_null(r, "throughput");
    std::string thr =
        ok ? num(tv, tv.is_number() && tv.get<double>() < 100 ? "%.2f" : "%.0f") + " " + r.value("unit", std::string())
           : "out of memory";
    out << pad(r.value("name", std::string()), 14) << pad(r.value("mode", std::string()), 6)
        << pad(r.value("dtype", std::string()), 5) << pad(num(at_or_null(r, "batch"), "%.0f"), 6)
        << pad(num(at_or_null(r, "seq"), "%.0f"), 5) << pad(thr, 16) << pad(num(at_or_null(st, "p50"), "%.1f"), 8)
        << pad(num(at_or_null(st, "p90"), "%.1f"), 8) << pad(num(at_or_null(st, "p99"), "%.1f"), 8)
        << pad(num(at_or_null(ph, "data"), "%.2f"), 7) << pad(num(at_or_null(ph, "forward"), "%.1f"), 8)
        << pad(num(at_or_null(ph, "backward"), "%.1f"), 8) << pad(num(at_or_null(ph, "optimizer"), "%.1f"), 7)
        << pad(bytes(at_or_null(r, "peak_memory_bytes")), 10) << pad(num(at_or_null(r, "achieved_tflops"), "%.3f"), 8)
        << pad(at_or_null(r, "mfu").is_number() ? fmt("%.1f%%", 100 * r["mfu"].get<double>()) : "-", 6) << "\n";
  }
  if (!results.empty()) {
    const auto& r0 = results[0];
    out << "times in ms per step (phases: means); peak memory: " << r0.value("peak_memory_kind", std::string()) << "\n";
    if (at_or_null(r0, "ranks").is_number() && r0["ranks"].get<int>() > 1) {
      out << "data parallel: " << r0["ranks"].get<int>()
          << " ranks, batch per rank, throughput of all ranks; one all-reduce of every gradient alone:";
      for (const auto& r : results) out << " " << num(at_or_null(r, "comm_ms"), "%.2f") << " ms";
      out << " (overlapped with the backward pass in the step)\n";
    }
    if (r0.value("cuda_graph", false))
      out << "cuda graph: each step replays one captured graph (forward to optimizer; phase_ms.graph "
          << num(at_or_null(at_or_null(r0, "phase_ms"), "graph"), "%.1f") << " ms)\n";
    out << "model " << r0.value("model", std::string()) << ": " << num(at_or_null(r0, "params"), "%.0f")
        << " parameters, " << num(at_or_null(r0, "macs_per_sample"), "%.4g") << " MACs per sample at seq "
        << num(at_or_null(r0, "seq"), "%.0f") << "\n";
    out << "FLOPs: " << r0.value("flop_formula", std::string()) << "\n";
    const auto& src = at_or_null(r0, "peak_flops_source");
    out << "peak FLOP/s: "
        << (src.is_string() ? num(at_or_null(r0, "peak_flops"), "%.4g") + " (" + src.get<std::string>() + ")"
                            : std::string("unknown for this device (MFU null; give --peak-flops)"))
        << "\n";
  }
  const auto& ptm = at_or_null(env, "ptm");
  const auto& cpu = at_or_null(env, "cpu");
  out << "device " << (results.empty() ? std::string("-") : results[0].value("device_name", std::string())) << "; ptm "
      << ptm.value("version", std::string()) << " (git " << ptm.value("git_revision", std::string()) << "), torch "
      << at_or_null(env, "torch").value("version", std::string()) << ", CPU " << cpu.value("model", std::string())
      << ", " << num(at_or_null(cpu, "intra_op_threads"), "%.0f") << " threads\n";
  return out.str();
}

json read_baseline(const std::string& path) {
  const std::string text = fs_util::read_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception&) {
  }
  json records = json::array();  // JSON lines
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      records.push_back(json::parse(line));
    } catch (const json::exception& e) {
      throw IoError(path + ":" + std::to_string(n) +
                    ": not JSON (a ptm bench --json report or peer JSON lines): " + e.what());
    }
  }
  if (records.empty()) throw IoError(path + ": empty baseline");
  return records;
}

json compare(const json& report, const json& baseline) {
  json base = json::array();
  if (baseline.is_object() && baseline.contains("results")) {
    base = baseline["results"];
  } else {
    for (const auto& p : baseline.is_array() ? baseline : json::array({baseline}))
      if (p.is_object()) base.push_back(p.contains("results") ? json() : peer_as_result(p));
  }
  json out = json::array();
  for (const auto& r : at_or_null(report, "results")) {
    for (const auto& b : base) {
      if (!b.is_object() || at_or_null(b, "batch") != at_or_null(r, "batch") ||
          at_or_null(b, "seq") != at_or_null(r, "seq"))
        continue;
      if (!b.contains("peer") &&
          (at_or_null(b, "name") != at_or_null(r, "name") || at_or_null(b, "mode") != at_or_null(r, "mode") ||
           at_or_null(b, "dtype") != at_or_null(r, "dtype")))
        continue;
      auto ratio = [](const json& a, const json& c) {
        return a.is_number() && c.is_number() && c.get<double>() > 0 ? json(a.get<double>() / c.get<double>()) : json();
      };
      const auto& p50 = at_or_null(at_or_null(r, "step_ms"), "p50");
      const auto& bp50 = at_or_null(at_or_null(b, "step_ms"), "p50");
      out.push_back(
          {{"name", at_or_null(r, "name")},
           {"baseline_name", at_or_null(b, "name")},
           {"mode", at_or_null(r, "mode")},
           {"dtype", at_or_null(r, "dtype")},
           {"batch", at_or_null(r, "batch")},
           {"seq", at_or_null(r, "seq")},
           {"unit", at_or_null(r, "unit")},
           {"throughput", at_or_null(r, "throughput")},
           {"baseline_throughput", at_or_null(b, "throughput")},
           {"throughput_ratio", ratio(at_or_null(r, "throughput"), at_or_null(b, "throughput"))},
           {"step_p50_speedup", ratio(bp50, p50)},
           {"peak_memory_ratio", ratio(at_or_null(r, "peak_memory_bytes"), at_or_null(b, "peak_memory_bytes"))}});
      break;
    }
  }
  return out;
}

std::string format_comparison(const json& cmp, const std::string& baseline_name) {
  std::ostringstream out;
  out << "comparison with " << baseline_name
      << " (throughput and memory: this run / baseline; p50: baseline / this run)\n";
  if (cmp.empty()) return out.str() + "  no matching configuration in the baseline\n";
  out << pad("name", 14) << pad("baseline", 16) << pad("mode", 6) << pad("batch", 6) << pad("seq", 5)
      << pad("throughput", 12) << pad("baseline", 12) << pad("ratio", 7) << pad("p50 x", 7) << pad("mem x", 7) << "\n";
  for (const auto& c : cmp) {
    out << pad(c.value("name", std::string()), 14)
        << pad(c["baseline_name"].is_string() ? c["baseline_name"].get<std::string>() : "-", 16)
        << pad(c["mode"].is_string() ? c["mode"].get<std::string>() : "-", 6) << pad(num(c["batch"], "%.0f"), 6)
        << pad(num(c["seq"], "%.0f"), 5) << pad(num(c["throughput"], "%.0f"), 12)
        << pad(num(c["baseline_throughput"], "%.0f"), 12) << pad(num(c["throughput_ratio"], "%.2fx"), 7)
        << pad(num(c["step_p50_speedup"], "%.2fx"), 7) << pad(num(c["peak_memory_ratio"], "%.2fx"), 7) << "\n";
  }
  return out.str();
}

void write_outputs(const json& report, const std::string& json_path, const std::string& csv_path) {
  if (!json_path.empty() && json_path != "-") fs_util::write_file_atomic(json_path, report.dump(2) + "\n");
  if (!csv_path.empty()) fs_util::write_file_atomic(csv_path, to_csv(report));
}

}  // namespace ptm::bench
