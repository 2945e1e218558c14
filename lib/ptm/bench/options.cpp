// Bench option parsing and checks.
#include "ptm/bench/options.h"

#include "ptm/core/errors.h"

namespace ptm::bench {
namespace {

const Origin kCommandLine{"command line"};

}  // namespace

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& option) {
  std::vector<int64_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || v < 1)
      throw ConfigError(kCommandLine, option,
                        "expected positive integers separated by commas (8,16,32), got '" + text + "'");
    out.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

void validate(const BenchOptions& o) {
  std::vector<Diagnostic> d;
  auto bad = [&](const std::string& option, const std::string& message) {
    d.push_back({kCommandLine, option, message});
  };
  if (o.config.empty() == o.model.empty())
    bad("--config/--model",
        "give exactly one: --config recipes/bench/<name>.yaml or --model configs/models/<name>.yaml");
  if (o.mode != "train" && o.mode != "infer") bad("--mode", "expected train or infer, got '" + o.mode + "'");
  if (o.dtype != "auto" && o.dtype != "bf16" && o.dtype != "fp32")
    bad("--dtype", "expected auto, bf16 or fp32, got '" + o.dtype + "'");
  if (o.warmup < 0) bad("--warmup", "must be >= 0, got " + std::to_string(o.warmup));
  if (o.iters < 1) bad("--iters", "must be >= 1, got " + std::to_string(o.iters));
  if (o.threads < 0) bad("--threads", "must be >= 0, got " + std::to_string(o.threads));
  if (o.peak_flops && !(*o.peak_flops > 0)) bad("--peak-flops", "must be > 0 (FLOP/s, e.g. 2e12)");
  for (const auto b : o.batches)
    if (b < 1) bad("--batch", "must be >= 1, got " + std::to_string(b));
  for (const auto t : o.seqs)
    if (t < 1) bad("--seq", "must be >= 1, got " + std::to_string(t));
  if (!d.empty()) throw ConfigError(d);
}

}  // namespace ptm::bench
