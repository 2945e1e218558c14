// `ptm bench` through the real binary on the CPU: gpt_tiny for a few steps, the JSON schema
// (every key, its type), FLOPs against a hand count, MFU and throughput arithmetic from the
// report's own timings, CSV, the direct form in infer mode, --compare, the --profile trace,
// and bad input (exit 2 naming the option).
#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"

using nlohmann::json;
using ptm::test::contains;

namespace {

// gpt_tiny (C=128, 4 layers, V=8192) forward FLOPs per sample at T tokens, counted by hand:
// block params p = 12 C^2 + 13 C = 198272; per block 2 T p + 4 T^2 C; head 2 T (2C) + 2 T C V.
double gpt_tiny_flops(double T) {
  const double C = 128, V = 8192, p = 198272;
  return 4 * (2 * T * p + 4 * T * T * C) + 2 * T * 2 * C + 2 * T * C * V;
}

bool is_type(const json& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "integer") return v.is_number_integer();
  if (type == "number") return v.is_number();
  if (type == "object") return v.is_object();
  if (type == "number|null") return v.is_number() || v.is_null();
  if (type == "integer|null") return v.is_number_integer() || v.is_null();
  if (type == "string|null") return v.is_string() || v.is_null();
  return false;
}

void check_result_schema(const json& r) {
  const std::vector<std::pair<std::string, std::string>> keys{{"name", "string"},
                                                              {"model", "string"},
                                                              {"arch", "string"},
                                                              {"mode", "string"},
                                                              {"dtype", "string"},
                                                              {"device", "string"},
                                                              {"device_name", "string"},
                                                              {"batch", "integer"},
                                                              {"seq", "integer|null"},
                                                              {"warmup", "integer"},
                                                              {"iters", "integer"},
                                                              {"status", "string"},
                                                              {"timer", "string"},
                                                              {"params", "integer"},
                                                              {"macs_per_sample", "number"},
                                                              {"forward_flops_per_sample", "number"},
                                                              {"objective_forward_flops_per_sample", "number"},
                                                              {"flops_per_step", "number"},
                                                              {"flop_formula", "string"},
                                                              {"unit", "string"},
                                                              {"throughput", "number"},
                                                              {"tokens_per_s", "number|null"},
                                                              {"samples_per_s", "number"},
                                                              {"wall_s", "number"},
                                                              {"step_ms", "object"},
                                                              {"phase_ms", "object"},
                                                              {"peak_memory_bytes", "integer|null"},
                                                              {"peak_memory_kind", "string"},
                                                              {"peak_flops", "number|null"},
                                                              {"peak_flops_source", "string|null"},
                                                              {"mfu", "number|null"},
                                                              {"achieved_tflops", "number"},
                                                              {"loss", "number|null"}};
  for (const auto& [k, type] : keys) {
    INFO("result key " << k);
    REQUIRE(r.contains(k));
    CHECK(is_type(r[k], type));
  }
  for (const char* k : {"mean", "min", "max", "p50", "p90", "p99"}) CHECK(r["step_ms"][k].is_number());
  for (const char* k : {"data", "forward", "backward", "optimizer"}) CHECK(r["phase_ms"].contains(k));
  CHECK(r["step_ms"]["min"].get<double>() <= r["step_ms"]["p50"].get<double>());
  CHECK(r["step_ms"]["p50"].get<double>() <= r["step_ms"]["p99"].get<double>());
  CHECK(r["step_ms"]["p99"].get<double>() <= r["step_ms"]["max"].get<double>());
}

}  // namespace

