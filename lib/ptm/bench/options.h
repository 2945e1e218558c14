// What `ptm bench` was asked to measure, and the checks on it (all problems at once, each
// naming its command-line option, as ConfigError: exit code 2). Torch-free.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ptm::bench {

struct BenchOptions {
  std::string config;                  // --config R: an ordinary recipe (model/data/optimizer/train)
  std::string model;                   // --model M: a model preset; synthetic data matching the model
  std::vector<std::string> overrides;  // key.path=value applied to either
  std::vector<int64_t> batches;        // --batch 8,16,32 (empty: train.batch_size of the recipe)
  std::vector<int64_t> seqs;           // --seq 256,1024 (empty: data.seq_len of the recipe)
  std::string mode = "train";          // train | infer
  std::string dtype = "auto";          // auto (bf16 on CUDA, fp32 on CPU) | bf16 | fp32
  std::string device;                  // --device; empty: the recipe's run.device
  std::string log_level;               // --log-level; empty: the recipe's run.log_level
  int warmup = 5;                      // untimed steps before each configuration
  int iters = 20;                      // timed steps per configuration
  int threads = 0;                     // --threads (sets run.threads); 0 keeps the recipe's
  std::optional<double> peak_flops;    // --peak-flops FLOP/s for MFU (any device)
  std::string json, csv, compare;      // output files and the baseline (--json - prints JSON to stdout)
  std::string profile;                 // --profile T: per-op trace of the timed steps (chrome://tracing JSON)
};

// "8,16,32" -> {8, 16, 32}; ConfigError naming `option` for anything but positive integers.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& option);

// ConfigError listing every problem (exactly one of --config/--model, --mode, --dtype,
// --warmup, --iters, --threads, --peak-flops, batch and sequence sizes).
void validate(const BenchOptions& o);

}  // namespace ptm::bench
