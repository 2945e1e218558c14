// The key/value cache path of the GPT model against its full forward (which gpt_test and
// llama_test hold to transformers): left-padded batches of prompts of different lengths give,
// per prompt, the logits of that prompt run alone, in the prefill, in chunks of several tokens
// and one token at a time; GPT-2 layout, Llama options (rotary, GQA, RMSNorm, SwiGLU, untied
// head, Llama 3 rope scaling) and a Mistral sliding window shorter than the sequence. Greedy
// generation with the cache equals the path without it, batched and alone, and so does
// seeded sampling.
#include <algorithm>

#include "catch.h"
#include "ptm/models/generate.h"
#include "ptm/models/gpt_kv_cache.h"

using namespace ptm::models;

namespace {

GptOptions small(const std::string& kind) {
  GptOptions o;
  o.vocab_size = 97;
  o.n_positions = 64;
  o.n_embd = 48;
  o.n_layer = 2;
  o.n_head = 6;
  o.initializer_range = 0.3;  // logits far apart, so greedy choices do not hinge on rounding
  if (kind == "gpt2") return o;
  o.n_kv_head = 2;  // GQA ratio 3
  o.norm = "rmsnorm";
  o.position = "rotary";
  o.mlp = "swiglu";
  o.bias = false;
  o.tie_word_embeddings = false;
  o.rope_theta = 500.0;
  if (kind == "llama3") {
    o.rope_scaling.type = "llama3";
    o.rope_scaling.original_max_positions = 16;
  }
  if (kind == "mistral") o.sliding_window = 4;
  return o;
}

// The full forward's logits at the last position of `ids` alone, [V].
torch::Tensor alone(Gpt& m, const std::vector<int64_t>& ids) {
  return m->forward_ids(torch::tensor(ids, torch::kInt64).unsqueeze(0)).logits[0][-1];
}

}  // namespace

TEST_CASE("GPT key/value cache gives the full forward's logits for left-padded prompts", "[unit][models][generate]") {
  torch::NoGradGuard no_grad;
  const std::vector<std::vector<int64_t>> prompts = {{5, 17, 30, 42, 9}, {3, 1, 4, 1, 5, 9, 2, 6, 53}, {88, 12}};
  for (const std::string kind : {"gpt2", "llama", "llama3", "mistral"}) {
    INFO(kind);
    torch::manual_seed(11);
    Gpt m(small(kind));
    m->eval();
    const int64_t B = 3, P = 9;
    auto ids = torch::zeros({B, P}, torch::kInt64);
    auto real = torch::zeros({B, P}, torch::kBool);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t n = static_cast<int64_t>(prompts[b].size());
      ids[b].narrow(0, P - n, n).copy_(torch::tensor(prompts[b], torch::kInt64));
      real[b].narrow(0, P - n, n).fill_(true);
    }
    auto positions = (real.to(torch::kLong).cumsum(1) - 1).clamp_min(0);
    auto cache = gpt_kv_cache(*m, B, P + 6, torch::kCPU);
    auto seqs = prompts;
    auto check = [&](const torch::Tensor& logits, const std::string& where) {
      for (int64_t b = 0; b < B; ++b) {
        INFO(where << ", prompt " << b);
        const double diff = (logits[b] - alone(m, seqs[b])).abs().max().item<double>();
        CHECK(diff < 1e-4);
      }
    };
    check(gpt_forward_cached(*m, cache, ids, positions, real), "prefill");

    // Then a chunk of 3 tokens per sequence, then single tokens (the last slots of the cache).
    auto last = positions.narrow(1, P - 1, 1);
    const std::vector<std::vector<int64_t>> chunks = {{7, 60, 21}, {33}, {2}, {90}};
    for (const auto& chunk : chunks) {
      const int64_t T = static_cast<int64_t>(chunk.size());
      const auto step = last + torch::arange(1, T + 1, torch::kInt64).unsqueeze(0);  // [B, T]
      for (auto& s : seqs) s.insert(s.end(), chunk.begin(), chunk.end());
      const auto input = torch::tensor(chunk, torch::kInt64).unsqueeze(0).expand({B, T}).contiguous();
      check(gpt_forward_cached(*m, cache, input, step, torch::ones({B, T}, torch::kBool)),
            "after " + std::to_string(seqs[0].size()) + " tokens of the first prompt");
      last = step.narrow(1, T - 1, 1);
    }
    CHECK(cache.length == cache.capacity());
    CHECK_THROWS(gpt_forward_cached(*m, cache, ids.narrow(1, 0, 1), last + 1, real.narrow(1, 0, 1)));
  }
}

TEST_CASE("greedy generation with the cache equals the full forward, batched and alone", "[unit][models][generate]") {
  const std::vector<std::vector<int64_t>> prompts = {{5, 17, 30, 42, 9}, {3, 1, 4, 1, 5, 9, 2, 6, 53}, {88}};
  for (const std::string kind : {"gpt2", "llama", "mistral"}) {
    INFO(kind);
    torch::manual_seed(5);
    Gpt m(small(kind));
    GenerateOptions o;
    o.max_new_tokens = 20;
    auto reference = o;
    reference.kv_cache = false;
    const auto batched = generate_batch(*m, prompts, o, torch::kCPU);
    REQUIRE(batched.size() == prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      INFO("prompt " << i);
      const auto full = generate(*m, prompts[i], reference, torch::kCPU);
      CHECK(full.size() == prompts[i].size() + 20);
      CHECK(batched[i] == full);
      CHECK(generate(*m, prompts[i], o, torch::kCPU) == full);
    }

    // Each sequence stops at its own end-of-text token; the others run on.
    o.eos_id = batched[1][prompts[1].size() + 3];
    GenerateStats stats;
    const auto stopped = generate_batch(*m, prompts, o, torch::kCPU, &stats);
    for (size_t i = 0; i < prompts.size(); ++i) {
      INFO("prompt " << i << " stopping at " << o.eos_id);
      auto expected = batched[i];
      const auto eos = std::find(expected.begin() + static_cast<long>(prompts[i].size()), expected.end(), o.eos_id);
      if (eos != expected.end()) expected.erase(eos + 1, expected.end());
      CHECK(stopped[i] == expected);
    }
    CHECK(stopped[1].size() == prompts[1].size() + 4);
    CHECK(stats.prefill_tokens == 15);
    int64_t generated = 0;
    for (size_t i = 0; i < prompts.size(); ++i) generated += static_cast<int64_t>(stopped[i].size() - prompts[i].size());
    CHECK(stats.decode_tokens == generated - 3);  // the first new token of each comes from the prefill

    // Sampling: one generator per prompt seeded alike, so a batch draws what each prompt draws alone.
    GenerateOptions sampled;
    sampled.max_new_tokens = 20;
    sampled.temperature = 1.0;
    sampled.top_k = 20;
    sampled.seed = 3;
    const auto drawn = generate_batch(*m, prompts, sampled, torch::kCPU);
    for (size_t i = 0; i < prompts.size(); ++i) {
      INFO("sampled, prompt " << i);
      CHECK(drawn[i] == generate(*m, prompts[i], sampled, torch::kCPU));
      CHECK(drawn[i] != batched[i]);
    }
  }
}
