// The torch-free parts of `ptm bench`: percentiles, the MFU arithmetic and peak table, option
// checks, CSV columns, baselines and --compare ratios. Expected values are worked by hand
// (numpy.percentile gives the same percentiles).
#include <cmath>

#include "catch.h"
#include "helpers.h"
#include "ptm/bench/mfu.h"
#include "ptm/bench/options.h"
#include "ptm/bench/report.h"
#include "ptm/bench/stats.h"
#include "ptm/core/errors.h"

using nlohmann::json;
namespace b = ptm::bench;

TEST_CASE("bench percentiles interpolate like numpy", "[unit][bench]") {
  const std::vector<double> v{10, 1, 4, 3, 2};  // sorted: 1 2 3 4 10
  CHECK(b::percentile(v, 50) == Approx(3.0));
  CHECK(b::percentile(v, 90) == Approx(7.6));   // pos 3.6: 4 + 0.6 * (10 - 4)
  CHECK(b::percentile(v, 99) == Approx(9.76));  // pos 3.96: 4 + 0.96 * 6
  CHECK(b::percentile(v, 25) == Approx(2.0));
  CHECK(b::percentile(v, 0) == Approx(1.0));
  CHECK(b::percentile(v, 100) == Approx(10.0));
  CHECK(b::percentile({5}, 99) == Approx(5.0));
  CHECK(b::percentile({}, 50) == 0.0);
  const auto s = b::summarize(v);
  CHECK(s.count == 5);
  CHECK(s.mean == Approx(4.0));
  CHECK(s.min == 1.0);
  CHECK(s.max == 10.0);
  CHECK(s.p90 == Approx(7.6));
}

TEST_CASE("bench MFU arithmetic and the peak FLOPs table", "[unit][bench]") {
  // 1 GFLOP forward per sample, batch 16: train = 3 x 1e9 x 16 = 4.8e10 FLOPs per step.
  CHECK(b::step_flops(1e9, 16, true) == Approx(4.8e10));
  CHECK(b::step_flops(1e9, 16, false) == Approx(1.6e10));
  const auto h100 = b::gpu_peak_flops("NVIDIA H100 80GB HBM3", "bf16");
  REQUIRE(h100);
  CHECK(h100->flops == Approx(989.4e12));
  CHECK(ptm::test::contains(h100->source, "H100 SXM"));
  // 4.8e10 FLOPs in 0.1 s = 4.8e11 FLOP/s over 989.4e12 = 4.8514251e-4.
  const auto u = b::mfu(4.8e10, 0.1, h100);
  REQUIRE(u);
  CHECK(*u == Approx(4.8514251e-4).epsilon(1e-6));
  CHECK(b::gpu_peak_flops("NVIDIA H200", "bf16")->flops == Approx(989.4e12));
  CHECK(b::gpu_peak_flops("NVIDIA H100 PCIe", "bf16")->flops == Approx(756e12));
  CHECK(b::gpu_peak_flops("NVIDIA A100-SXM4-80GB", "bf16")->flops == Approx(312e12));
  CHECK(b::gpu_peak_flops("NVIDIA A100-SXM4-80GB", "fp32")->flops == Approx(19.5e12));
  CHECK_FALSE(b::gpu_peak_flops("Tesla T4", "bf16"));
  CHECK_FALSE(b::gpu_peak_flops("AMD EPYC 7B13", "fp32"));
  CHECK_FALSE(b::mfu(4.8e10, 0.1, std::nullopt));
  CHECK_FALSE(b::mfu(4.8e10, 0.0, h100));
  // A CPU peak given by the user: 2.4e9 FLOPs in 1.2 s over 1e10 FLOP/s = 0.2.
  CHECK(*b::mfu(2.4e9, 1.2, b::PeakFlops{1e10, "--peak-flops"}) == Approx(0.2));
  CHECK(ptm::test::contains(b::flop_formula(true), "3 x F(T) x batch"));
  CHECK(ptm::test::contains(b::flop_formula(false), "F(T) x batch (forward only)"));
}

TEST_CASE("bench options name the bad option", "[unit][bench]") {
  CHECK(b::parse_int_list("8,16,32", "--batch") == std::vector<int64_t>{8, 16, 32});
  CHECK(b::parse_int_list("1024", "--seq") == std::vector<int64_t>{1024});
  for (const char* bad : {"8,,16", "0", "abc", "8,x", "", "16,"})
    CHECK(ptm::test::contains(ptm::test::error_of([&] { b::parse_int_list(bad, "--batch"); }), "--batch"));
  b::BenchOptions o;
  o.model = "configs/models/gpt_tiny.yaml";
  CHECK(ptm::test::error_of([&] { b::validate(o); }) == "no error");
  o.mode = "trian";
  const auto e = ptm::test::error_of([&] { b::validate(o); });
  CHECK(ptm::test::contains(e, "--mode"));
  CHECK(ptm::test::contains(e, "trian"));
  o.mode = "infer";
  o.dtype = "fp16";
  o.iters = 0;
  const auto e2 = ptm::test::error_of([&] { b::validate(o); });
  CHECK(ptm::test::contains(e2, "--dtype"));
  CHECK(ptm::test::contains(e2, "--iters"));
  o = b::BenchOptions{};
  CHECK(ptm::test::contains(ptm::test::error_of([&] { b::validate(o); }), "--config/--model"));
  CHECK_THROWS_AS(b::validate(o), ptm::ConfigError);
}

