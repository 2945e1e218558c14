// The corruption engine: units (tokens, words, spans, lexicon words), budgeted random choice
// of units, and the mask/random/keep replacement, all as batched tensor ops.
#include "ptm/objectives/corruption.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "ptm/config/binder.h"
#include "ptm/core/errors.h"
#include "ptm/data/tokenizer.h"

namespace ptm::objectives {
namespace {

using config::value_text;

constexpr int64_t kP1 = 2147483629, kB1 = 1000003, kP2 = 2147483587, kB2 = 999983;

// x shifted one step to the right along dim 1, `fill` entering at position 0.
torch::Tensor shift_right(const torch::Tensor& x, bool fill) {
  return torch::cat({torch::full({x.size(0), 1}, fill, x.options()), x.narrow(1, 0, x.size(1) - 1)}, 1);
}

std::vector<double> normalised(std::vector<double> p) {
  double s = 0;
  for (double v : p) s += v;
  for (double& v : p) v /= s;
  return p;
}

double mean_of(const std::vector<double>& pmf) {
  double m = 0;
  for (size_t i = 0; i < pmf.size(); ++i) m += static_cast<double>(i + 1) * pmf[i];
  return m;
}

std::vector<double> geometric_pmf(double p, int64_t max) {
  std::vector<double> pmf(static_cast<size_t>(max));
  for (int64_t l = 0; l < max; ++l) pmf[static_cast<size_t>(l)] = std::pow(1.0 - p, static_cast<double>(l));
  return normalised(pmf);
}

}  // namespace

Vocabulary Vocabulary::from_tokenizer(const data::Tokenizer& tok, const std::string& mask_token) {
  Vocabulary v;
  v.size = tok.vocab_size();
  const auto mask = tok.token_to_id(mask_token);
  v.mask_id = mask ? *mask : -1;
  for (int64_t id = 0; id < v.size; ++id) {
    const auto i32 = static_cast<int32_t>(id);
    if (tok.is_special(i32) || id == v.mask_id) {
      v.specials.push_back(id);
      continue;
    }
    const auto piece = tok.id_to_token(i32);
    if (tok.kind() == "wordpiece" && piece.size() > 2 && piece.compare(0, 2, "##") == 0) v.continuations.push_back(id);
  }
  return v;
}

void Vocabulary::add_lexicon(const data::Tokenizer& tok, const std::vector<std::string>& words) {
  for (const auto& w : words) {
    const auto ids = tok.encode(w);
    if (!ids.empty()) lexicon.emplace_back(ids.begin(), ids.end());
  }
}

std::vector<std::pair<std::string, std::string>> CorruptionOptions::problems() const {
  std::vector<std::pair<std::string, std::string>> out;
  const std::vector<std::string> modes{"masked", "span", "prefix", "causal"};
  if (std::find(modes.begin(), modes.end(), mode) == modes.end())
    out.emplace_back("mode", "'" + mode + "' is not one of: masked, span, prefix, causal" +
                                 config::suggestion(mode, modes));
  if (!(rate > 0.0 && rate < 1.0)) out.emplace_back("rate", "must be in (0, 1), got " + value_text(rate));
  if (mask_prob < 0 || random_prob < 0 || mask_prob + random_prob > 1.0 + 1e-9)
    out.emplace_back("replace", "mask_prob and random_prob must be >= 0 with a sum <= 1, got " +
                                    value_text(mask_prob) + " and " + value_text(random_prob));
  if (span_max < 1) out.emplace_back("span_max", "must be >= 1, got " + value_text(span_max));
  const std::vector<std::string> dists{"fixed", "geometric", "poisson", "ngram"};
  if (std::find(dists.begin(), dists.end(), span_distribution) == dists.end()) {
    out.emplace_back("span_distribution", "'" + span_distribution + "' is not one of: fixed, geometric, poisson, ngram" +
                                              config::suggestion(span_distribution, dists));
  } else if (span_distribution == "fixed") {
    if (span_mean < 1 || std::floor(span_mean) != span_mean)
      out.emplace_back("span_mean", "a fixed span length must be a whole number >= 1, got " + value_text(span_mean));
  } else if (span_distribution != "ngram" && span_max >= 1) {
    const double hi = span_distribution == "geometric" ? (static_cast<double>(span_max) + 1) / 2
                                                       : static_cast<double>(span_max);
    if (!(span_mean >= 1 && span_mean < hi))
      out.emplace_back("span_mean", "must be in [1, " + value_text(hi) + ") for " + span_distribution +
                                        " spans of at most span_max " + value_text(span_max) + ", got " +
                                        value_text(span_mean));
  }
  return out;
}

std::vector<double> CorruptionOptions::span_pmf() const {
  if (span_distribution == "fixed") {
    std::vector<double> pmf(static_cast<size_t>(span_mean), 0.0);
    pmf.back() = 1.0;
    return pmf;
  }
  if (span_distribution == "ngram") {  // ERNIE-Gram / SpanBERT-style: shorter n-grams more often
    std::vector<double> pmf;
    for (int64_t n = 1; n <= span_max; ++n) pmf.push_back(1.0 / static_cast<double>(n));
    return normalised(pmf);
  }
  if (span_distribution == "poisson") {  // 1 + Poisson(mean - 1), cut at span_max
    const double lambda = span_mean - 1;
    std::vector<double> pmf;
    double term = std::exp(-lambda);
    for (int64_t k = 0; k < span_max; ++k) {
      pmf.push_back(term);
      term *= lambda / static_cast<double>(k + 1);
    }
    return normalised(pmf);
  }
  // geometric on 1..span_max, its parameter solved so that the truncated mean is span_mean
  if (span_mean <= 1.0) return geometric_pmf(1.0, span_max);
  double lo = 1e-9, hi = 1.0;
  for (int i = 0; i < 100; ++i) {
    const double mid = 0.5 * (lo + hi);
    (mean_of(geometric_pmf(mid, span_max)) > span_mean ? lo : hi) = mid;
  }
  return geometric_pmf(0.5 * (lo + hi), span_max);
}

torch::Tensor window_hash(const torch::Tensor& ids, int64_t length) {
  const int64_t W = ids.size(1) - length + 1;  // windows
  auto h1 = torch::zeros({ids.size(0), W}, ids.options().dtype(torch::kLong)), h2 = h1.clone();
  for (int64_t i = 0; i < length; ++i) {
    const auto x = ids.narrow(1, i, W).to(torch::kLong);
    h1 = (h1 * kB1 + x).remainder(kP1);
    h2 = (h2 * kB2 + x).remainder(kP2);
  }
  return h1 * (int64_t{1} << 31) + h2;  // [B, W]
}

CorruptionEngine::CorruptionEngine(CorruptionOptions o, const Vocabulary& v) : o_(std::move(o)), mask_id_(v.mask_id) {
  auto problems = o_.problems();
  if (o_.mode != "causal" && o_.mask_prob > 0 && (v.mask_id < 0 || v.mask_id >= v.size))
    problems.emplace_back("mask_token", "the vocabulary has no mask token");
  if (v.size < 1) problems.emplace_back("tokenizer", "the vocabulary is empty");
  if (!problems.empty()) {
    std::vector<Diagnostic> d;
    for (const auto& [key, what] : problems) d.push_back({Origin{"corruption options", 0, 0}, key, what});
    throw ConfigError(d);
  }
  const auto bools = [&](const std::vector<int64_t>& ids) {
    auto t = torch::zeros({v.size}, torch::kBool);
    for (int64_t id : ids)
      if (id >= 0 && id < v.size) t[id] = true;
    return t;
  };
  cpu_.special = bools(v.specials);
  if (v.mask_id >= 0 && v.mask_id < v.size) cpu_.special[v.mask_id] = true;
  cpu_.continuation = bools(v.continuations);
  cpu_.random_ids = torch::nonzero(cpu_.special.logical_not()).flatten();  // [R]
  if (cpu_.random_ids.numel() == 0) cpu_.random_ids = torch::zeros({1}, torch::kLong);
  const auto pmf = o_.span_pmf();
  std::vector<float> cdf;
  double acc = 0;
  for (double p : pmf) cdf.push_back(static_cast<float>(acc += p));
  cdf.back() = 1.0f;
  cpu_.span_cdf = torch::tensor(cdf);
  std::map<int64_t, std::vector<torch::Tensor>> by_length;
  for (const auto& seq : v.lexicon)
    by_length[static_cast<int64_t>(seq.size())].push_back(window_hash(torch::tensor(seq).view({1, -1}), int64_t(seq.size())));
  for (auto& [len, hashes] : by_length)
    cpu_.lexicon.emplace_back(len, std::get<0>(torch::sort(torch::cat(hashes).flatten())));
}

const CorruptionEngine::Tables& CorruptionEngine::tables(const torch::Device& d) const {
  if (d.is_cpu()) return cpu_;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = on_device_.find(d.str());
  if (it == on_device_.end()) {
    Tables t{cpu_.special.to(d), cpu_.continuation.to(d), cpu_.random_ids.to(d), cpu_.span_cdf.to(d), {}};
    for (const auto& [len, h] : cpu_.lexicon) t.lexicon.emplace_back(len, h.to(d));
    it = on_device_.emplace(d.str(), std::move(t)).first;
  }
  return it->second;
}

torch::Tensor CorruptionEngine::uniform(at::IntArrayRef shape, const torch::Device& d, at::Generator* gen) const {
  if (gen) return torch::rand(shape, *gen, torch::TensorOptions().dtype(torch::kFloat32)).to(d);
  return torch::rand(shape, torch::TensorOptions().dtype(torch::kFloat32).device(d));
}

std::pair<torch::Tensor, torch::Tensor> CorruptionEngine::match_lexicon(const torch::Tensor& ids,
                                                                        const torch::Tensor& eligible,
                                                                        const torch::Tensor& continuation,
                                                                        const Tables& t) const {
  const int64_t B = ids.size(0), T = ids.size(1);
  auto covered = torch::zeros({B, T}, eligible.options()), first = covered.clone();
  // A word starts at an eligible non-continuation token and ends before one.
  const auto starts_word = eligible & continuation.logical_not();
  const auto ends_word = torch::cat({starts_word.narrow(1, 1, T - 1) | eligible.narrow(1, 1, T - 1).logical_not(),
                                     torch::ones({B, 1}, eligible.options())}, 1);  // [B, T]: t is a word end
  const auto all_eligible = eligible.to(torch::kLong).cumsum(1);                   // [B, T]
  for (const auto& [L, hashes] : t.lexicon) {
    if (L > T) continue;
    const int64_t W = T - L + 1;
    auto hit = torch::isin(window_hash(ids, L), hashes);  // [B, W]
    const auto last = all_eligible.narrow(1, L - 1, W);
    // Eligible tokens before each window start (0 for the first window).
    const auto before = torch::cat({torch::zeros({B, 1}, last.options()), all_eligible.narrow(1, 0, W - 1)}, 1);
    hit = hit & starts_word.narrow(1, 0, W) & ends_word.narrow(1, L - 1, W) & ((last - before) == L);
    first.narrow(1, 0, W) |= hit;
    for (int64_t i = 0; i < L; ++i) covered.narrow(1, i, W) |= hit;
  }
  return {covered, first};
}

Corrupted CorruptionEngine::corrupt(const torch::Tensor& ids_in, const torch::Tensor& eligible_in,
                                    at::Generator* gen) const {
  if (ids_in.dim() != 2) throw RuntimeError("corruption: input_ids must be [B, T]");
  const auto ids = ids_in.to(torch::kLong);
  const auto dev = ids.device();
  const int64_t B = ids.size(0), T = ids.size(1);
  const auto& t = tables(dev);
  const auto L = torch::kLong;
  const auto eligible = eligible_in.to(torch::kBool) & t.special.index({ids}).logical_not();  // [B, T]
  const auto prev_eligible = shift_right(eligible, false);
  const auto n = eligible.sum(1, true);  // [B, 1] eligible tokens per row
  Corrupted c;
  if (o_.mode == "causal") {
    c.input_ids = ids;
    c.selected = torch::zeros({B, T}, eligible.options());
    c.unit = torch::zeros({B, T}, ids.options());
    return c;
  }
  if (o_.mode == "prefix") {
    // Suffix length uniform on 1..hi with hi = round(2 rate n) - 1 (mean rate n), at most n - 1.
    const auto nf = n.to(torch::kFloat32);
    const auto hi = torch::minimum((2.0 * o_.rate * nf).round() - 1, nf - 1).clamp_min(1);
    const auto suffix = (uniform({B, 1}, dev, gen) * hi).floor() + 1;               // [B, 1]
    const auto rank = eligible.to(L).cumsum(1) - 1;                                  // [B, T] index among eligible
    c.selected = eligible & (rank.to(torch::kFloat32) >= nf - suffix) & (n >= 2);  // [B, T]
    c.unit = torch::zeros({B, T}, ids.options());
  } else {
    const auto continuation = t.continuation.index({ids});  // [B, T]
    auto base_start = eligible;                              // units: tokens, or whole words
    if (o_.whole_word) base_start = eligible & (continuation.logical_not() | prev_eligible.logical_not());
    auto unit_start = base_start;
    if (t.span_cdf.numel() > 1) {  // group consecutive base units into spans of sampled lengths
      const auto word = (base_start.to(L).cumsum(1) - 1).clamp_min(0);  // [B, T] base unit of each token
      const auto len = (torch::searchsorted(t.span_cdf, uniform({B, T}, dev, gen), false, true) + 1)
                           .clamp_max(t.span_cdf.numel());  // [B, T] span lengths in base units
      const auto start = len.cumsum(1) - len;               // [B, T] first base unit of each span
      const auto group_start =
          torch::zeros({B, T}, L).to(dev).scatter_add_(1, start.clamp_max(T - 1), (start < T).to(L)) > 0;
      unit_start = base_start & group_start.gather(1, word);
    }
    torch::Tensor lex_first;
    if (!t.lexicon.empty()) {  // lexicon words are units of their own
      auto [covered, first] = match_lexicon(ids, eligible, continuation, t);
      const auto after = shift_right(covered, false) & covered.logical_not();
      unit_start = (unit_start & (covered & first.logical_not()).logical_not()) | first | (after & base_start);
      lex_first = first;
    }
    // Ineligible tokens are units of their own (never chosen); a unit also starts after one.
    unit_start = unit_start | eligible.logical_not() | (eligible & prev_eligible.logical_not());
    const auto unit = unit_start.to(L).cumsum(1) - 1;  // [B, T] in [0, T)
    const auto unit_len = torch::zeros({B, T}, ids.options()).scatter_add_(1, unit, eligible.to(L));  // [B, T]
    auto score = uniform({B, T}, dev, gen);  // random order of units; lexicon words first
    if (lex_first.defined())
      score = score - (torch::zeros({B, T}, ids.options()).scatter_add_(1, unit, lex_first.to(L)) > 0).to(score.dtype());
    score = score.masked_fill(unit_len == 0, 3.0f);
    const auto order = score.argsort(/*stable=*/false, /*dim=*/1);  // [B, T]
    const auto sorted_len = unit_len.gather(1, order);       // [B, T]
    const auto before = sorted_len.cumsum(1) - sorted_len;   // tokens in the units drawn earlier
    const auto budget = o_.rate * n.to(torch::kFloat32);     // [B, 1]
    // Take units while the budget lasts; the unit that crosses it with probability
    // (budget - before) / len, so the expected count of chosen tokens is the budget.
    const auto take = ((before.to(torch::kFloat32) + uniform({B, T}, dev, gen) * sorted_len.to(torch::kFloat32)) <
                       budget) & (sorted_len > 0);
    const auto chosen = torch::zeros({B, T}, ids.options()).scatter_(1, order, take.to(L));  // per unit
    c.selected = chosen.gather(1, unit).to(torch::kBool) & eligible;
    c.unit = unit;
  }
  // Replacement: [MASK] / a random non-special token / unchanged.
  const auto u = uniform({B, T}, dev, gen);
  const auto to_mask = c.selected & (u < o_.mask_prob);
  const auto to_random = c.selected & (u >= o_.mask_prob) & (u < o_.mask_prob + o_.random_prob);
  const int64_t R = t.random_ids.numel();
  const auto pick = (uniform({B, T}, dev, gen) * static_cast<float>(R)).to(L).clamp_max(R - 1);
  auto out = torch::where(to_mask, torch::full_like(ids, std::max<int64_t>(mask_id_, 0)), ids);
  c.input_ids = torch::where(to_random, t.random_ids.index({pick}), out);
  return c;
}

}  // namespace ptm::objectives
