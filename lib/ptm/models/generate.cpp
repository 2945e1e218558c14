// Greedy and sampled continuation (generate.h).
#include "ptm/models/generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "ptm/core/errors.h"
#include "ptm/models/gpt_kv_cache.h"

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

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// No cache: the model runs on the whole sequence so far at each step.
std::vector<int64_t> generate_full(ModelImpl& model, const std::vector<int64_t>& prompt, const GenerateOptions& o,
                                   const torch::Device& device, GenerateStats& stats) {
  auto gen = at::detail::createCPUGenerator(o.seed);
  std::vector<int64_t> ids = prompt;
  auto start = Clock::now();
  for (int64_t i = 0; i < o.max_new_tokens; ++i) {
    data::Batch b;
    b.input_ids = torch::tensor(ids, torch::kInt64).unsqueeze(0).to(device);
    const auto logits = model.forward(b).logits.select(1, -1).squeeze(0).to(torch::kFloat32).cpu();  // [V]
    const int64_t next = next_token(logits, o, gen);
    ids.push_back(next);
    if (i == 0) {
      stats.prefill_tokens += static_cast<int64_t>(prompt.size());
      stats.prefill_seconds += since(start);
      start = Clock::now();
    } else {
      ++stats.decode_tokens;
    }
    if (next == o.eos_id) break;
  }
  if (o.max_new_tokens > 0) stats.decode_seconds += since(start);
  return ids;
}

// With the key/value cache: the prompts left-padded into one batch, prefilled at once, then
// one token per sequence and step. Position ids count real tokens only (transformers'
// attention_mask.cumsum(-1) - 1), so padding changes no sequence's positions.
std::vector<std::vector<int64_t>> generate_cached(GptImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                                                  const GenerateOptions& o, const torch::Device& device,
                                                  GenerateStats& stats) {
  const int64_t B = static_cast<int64_t>(prompts.size());
  int64_t P = 0, prompt_tokens = 0;
  for (const auto& p : prompts) {
    P = std::max<int64_t>(P, static_cast<int64_t>(p.size()));
    prompt_tokens += static_cast<int64_t>(p.size());
  }
  std::vector<std::vector<int64_t>> out = prompts;
  if (o.max_new_tokens == 0) return out;
  std::vector<int64_t> ids(static_cast<size_t>(B * P), 0);
  std::vector<uint8_t> real(static_cast<size_t>(B * P), 0);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t pad = P - static_cast<int64_t>(prompts[b].size());
    for (size_t t = 0; t < prompts[b].size(); ++t) {
      ids[static_cast<size_t>(b * P + pad) + t] = prompts[b][t];
      real[static_cast<size_t>(b * P + pad) + t] = 1;
    }
  }
  const auto start = Clock::now();
  auto input = torch::tensor(ids, torch::kInt64).view({B, P}).to(device);
  const auto real_mask = torch::tensor(real, torch::kUInt8).view({B, P}).to(torch::kBool).to(device);
  auto positions = (real_mask.to(torch::kLong).cumsum(1) - 1).clamp_min(0);  // [B, P]
  auto cache = gpt_kv_cache(model, B, P + o.max_new_tokens, device);
  auto logits = gpt_forward_cached(model, cache, input, positions, real_mask).to(torch::kFloat32).cpu();  // [B, V]

  std::vector<at::Generator> gens;
  for (int64_t b = 0; b < B; ++b) gens.push_back(at::detail::createCPUGenerator(o.seed));
  std::vector<bool> done(static_cast<size_t>(B), false);
  auto last = positions.narrow(1, P - 1, 1);  // [B, 1]
  const auto one_real = torch::ones({B, 1}, real_mask.options());
  auto decode_start = start;
  for (int64_t step = 0;; ++step) {
    std::vector<int64_t> next(static_cast<size_t>(B));
    int64_t active = 0;
    for (int64_t b = 0; b < B; ++b) {
      next[b] = out[b].back();  // a finished sequence runs on (its logits are never read)
      if (done[b]) continue;
      next[b] = next_token(logits[b], o, gens[b]);
      out[b].push_back(next[b]);
      done[b] = next[b] == o.eos_id;
      ++active;
    }
    if (step == 0) {
      stats.prefill_tokens += prompt_tokens;
      stats.prefill_seconds += since(start);
      decode_start = Clock::now();
    } else {
      stats.decode_tokens += active;
    }
    if (step + 1 == o.max_new_tokens || std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
    last = last + 1;
    input = torch::tensor(next, torch::kInt64).view({B, 1}).to(device);
    logits = gpt_forward_cached(model, cache, input, last, one_real).to(torch::kFloat32).cpu();
  }
  stats.decode_seconds += since(decode_start);
  return out;
}

}  // namespace

std::vector<std::vector<int64_t>> generate_batch(ModelImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                                                 const GenerateOptions& o, const torch::Device& device,
                                                 GenerateStats* stats) {
  for (const auto& p : prompts)
    if (p.empty()) throw RuntimeError("generate: the prompt has no tokens");
  torch::NoGradGuard no_grad;
  model.eval();
  GenerateStats local;
  GenerateStats& s = stats ? *stats : local;
  auto* gpt = dynamic_cast<GptImpl*>(&model);
  if (o.kv_cache && gpt && gpt->subnet().empty()) return generate_cached(*gpt, prompts, o, device, s);
  std::vector<std::vector<int64_t>> out;
  for (const auto& p : prompts) out.push_back(generate_full(model, p, o, device, s));
  return out;
}

std::vector<int64_t> generate(ModelImpl& model, const std::vector<int64_t>& prompt, const GenerateOptions& o,
                              const torch::Device& device) {
  return generate_batch(model, {prompt}, o, device).front();
}

}  // namespace ptm::models
