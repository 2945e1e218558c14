// Table formatting for model summaries.
#include "ptm/models/model_summary.h"

#include <algorithm>
#include <cstdio>

namespace ptm::models {
namespace {

std::string human(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof(buf), "%.2fB", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof(buf), "%.2fM", n / 1e6);
  else if (n >= 1e3) std::snprintf(buf, sizeof(buf), "%.1fK", n / 1e3);
  else std::snprintf(buf, sizeof(buf), "%.0f", n);
  return buf;
}

}  // namespace

std::string summary_table(const ModelImpl& model, int64_t seq_len) {
  const auto blocks = model.summary(seq_len);
  const int64_t total = count_parameters(model), trainable = count_parameters(model, true);
  size_t width = 5;
  for (const auto& b : blocks) width = std::max(width, b.name.size());
  std::string out;
  char line[256];
  std::snprintf(line, sizeof(line), "%-*s %12s %7s %14s\n", int(width), "block", "params", "share", "GFLOPs/example");
  out += line;
  for (const auto& b : blocks) {
    std::snprintf(line, sizeof(line), "%-*s %12s %6.1f%% %14.4f\n", int(width), b.name.c_str(), human(b.params).c_str(),
                  total ? 100.0 * b.params / total : 0.0, b.flops / 1e9);
    out += line;
  }
  std::snprintf(line, sizeof(line), "%s: %s parameters (%lld), %s trainable; forward %.4f GFLOPs per example (seq_len %lld)\n",
                model.arch().c_str(), human(total).c_str(), static_cast<long long>(total), human(trainable).c_str(),
                model.forward_flops(seq_len) / 1e9, static_cast<long long>(seq_len));
  out += line;
  return out;
}

}  // namespace ptm::models