TEST_CASE("ptm bench trains gpt_tiny on the CPU and writes the fingerprinted JSON and CSV", "[integration][bench]") {
  ptm::test::TempDir dir;
  const auto r = ptm::test::run_ptm(
      "bench --config recipes/bench/gpt_tiny_cpu.yaml --device cpu --batch 2 --seq 64 "
      "--warmup 1 --iters 3 --peak-flops 1e12 --json " +
      dir.file("b.json") + " --csv " + dir.file("b.csv"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "tokens/s"));
  CHECK(contains(r.out, "FLOPs: flops_per_step = 3 x F(T) x batch"));
  const auto j = json::parse(ptm::test::read_text(dir.file("b.json")));
  CHECK(j["schema"] == "ptm.bench/1");
  CHECK(j["created"].is_string());
  CHECK(j["command"].is_array());
  const auto& env = j["environment"];
  CHECK(env["ptm"]["version"].is_string());
  CHECK(env["ptm"]["git_revision"].is_string());
  CHECK(env["torch"]["version"] == "2.11.0");
  CHECK(env["cuda"]["driver"].is_string());
  CHECK(env["cpu"]["model"].is_string());
  CHECK(env["cpu"]["intra_op_threads"].is_number_integer());
  REQUIRE(j["results"].size() == 1);
  const auto& res = j["results"][0];
  check_result_schema(res);
  CHECK(res["status"] == "ok");
  CHECK(res["mode"] == "train");
  CHECK(res["dtype"] == "fp32");
  CHECK(res["timer"] == "steady_clock");
  CHECK(res["batch"] == 2);
  CHECK(res["seq"] == 64);
  CHECK(res["params"] == 4 * 198272 + 8192 * 128 + 256 * 128 + 256);  // blocks + wte + wpe + ln_f (tied head)
  const double F = gpt_tiny_flops(64);
  CHECK(res["forward_flops_per_sample"].get<double>() == Approx(F));
  CHECK(res["macs_per_sample"].get<double>() == Approx(F / 2));
  CHECK(res["objective_forward_flops_per_sample"].get<double>() == 0.0);  // causal LM: no teacher
  CHECK(res["flops_per_step"].get<double>() == Approx(3 * F * 2));
  const double step_s = res["wall_s"].get<double>() / 3;
  CHECK(res["tokens_per_s"].get<double>() == Approx(2 * 64 / step_s));
  CHECK(res["samples_per_s"].get<double>() == Approx(2 / step_s));
  CHECK(res["mfu"].get<double>() == Approx(3 * F * 2 / step_s / 1e12));
  CHECK(res["achieved_tflops"].get<double>() == Approx(3 * F * 2 / step_s / 1e12));
  CHECK(res["peak_flops_source"] == "--peak-flops");
  // The four phases partition each step.
  double phases = 0;
  for (const char* k : {"data", "forward", "backward", "optimizer"}) phases += res["phase_ms"][k].get<double>();
  CHECK(phases == Approx(res["step_ms"]["mean"].get<double>()).epsilon(1e-6));
  CHECK(res["loss"].get<double>() > 8.0);  // ln(8192) = 9.01 at the start
  CHECK(res["loss"].get<double>() < 10.0);
  CHECK(res["peak_memory_bytes"].get<int64_t>() > 0);

  const auto csv = ptm::test::read_text(dir.file("b.csv"));
  CHECK(csv.rfind("name,model,arch,mode,dtype,device,device_name,batch,seq,", 0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 2);
}

TEST_CASE("ptm bench direct form sweeps batches in infer mode and compares with a baseline", "[integration][bench]") {
  ptm::test::TempDir dir;
  // A hand-made baseline for batch 2: 100 tokens/s, 1000 ms per step.
  const auto base = dir.write("base.json", json{{"results",
                                                 {{{"name", "gpt_tiny"},
                                                   {"mode", "infer"},
                                                   {"dtype", "fp32"},
                                                   {"batch", 2},
                                                   {"seq", 32},
                                                   {"throughput", 100.0},
                                                   {"step_ms", {{"p50", 1000.0}}}}}}}
                                               .dump());
  const auto r = ptm::test::run_ptm(
      "bench --model configs/models/gpt_tiny.yaml --mode infer --device cpu --batch 1,2 "
      "--seq 32 --warmup 0 --iters 2 --compare " +
      base + " --json " + dir.file("i.json"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "comparison with"));
  const auto j = json::parse(ptm::test::read_text(dir.file("i.json")));
  REQUIRE(j["results"].size() == 2);
  for (const auto& res : j["results"]) {
    check_result_schema(res);
    CHECK(res["mode"] == "infer");
    CHECK(res["phase_ms"]["backward"].is_null());
    CHECK(res["loss"].is_null());
    CHECK(res["mfu"].is_null());  // a CPU without --peak-flops
    CHECK(res["flops_per_step"].get<double>() == Approx(gpt_tiny_flops(32) * res["batch"].get<double>()));
  }
  REQUIRE(j["comparison"].size() == 1);
  const auto& c = j["comparison"][0];
  CHECK(c["batch"] == 2);
  CHECK(c["throughput_ratio"].get<double>() == Approx(j["results"][1]["throughput"].get<double>() / 100.0));
  CHECK(c["step_p50_speedup"].get<double>() == Approx(1000.0 / j["results"][1]["step_ms"]["p50"].get<double>()));
}

TEST_CASE("ptm bench rejects bad input with exit code 2 naming the option", "[integration][bench]") {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"bench --model configs/models/gpt_tiny.yaml --mode trian", "--mode"},
      {"bench --model configs/models/no_such_model.yaml", "no_such_model.yaml"},
      {"bench --model configs/models/gpt_tiny.yaml --batch 8,x", "--batch"},
      {"bench --model configs/models/gpt_tiny.yaml --device cpu --dtype fp16", "--dtype"},
      {"bench --model configs/models/gpt_tiny.yaml --device cpu --seq 4096", "--seq"},
      {"bench --batch 8", "--config/--model"},
      {"bench --model configs/models/gpt_tiny.yaml --compare /nonexistent/base.json", "base.json"},
      {"bench --model configs/models/gpt_tiny.yaml --device cpu train.cuda_graph=true", "train.cuda_graph: needs a CUDA device"},
  };
  for (const auto& [args, needle] : cases) {
    const auto r = ptm::test::run_ptm(args);
    INFO(args << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, needle));
  }
}

TEST_CASE("ptm bench --dtype bf16 on the CPU runs under bf16 autocast", "[integration][bench]") {
  ptm::test::TempDir dir;
  const auto r = ptm::test::run_ptm("bench --model configs/models/gpt_tiny.yaml --mode train --device cpu --batch 1 "
                                    "--seq 16 --warmup 1 --iters 1 --dtype bf16 --json " +
                                    dir.file("b.json"));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.err, "BFloat16"));  // the attention kernel's log line names the dtype it ran in
  CHECK(json::parse(ptm::test::read_text(dir.file("b.json")))["results"][0]["dtype"] == "bf16");
}

TEST_CASE("ptm bench --profile writes a Kineto trace of the timed steps", "[integration][bench]") {
  ptm::test::TempDir dir;
  const auto trace = dir.file("trace.json");
  const auto r = ptm::test::run_ptm("bench --model configs/models/gpt_tiny.yaml --mode train --device cpu --batch 1 "
                                    "--seq 16 --warmup 1 --iters 2 --profile " +
                                    trace);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = json::parse(ptm::test::read_text(trace));
  REQUIRE(j.contains("traceEvents"));
  int mm = 0, ops = 0;
  for (const auto& e : j["traceEvents"]) {
    if (e.value("cat", "") != "cpu_op") continue;
    ++ops;
    const auto name = e.value("name", "");
    if (name == "aten::mm" || name == "aten::addmm") ++mm;
  }
  CHECK(ops > 100);  // two training steps of a 4-layer model
  CHECK(mm > 0);     // the matrix products are in it
}