namespace {

json result(double throughput, double p50, json mem, int64_t batch) {
  return {{"name", "gpt_tiny"},
          {"model", "configs/models/gpt_tiny.yaml"},
          {"mode", "train"},
          {"dtype", "fp32"},
          {"batch", batch},
          {"seq", 256},
          {"status", "ok"},
          {"unit", "tokens/s"},
          {"throughput", throughput},
          {"step_ms", {{"p50", p50}, {"p90", p50 * 1.5}}},
          {"phase_ms", {{"data", 0.5}, {"backward", nullptr}}},
          {"peak_memory_bytes", mem},
          {"device_name", "CPU, with a comma"}};
}

}  // namespace

TEST_CASE("bench CSV has one column per field and quotes text", "[unit][bench]") {
  const json env = {{"ptm", {{"version", "0.1.0"}, {"git_revision", "abc"}}},
                    {"torch", {{"version", "2.11.0"}}},
                    {"cpu", {{"model", "x"}, {"intra_op_threads", 2}}}};
  const auto report = b::make_report(env, {"ptm", "bench"}, json::array({result(2000, 100, 2e9, 8)}));
  CHECK(report["schema"] == "ptm.bench/1");
  const auto csv = b::to_csv(report);
  const auto nl = csv.find('\n');
  const auto header = csv.substr(0, nl);
  const auto row = csv.substr(nl + 1, csv.find('\n', nl + 1) - nl - 1);
  std::string expected;
  for (const auto& c : b::csv_columns()) expected += (expected.empty() ? "" : ",") + c;
  CHECK(header == expected);
  for (const char* col : {"throughput", "step_ms_p50", "step_ms_p99", "data_ms", "forward_ms", "backward_ms",
                          "optimizer_ms", "peak_memory_bytes", "mfu", "git_revision", "torch", "threads"})
    CHECK(ptm::test::contains("," + header + ",", std::string(",") + col + ","));
  CHECK(ptm::test::contains(row, "\"CPU, with a comma\""));
  CHECK(ptm::test::contains(row, ",2000.0,"));  // throughput
  CHECK(ptm::test::contains(row, ",100.0,"));   // step_ms_p50
  CHECK(ptm::test::contains(row, ",0.5,"));     // data_ms
  CHECK(ptm::test::contains(row, ",abc,2.11.0,2,"));
  // Same number of cells as columns once the quoted comma is discounted.
  CHECK(std::count(row.begin(), row.end(), ',') - 1 == std::count(header.begin(), header.end(), ','));
}

TEST_CASE("bench compare gives ratios per matching configuration", "[unit][bench]") {
  const auto report =
      b::make_report(json::object(), {}, json::array({result(2000, 100, 2e9, 8), result(500, 10, nullptr, 4)}));
  const json base = b::make_report(json::object(), {}, json::array({result(1000, 200, 1e9, 8), result(1, 1, 1, 32)}));
  const auto cmp = b::compare(report, base);
  REQUIRE(cmp.size() == 1);  // batch 4 has no baseline
  CHECK(cmp[0]["batch"] == 8);
  CHECK(cmp[0]["throughput_ratio"].get<double>() == Approx(2.0));
  CHECK(cmp[0]["step_p50_speedup"].get<double>() == Approx(2.0));  // 200 ms -> 100 ms
  CHECK(cmp[0]["peak_memory_ratio"].get<double>() == Approx(2.0));
  // A PyTorch peer's JSON line: matched by batch and sequence length.
  const json peer = json::array({{{"impl", "pytorch-eager"},
                                  {"tokens_per_s", 4000},
                                  {"batch", 8},
                                  {"seq", 256},
                                  {"ms_per_step", 50.0},
                                  {"peak_mem_gb", nullptr}}});
  const auto c2 = b::compare(report, peer);
  REQUIRE(c2.size() == 1);
  CHECK(c2[0]["baseline_name"] == "pytorch-eager");
  CHECK(c2[0]["throughput_ratio"].get<double>() == Approx(0.5));
  CHECK(c2[0]["step_p50_speedup"].get<double>() == Approx(0.5));
  CHECK(c2[0]["peak_memory_ratio"].is_null());
  CHECK(ptm::test::contains(b::format_comparison(c2, "peer.json"), "0.50x"));
  CHECK(ptm::test::contains(b::format_comparison(json::array(), "x.json"), "no matching configuration"));
}

TEST_CASE("bench baselines read JSON and JSON lines", "[unit][bench]") {
  ptm::test::TempDir dir;
  const auto lines =
      dir.write("peer.jsonl", "{\"tokens_per_s\": 1, \"batch\": 8, \"seq\": 256}\n\n{\"tokens_per_s\": 2}\n");
  CHECK(b::read_baseline(lines).size() == 2);
  const auto one = dir.write("report.json", "{\"schema\": \"ptm.bench/1\", \"results\": []}");
  CHECK(b::read_baseline(one)["schema"] == "ptm.bench/1");
  const auto bad = dir.write("bad.json", "not json\n");
  CHECK_THROWS_AS(b::read_baseline(bad), ptm::IoError);
  CHECK(ptm::test::contains(ptm::test::error_of([&] { b::read_baseline(dir.file("missing.json")); }), "missing.json"));
}
