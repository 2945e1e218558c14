// Training-time mixtures (data type "mixture"): the interleave rule keeps every source within
// one window of its share; each source's windows are identified by their ids (disjoint ranges),
// so the realised shares per batch, rank sharding, exact resume, evaluation coverage and the
// refusals are checked on the batches themselves.
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "catch.h"
#include "helpers.h"
#include "ptm/config/load.h"
#include "ptm/core/errors.h"
#include "ptm/data/mixture.h"
#include "ptm/data/shard.h"
#include "ptm/data/token_mixture.h"
#include "ptm/data/token_windows.h"

using namespace ptm::data;

namespace {

constexpr int64_t kVocab = 60000;

// A prepared folder <name> whose train and val tokens are base, base+1, ... (n of each).
std::string make_source(const ptm::test::TempDir& d, const std::string& name, int32_t base, int64_t n,
                        int64_t vocab = kVocab, const std::string& sha = "aaaa") {
  std::filesystem::create_directories(d.file(name));
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = base + static_cast<int32_t>(i);
  for (const char* split : {"train", "val"}) {
    ShardWriter w(d.file(name + "/" + split + "_000000.bin"), vocab);
    w.append(ids.data(), ids.size());
    w.close();
  }
  d.write(name + "/manifest.json", R"({"tokenizer": {"vocab_size": )" + std::to_string(vocab) + R"(, "sha256": ")" +
                                       sha + R"("}, "train": {"shards": [{"file": "train_000000.bin"}]},
    "val": {"shards": [{"file": "val_000000.bin"}]}})");
  return d.file(name);
}

// Sources a (ids 0..), b (20000..), c (40000..).
TokenMixtureOptions three(const ptm::test::TempDir& d, double wa, double wb, double wc, int64_t T = 8) {
  TokenMixtureOptions o;
  o.seq_len = T;
  o.sources = {{make_source(d, "a", 0, 5000), wa, "a"},
               {make_source(d, "b", 20000, 3000), wb, "b"},
               {make_source(d, "c", 40000, 4000), wc, "c"}};
  return o;
}

int source_of(const torch::Tensor& row) { return static_cast<int>(row[0].item<int64_t>() / 20000); }

// The problems a `data:` section gives ("" when none).
std::string problems(const std::string& yaml) {
  const auto node = ptm::config::parse_yaml(yaml, "r.yaml");
  ptm::config::BindContext ctx;
  parse_dataset(ptm::config::Section(ctx, node.find("data"), "data", {}));
  std::string out;
  for (const auto& p : ctx.problems()) out += p.path + ": " + p.message + "\n";
  return out;
}

}  // namespace

TEST_CASE("next_source keeps every source within one window of its share, passing over zero weights",
          "[unit][data][mixture]") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const size_t k = 2 + rng() % 5;
    std::vector<double> w(k);
    for (auto& x : w) x = std::pow(std::uniform_real_distribution<double>(0, 1)(rng), 3);
    w[rng() % k] = 0;  // a zero weight among them
    double sum = 0;
    for (const double x : w) sum += x;
    size_t positive = 0;
    for (auto& x : w) positive += (x /= sum) > 0 ? 1 : 0;
    const double bound = positive > 1 ? 1 - 1.0 / static_cast<double>(2 * positive - 2) : 0;
    std::vector<int64_t> counts(k, 0);
    const std::vector<bool> open(k, true);
    double worst = 0;
    for (int64_t n = 1; n <= 3000; ++n) {
      const int i = next_source(w, counts, open);
      REQUIRE(i >= 0);
      REQUIRE(w[static_cast<size_t>(i)] > 0);
      for (size_t j = 0; j < k; ++j)
        worst = std::max(worst, std::abs(static_cast<double>(counts[j]) - w[j] * static_cast<double>(n)));
    }
    INFO("trial " << trial);
    CHECK(worst <= bound + 1e-9);
  }
  std::vector<int64_t> counts{0, 0};
  CHECK(next_source({0.5, 0.5}, counts, {false, true}) == 1);
  CHECK(next_source({0.5, 0.5}, counts, {false, false}) == -1);
}

