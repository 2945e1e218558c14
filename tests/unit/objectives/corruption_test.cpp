// The corruption engine's statistics over 1M tokens (masked fraction, 80/10/10, span-length
// means), its invariants (specials and padding never corrupted, whole words and n-grams never
// split, lexicon words first) and option checks.
#include <set>

#include "catch.h"
#include "helpers.h"
#include "ptm/data/tokenizer.h"
#include "ptm/objectives/corruption.h"

using namespace ptm::objectives;

namespace {

constexpr int64_t kVocab = 1000, kMask = 3;

// Ids 0..3 special ([PAD] [CLS] [SEP] [MASK]); 600..999 are "##" continuations.
Vocabulary toy_vocab() {
  Vocabulary v;
  v.size = kVocab;
  v.mask_id = kMask;
  v.specials = {0, 1, 2, 3};
  for (int64_t id = 600; id < kVocab; ++id) v.continuations.push_back(id);
  return v;
}

torch::Tensor random_ids(int64_t B, int64_t T, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return torch::randint(0, kVocab, {B, T}, gen, torch::kLong);
}

double frac(const torch::Tensor& num, const torch::Tensor& den) {
  return num.sum().item<double>() / den.sum().item<double>();
}

// Mean length (in tokens) of the chosen units.
double chosen_unit_mean(const Corrupted& c) {
  const auto sel = c.selected.to(torch::kLong);
  const auto per_unit = torch::zeros_like(sel).scatter_add_(1, c.unit, sel);  // chosen tokens per unit
  return per_unit.sum().item<double>() / (per_unit > 0).sum().item<double>();
}

}  // namespace

TEST_CASE("masked fraction and the 80/10/10 split hold over 1M tokens", "[unit][objectives]") {
  CorruptionEngine engine(CorruptionOptions{}, toy_vocab());
  const int64_t B = 2048, T = 512;  // 1,048,576 tokens
  const auto ids = random_ids(B, T, 7);
  auto gen = at::detail::createCPUGenerator(11);
  const auto padding = torch::rand({B, T}, gen) < 0.1;
  const auto eligible = padding.logical_not();
  const auto c = engine.corrupt(ids, eligible, &gen);
  const auto special = ids < 4;
  CHECK((c.selected & special).sum().item<int64_t>() == 0);
  CHECK((c.selected & padding).sum().item<int64_t>() == 0);
  CHECK((c.input_ids != ids).logical_and(c.selected.logical_not()).sum().item<int64_t>() == 0);
  const double masked = frac(c.selected, eligible & special.logical_not());
  CHECK(std::abs(masked - 0.15) < 0.15 * 0.005);  // within 0.5% of the rate
  const auto sel = c.selected;
  const double to_mask = frac(sel & (c.input_ids == kMask), sel);
  const double kept = frac(sel & (c.input_ids == ids), sel);
  const double random = frac(sel & (c.input_ids != ids) & (c.input_ids != kMask), sel);
  CHECK(std::abs(to_mask - 0.8) < 0.005);
  CHECK(std::abs(random - 0.1) < 0.005);
  CHECK(std::abs(kept - 0.1) < 0.005);
  // Random replacements are never special tokens.
  CHECK((sel & (c.input_ids != ids) & (c.input_ids != kMask) & (c.input_ids < 4)).sum().item<int64_t>() == 0);
}

TEST_CASE("span lengths have the configured mean over 1M tokens", "[unit][objectives]") {
  const int64_t B = 2048, T = 512;
  const auto ids = torch::randint(4, kVocab, {B, T}, at::detail::createCPUGenerator(3), torch::kLong);
  const auto eligible = torch::ones({B, T}, torch::kBool);
  for (const auto& [dist, mean] : std::vector<std::pair<std::string, double>>{
           {"geometric", 3.0}, {"poisson", 3.5}, {"fixed", 4.0}, {"geometric", 8.0}}) {
    CorruptionOptions o;
    o.span_distribution = dist;
    o.span_mean = mean;
    o.span_max = dist == "geometric" && mean > 5 ? 32 : 10;
    o.rate = 0.3;
    CorruptionEngine engine(o, toy_vocab());
    auto gen = at::detail::createCPUGenerator(5);
    const auto c = engine.corrupt(ids, eligible, &gen);
    INFO(dist << " mean " << mean);
    CHECK(std::abs(chosen_unit_mean(c) / mean - 1.0) < 0.05);
    CHECK(std::abs(frac(c.selected, eligible) / 0.3 - 1.0) < 0.02);
  }
}

