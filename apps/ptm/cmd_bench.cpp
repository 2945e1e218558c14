// `ptm bench`: throughput, step-time percentiles, per-phase times, peak memory and MFU of a
// model's train or inference step, from a recipe or a model preset; JSON/CSV out, ratios
// against a baseline. All work happens in lib/ptm/bench (run_bench.h).
#include <iostream>
#include <memory>

#include "commands.h"
#include "ptm/bench/options.h"
#include "ptm/bench/report.h"
#include "ptm/bench/run_bench.h"

namespace ptm::cli {
namespace {

struct BenchArgs {
  bench::BenchOptions o;
  std::string batch, seq;
  double peak_flops = 0;
  CLI::Option* peak_opt = nullptr;
};

int run_bench(BenchArgs& a, const std::vector<std::string>& argv) {
  if (!a.batch.empty()) a.o.batches = bench::parse_int_list(a.batch, "--batch");
  if (!a.seq.empty()) a.o.seqs = bench::parse_int_list(a.seq, "--seq");
  if (a.peak_opt->count()) a.o.peak_flops = a.peak_flops;
  const auto report = bench::run(a.o, argv);
  if (report.is_null()) return 0;  // a data-parallel rank other than 0
  bench::write_outputs(report, a.o.json, a.o.csv);
  if (a.o.json == "-") {
    std::cout << report.dump(2) << "\n";
    return 0;
  }
  std::cout << bench::format_table(report);
  if (report.contains("comparison")) std::cout << "\n" << bench::format_comparison(report["comparison"], a.o.compare);
  return 0;
}

}  // namespace

void add_bench(CLI::App& app, Action& action, const std::vector<std::string>& argv) {
  auto* sub = app.add_subcommand("bench", "Measure a model's train or inference step: tokens/s, ms/step, memory, MFU");
  auto a = std::make_shared<BenchArgs>();
  auto& o = a->o;
  sub->add_option("--config,-c", o.config,
                  "a recipe (recipes/bench/*.yaml): its model, data, optimizer and train sections");
  sub->add_option("--model", o.model, "a model preset (configs/models/*.yaml), on synthetic data that fits it");
  sub->add_option("overrides", o.overrides, "key.path=value overrides of the recipe or preset");
  sub->add_option("--batch", a->batch, "batch size, or a list to sweep: 8,16,32 (default: train.batch_size)");
  sub->add_option("--seq", a->seq, "sequence length, or a list: 256,1024 (default: data.seq_len or the context)");
  sub->add_option("--mode", o.mode, "train (forward, backward, clip, AdamW step) or infer (no_grad forward)");
  sub->add_option("--dtype", o.dtype, "auto (bf16 on CUDA, fp32 on CPU), bf16 or fp32");
  sub->add_option("--device", o.device, "auto, cpu, cuda or cuda:N (sets run.device)");
  sub->add_option("--warmup", o.warmup, "untimed steps before each configuration (default 5)");
  sub->add_option("--iters", o.iters, "timed steps per configuration (default 20)");
  sub->add_option("--threads", o.threads, "CPU threads (sets run.threads)");
  sub->add_option("--log-level", o.log_level, "trace|debug|info|warn|error|off (sets run.log_level)");
  a->peak_opt =
      sub->add_option("--peak-flops", a->peak_flops, "the device's peak FLOP/s for MFU (e.g. 1.2e12 on a CPU)");
  sub->add_option("--json", o.json, "write the JSON report here ('-': print it instead of the table)");
  sub->add_option("--csv", o.csv, "write one CSV row per configuration here");
  sub->add_option("--profile", o.profile,
                  "write a per-op trace of the timed steps (chrome://tracing JSON; slows them)");
  sub->add_option("--compare", o.compare, "a baseline (ptm bench --json output or peer JSON lines): print ratios");
  sub->callback([&action, a, argv] { action = [a, argv] { return run_bench(*a, argv); }; });
}

}  // namespace ptm::cli