TEST_CASE("a one-source mixture draws exactly the windows of data type tokens", "[unit][data][mixture]") {
  ptm::test::TempDir d;
  const auto path = make_source(d, "a", 0, 5000);
  for (int world : {1, 3}) {
    StreamOptions s;
    s.batch_size = 4;
    s.world = world;
    s.rank = world - 1;
    auto mix = make_token_mixture({{{path, 2.5, "a"}}, 16}, s);
    auto tok = make_token_windows({path, 16}, s);
    for (int k = 0; k < 6; ++k) CHECK(torch::equal(mix->next()->input_ids, tok->next()->input_ids));
  }
}

TEST_CASE("mixture batches hold each source's share up to one window, over any number of ranks, and resume exactly",
          "[unit][data][mixture]") {
  ptm::test::TempDir d;
  const auto o = three(d, 0.5, 0.3, 0.2);
  const int64_t B = 10;
  StreamOptions s;
  s.batch_size = B;
  auto one = make_token_mixture(o, s);
  std::vector<torch::Tensor> batches;
  std::map<int, int64_t> seen;
  const std::vector<double> share{0.5, 0.3, 0.2};
  for (int64_t k = 1; k <= 20; ++k) {
    batches.push_back(one->next()->input_ids);
    const auto& b = batches.back();
    CHECK(torch::equal(b.narrow(1, 1, 7) - b.narrow(1, 0, 7), torch::ones({B, 7}, torch::kInt64)));  // one source a row
    for (int64_t j = 0; j < B; ++j) ++seen[source_of(b[j])];
    for (int i = 0; i < 3; ++i) {
      INFO("batch " << k << " source " << i);
      CHECK(std::abs(static_cast<double>(seen[i]) - share[i] * static_cast<double>(k * B)) < 1.0);
    }
    // The state counts the tokens of every source so far.
    const auto st = one->state();
    CHECK(st["source_tokens"]["a"].get<int64_t>() == seen[0] * 8);
    CHECK(st["source_tokens"]["b"].get<int64_t>() == seen[1] * 8);
    CHECK(st["source_tokens"]["c"].get<int64_t>() == seen[2] * 8);
  }
  // Shares of 0.5/0.3/0.2 of 10 windows: exact in every batch, in shuffled rows.
  std::set<std::vector<int>> orders;
  for (const auto& b : batches) {
    std::vector<int> order;
    for (int64_t j = 0; j < B; ++j) order.push_back(source_of(b[j]));
    CHECK(std::count(order.begin(), order.end(), 0) == 5);
    CHECK(std::count(order.begin(), order.end(), 1) == 3);
    orders.insert(order);
  }
  CHECK(orders.size() > 10);
  // Two ranks of 5 rows: rank r's row j is row 2j+r of the one-process batch of 10.
  for (int rank = 0; rank < 2; ++rank) {
    StreamOptions sr = s;
    sr.batch_size = B / 2;
    sr.world = 2;
    sr.rank = rank;
    auto part = make_token_mixture(o, sr);
    for (int64_t k = 0; k < 20; ++k) {
      const auto b = part->next()->input_ids;
      for (int64_t j = 0; j < B / 2; ++j) CHECK(torch::equal(b[j], batches[k][2 * j + rank]));
      if (k == 19) CHECK(part->state()["source_tokens"] == one->state()["source_tokens"]);  // all ranks' counts
    }
  }
  // A new stream from the state after 7 batches continues with batch 8.
  auto first = make_token_mixture(o, s);
  for (int k = 0; k < 7; ++k) first->next();
  const auto st = nlohmann::json::parse(first->state().dump());
  auto resumed = make_token_mixture(o, s);
  resumed->load_state(st);
  for (int k = 7; k < 20; ++k) CHECK(torch::equal(resumed->next()->input_ids, batches[k]));
  auto fewer = o;
  fewer.sources.pop_back();
  CHECK(ptm::test::contains(ptm::test::error_of([&] { make_token_mixture(fewer, s)->load_state(st); }),
                            "a mixture of 3 sources, this recipe has 2"));
}

