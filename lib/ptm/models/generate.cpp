// Greedy and sampled continuation (generate.h).
#include "ptm/models/generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include <limits>

#include "ptm/core/errors.h"

namespace ptm::models {

torch::Tensor filter_logits(torch::Tensor logits, const GenerateOptions& o) {
  const float minus_inf = -std::numeric_limits<float>::infinity();
  if (o.temperature > 0) logits = logits / o.temperature;
  if (o.top_k > 0 && o.top_k < logits.size(0)) {
    const auto kth = std::get<0>(logits.topk(o.top_k)).min();
    logits = logits.masked_fill(logits < kth, minus_inf);
  }
  if (o.top_p < 1.0) {
    // Drop the tokens whose ascending cumulative probability stays at or below 1 - top_p; the
    // most likely token always stays.
    const auto [sorted, order] = logits.sort(/*dim=*/-1, /*descending=*/false);
    auto drop = sorted.softmax(-1).cumsum(-1) <= (1.0 - o.top_p);
    drop.index_put_({-1}, false);
    logits = logits.masked_fill(drop.scatter(0, order, drop), minus_inf);
  }
  return logits;
}

int64_t next_token(torch::Tensor logits, const GenerateOptions& o, at::Generator& gen) {
  if (o.temperature <= 0) return logits.argmax().item<int64_t>();
  return torch::multinomial(filter_logits(logits, o).softmax(-1), 1, false, gen).item<int64_t>();
}

std::vector<int64_t> generate(ModelImpl& model, const std::vector<int64_t>& prompt, const GenerateOptions& o,
                              const torch::Device& device) {
  if (prompt.empty()) throw RuntimeError("generate: the prompt has no tokens");
  torch::NoGradGuard no_grad;
  model.eval();
  auto gen = at::detail::createCPUGenerator(o.seed);
  std::vector<int64_t> ids = prompt;
  for (int64_t i = 0; i < o.max_new_tokens; ++i) {
    data::Batch b;
    b.input_ids = torch::tensor(ids, torch::kInt64).unsqueeze(0).to(device);
    const auto logits = model.forward(b).logits.select(1, -1).squeeze(0).to(torch::kFloat32).cpu();  // [V]
    const int64_t next = next_token(logits, o, gen);
    ids.push_back(next);
    if (next == o.eos_id) break;
  }
  return ids;
}

}  // namespace ptm::models
