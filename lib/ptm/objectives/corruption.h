// The corruption engine behind the pretraining objectives (UL2's view: masked LM, span
// corruption, prefix LM and causal LM are one procedure with different settings).
//
// masked/span: the row is cut into units (tokens, or whole words with WordPiece "##"
// continuations, grouped into spans/n-grams whose lengths follow a distribution with a given
// mean; lexicon words form units of their own and are chosen first); units are drawn in a
// random order until `rate` of the eligible tokens are chosen, then each chosen token becomes
// [MASK], a random token or stays (mask_prob / random_prob / rest). prefix: a random suffix of
// the eligible tokens is chosen (mean `rate`). causal: nothing is chosen. Special tokens and
// positions outside `eligible` (padding) are never chosen. Fully vectorised: one call costs a
// few tensor ops per batch, on the batch's device.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ptm::data {
class Tokenizer;
}

namespace ptm::objectives {

constexpr int64_t kIgnoreIndex = -100;  // targets to skip, as in PyTorch and HF

// What the engine needs to know about the vocabulary.
struct Vocabulary {
  int64_t size = 0;
  int64_t mask_id = -1;
  std::vector<int64_t> specials;              // never corrupted, never drawn as random replacements
  std::vector<int64_t> continuations;         // WordPiece "##" pieces (whole-word masking)
  std::vector<std::vector<int64_t>> lexicon;  // token sequences of lexicon words (chosen first)

  // From a tokenizer: its special tokens, "##" pieces and `mask_token`'s id (ConfigError-free:
  // returns mask_id -1 when the token is missing; the caller reports it by key).
  static Vocabulary from_tokenizer(const data::Tokenizer& tok, const std::string& mask_token);
  // Adds one lexicon entry per word (encoded with `tok`, no specials); empty encodings are skipped.
  void add_lexicon(const data::Tokenizer& tok, const std::vector<std::string>& words);
};

struct CorruptionOptions {
  std::string mode = "masked";  // masked | span | prefix | causal
  double rate = 0.15;           // masked/span: fraction of eligible tokens chosen; prefix: mean suffix fraction
  std::string span_distribution = "fixed";  // fixed | geometric | poisson | ngram (P(n) ~ 1/n, n <= span_max)
  double span_mean = 1.0;                   // mean span length in units (tokens, or words with whole_word)
  int64_t span_max = 10;                    // longest span (geometric, poisson, ngram)
  double mask_prob = 0.8;                   // chosen tokens that become [MASK] ...
  double random_prob = 0.1;                 // ... or a random token; the rest stay as they are
  bool whole_word = false;                  // never split a WordPiece word

  // (key, message) for every out-of-range or inconsistent field; empty when usable.
  std::vector<std::pair<std::string, std::string>> problems() const;
  // Span lengths 1..M and their probabilities (M = the longest possible length).
  std::vector<double> span_pmf() const;
};

struct Corrupted {
  torch::Tensor input_ids;  // [B, T] after replacement
  torch::Tensor selected;   // [B, T] bool: chosen positions (the ones to predict)
  torch::Tensor unit;       // [B, T] int64: index of the unit (span, word, n-gram) of each token in its row
};

class CorruptionEngine {
 public:
  // ConfigError when the options have problems or the vocabulary lacks what they need.
  CorruptionEngine(CorruptionOptions o, const Vocabulary& v);

  // ids [B, T] int64; eligible [B, T] bool (e.g. the attention mask; specials are excluded on
  // top). `gen` null: the default generator of ids' device (training: checkpointed with the
  // run); otherwise a CPU generator whose draws are moved to the device (evaluation).
  Corrupted corrupt(const torch::Tensor& ids, const torch::Tensor& eligible, at::Generator* gen = nullptr) const;

  const CorruptionOptions& options() const { return o_; }
  int64_t mask_id() const { return mask_id_; }

 private:
  struct Tables {
    torch::Tensor special, continuation;  // [V] bool
    torch::Tensor random_ids;             // [R] int64
    torch::Tensor span_cdf;               // [M] float
    std::vector<std::pair<int64_t, torch::Tensor>> lexicon;  // (length, sorted hashes [E])
  };
  const Tables& tables(const torch::Device& d) const;
  torch::Tensor uniform(at::IntArrayRef shape, const torch::Device& d, at::Generator* gen) const;
  // (covered, first) [B, T] bool: tokens inside a lexicon word, and the first token of each.
  std::pair<torch::Tensor, torch::Tensor> match_lexicon(const torch::Tensor& ids, const torch::Tensor& eligible,
                                                        const torch::Tensor& continuation, const Tables& t) const;

  CorruptionOptions o_;
  int64_t mask_id_;
  Tables cpu_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, Tables> on_device_;
};

// Two independent polynomial hashes of the windows of length L along dim 1, packed in int64:
// ids [B, T] -> [B, T - L + 1]. The lexicon is hashed the same way.
torch::Tensor window_hash(const torch::Tensor& ids, int64_t length);

}  // namespace ptm::objectives