TEST_CASE("a mixture's evaluation pass covers every source's windows once, interleaved, split over ranks",
          "[unit][data][mixture]") {
  ptm::test::TempDir d;
  const auto o = three(d, 0.6, 0.4, 0.0);  // c has weight 0: not evaluated either
  std::multiset<int64_t> firsts;
  std::vector<int> first_batch;
  for (int rank = 0; rank < 2; ++rank) {
    StreamOptions s;
    s.split = "val";
    s.train = false;
    s.batch_size = 7;
    s.world = 2;
    s.rank = rank;
    auto stream = make_token_mixture(o, s);
    while (auto b = stream->next())
      for (int64_t j = 0; j < b->size(); ++j) {
        firsts.insert(b->input_ids[j][0].item<int64_t>());
        if (rank == 0 && first_batch.size() < 7) first_batch.push_back(source_of(b->input_ids[j]));
      }
  }
  std::multiset<int64_t> expected;
  for (int64_t w = 0; w < (5000 - 1) / 8; ++w) expected.insert(w * 8);
  for (int64_t w = 0; w < (3000 - 1) / 8; ++w) expected.insert(20000 + w * 8);
  CHECK(firsts == expected);
  // Interleaved, not one source after the other: both in rank 0's first batch.
  CHECK(std::count(first_batch.begin(), first_batch.end(), 0) >= 2);
  CHECK(std::count(first_batch.begin(), first_batch.end(), 1) >= 2);
}

TEST_CASE("a mixture refuses different tokenizers and bad weights at validation, naming sources and keys",
          "[unit][data][mixture][messages]") {
  ptm::test::TempDir d;
  const auto a = make_source(d, "a", 0, 500);
  const auto b = make_source(d, "b", 0, 500, 30000);
  const auto c = make_source(d, "c", 0, 500, kVocab, "bbbb");
  const auto mix = [&](const std::string& sources) { return "data:\n  type: mixture\n  sources: " + sources + "\n"; };
  CHECK(problems(mix("[{path: " + a + ", weight: 0.7}, {path: " + a + "/, weight: 0.3, name: again}]")) == "");
  auto p = problems(mix("[{path: " + a + ", weight: 0.7}, {path: " + b + ", weight: 0.3}]"));
  CHECK(ptm::test::contains(p, "data.sources: sources 0 ('" + a + "') and 1 ('" + b + "') were prepared with different tokenizers"));
  CHECK(ptm::test::contains(p, "tokenizer.vocab_size 60000 vs 30000"));
  p = problems(mix("[{path: " + a + "}, {path: " + c + "}]"));
  CHECK(ptm::test::contains(p, "sources 0 ('" + a + "') and 1 ('" + c + "') were prepared with different tokenizers"));
  CHECK(ptm::test::contains(p, "tokenizer.sha256 aaaa... vs bbbb..."));
  p = problems(mix("[{path: " + a + ", weight: -1}, {path: " + c + ", weight: 1}]"));
  CHECK(ptm::test::contains(p, "data.sources.0.weight: must be >= 0, got -1"));
  p = problems(mix("[{path: " + a + ", weight: 0}, {path: " + a + ", weight: 0, name: a2}]"));
  CHECK(p == "data.sources: the weights are all 0: at least one source needs a positive weight\n");
  p = problems(mix("[{path: " + a + "}, {path: " + a + "}]"));
  CHECK(ptm::test::contains(p, "data.sources.1.name: 'a' names another source too"));
  p = problems(mix("[{path: " + d.file("nowhere") + "}]"));
  CHECK(ptm::test::contains(p, "data.sources.0.path: '" + d.file("nowhere") + "' holds no manifest.json"));
  CHECK(ptm::test::contains(problems(mix("[]")), "data.sources: expected a non-empty list"));
  // Constructed directly (no recipe): the same refusal.
  StreamOptions s;
  CHECK(ptm::test::contains(ptm::test::error_of([&] { make_token_mixture({{{a, 1, "a"}, {c, 1, "c"}}, 8}, s); }),
                            "were prepared with different tokenizers"));
}