TEST_CASE("whole-word and n-gram masking never split a word or an n-gram", "[unit][objectives]") {
  const int64_t B = 512, T = 256;
  const auto ids = random_ids(B, T, 9);
  const auto eligible = torch::ones({B, T}, torch::kBool);
  for (int64_t n : {1, 3}) {
    CorruptionOptions o;
    o.whole_word = true;
    o.span_distribution = n == 1 ? "fixed" : "ngram";
    o.span_max = n;
    CorruptionEngine engine(o, toy_vocab());
    auto gen = at::detail::createCPUGenerator(13);
    const auto c = engine.corrupt(ids, eligible, &gen);
    const auto real = ids >= 4;
    const auto cont = ids >= 600;
    // A continuation after a real token shares its fate (the word is whole) ...
    const auto a = c.selected.narrow(1, 1, T - 1), b = c.selected.narrow(1, 0, T - 1);
    const auto inside_word = cont.narrow(1, 1, T - 1) & real.narrow(1, 0, T - 1);
    CHECK((inside_word & (a != b)).sum().item<int64_t>() == 0);
    // ... and so does every real token of the same unit (n-gram).
    const auto same_unit = (c.unit.narrow(1, 1, T - 1) == c.unit.narrow(1, 0, T - 1)) & real.narrow(1, 1, T - 1) &
                           real.narrow(1, 0, T - 1);
    CHECK((same_unit & (a != b)).sum().item<int64_t>() == 0);
    // Units hold at most n words.
    const auto starts = (real & (cont.logical_not() | torch::cat({torch::ones({B, 1}, torch::kBool),
                                                                   real.narrow(1, 0, T - 1).logical_not()}, 1)))
                            .to(torch::kLong);
    const auto words = torch::zeros_like(starts).scatter_add_(1, c.unit, starts);
    CHECK(words.max().item<int64_t>() == n);
    CHECK(std::abs(frac(c.selected, real) / 0.15 - 1.0) < 0.1);
  }
}

TEST_CASE("lexicon words are masked first and real specials never", "[unit][objectives]") {
  const std::string vocab = ptm::test::data_dir() + "/models/minilm/vocab.txt";
  const auto tok = ptm::data::load_tokenizer(vocab);
  auto v = Vocabulary::from_tokenizer(*tok, "[MASK]");
  v.add_lexicon(*tok, {"elizabeth", "pemberley"});
  const std::string text =
      "it is a truth universally acknowledged that elizabeth walked to pemberley with her sister jane, "
      "and the weather was fine and the company agreeable though the road was long";
  std::vector<int64_t> row{*tok->token_to_id("[CLS]")};
  for (int32_t id : tok->encode(text)) row.push_back(id);
  row.push_back(*tok->token_to_id("[SEP]"));
  const int64_t B = 64, T = static_cast<int64_t>(row.size());
  const auto ids = torch::tensor(row).view({1, T}).expand({B, T}).contiguous();
  CorruptionOptions o;
  o.whole_word = true;
  o.rate = 0.3;
  CorruptionEngine engine(o, v);
  auto gen = at::detail::createCPUGenerator(1);
  const auto c = engine.corrupt(ids, torch::ones({B, T}, torch::kBool), &gen);
  std::set<std::string> always;
  for (int64_t t = 0; t < T; ++t)
    if (c.selected.select(1, t).all().item<bool>()) always.insert(tok->id_to_token(static_cast<int32_t>(row[t])));
  const auto pem = tok->encode("pemberley");
  REQUIRE(pem.size() > 1);  // a multi-piece word: whole, and chosen in every row
  for (int32_t id : pem) CHECK(always.count(tok->id_to_token(id)) == 1);
  CHECK(always.count("elizabeth") == 1);
  CHECK_FALSE(c.selected.select(1, 0).any().item<bool>());      // [CLS]
  CHECK_FALSE(c.selected.select(1, T - 1).any().item<bool>());  // [SEP]
}

TEST_CASE("prefix corruption chooses a suffix of the mean length", "[unit][objectives]") {
  CorruptionOptions o;
  o.mode = "prefix";
  o.rate = 0.25;
  o.mask_prob = 1.0;
  o.random_prob = 0.0;
  CorruptionEngine engine(o, toy_vocab());
  const auto ids = torch::randint(4, kVocab, {4096, 64}, at::detail::createCPUGenerator(2), torch::kLong);
  auto gen = at::detail::createCPUGenerator(4);
  const auto c = engine.corrupt(ids, torch::ones_like(ids, torch::kBool), &gen);
  // A suffix: once chosen, every later position is chosen.
  const auto s = c.selected.to(torch::kLong);
  CHECK((s.narrow(1, 1, 63) < s.narrow(1, 0, 63)).sum().item<int64_t>() == 0);
  CHECK(std::abs(s.to(torch::kFloat32).mean().item<double>() - 0.25) < 0.01);
  CHECK((c.input_ids == kMask).equal(c.selected));
}

TEST_CASE("corruption options are checked by key", "[unit][objectives]") {
  CorruptionOptions o;
  o.rate = 1.5;
  o.span_distribution = "geometrik";
  o.mask_prob = 0.9;
  o.random_prob = 0.2;
  std::string all;
  for (const auto& [key, what] : o.problems()) all += key + ": " + what + "\n";
  CHECK(ptm::test::contains(all, "rate: must be in (0, 1), got 1.5"));
  CHECK(ptm::test::contains(all, "span_distribution: 'geometrik' is not one of"));
  CHECK(ptm::test::contains(all, "did you mean geometric"));
  CHECK(ptm::test::contains(all, "replace: mask_prob and random_prob"));
  CorruptionOptions g;
  g.span_distribution = "geometric";
  g.span_mean = 6;
  g.span_max = 10;
  REQUIRE(g.problems().size() == 1);
  CHECK(g.problems()[0].first == "span_mean");
  auto no_mask = toy_vocab();
  no_mask.mask_id = -1;
  CHECK(ptm::test::contains(ptm::test::error_of([&] { CorruptionEngine e(CorruptionOptions{}, no_mask); }),
                            "the vocabulary has no mask token"));
}
