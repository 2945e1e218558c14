// Pruning criteria and masks against hand-computed cases.
#include <cmath>

#include "catch.h"
#include "ptm/compress/criteria.h"
#include "ptm/compress/masks.h"
#include "ptm/compress/targets.h"
#include "ptm/models/bert.h"

using namespace ptm::compress;

namespace {

torch::Tensor t(std::vector<float> v, std::vector<int64_t> shape) { return torch::tensor(v).view(shape); }

bool same(const torch::Tensor& a, const torch::Tensor& b) { return a.sizes() == b.sizes() && torch::equal(a, b); }

std::unique_ptr<Criterion> make(const std::string& name, uint64_t seed = 0) {
  return criteria().find(name)->factory(seed);
}

}  // namespace

TEST_CASE("layer, row and global masks remove the lowest scores", "[unit][compress]") {
  const auto s = t({1, 5, 3, 2, 6, 4}, {2, 3});
  // Layer, 50%: 3 lowest (1, 2, 3) go.
  CHECK(same(layer_mask(s, 0.5), t({0, 1, 0, 0, 1, 1}, {2, 3})));
  // Row, 1/3: floor(3 / 3) = 1 per row: 1 in row 0, 2 in row 1.
  CHECK(same(row_mask(s, 1.0 / 3.0), t({0, 1, 1, 0, 1, 1}, {2, 3})));
  CHECK(same(layer_mask(s, 0.0), torch::ones({2, 3})));
  // Global over [1, 5] and [2, 3, 4, 0.5] at 50%: the 3 lowest of all (0.5, 1, 2).
  const auto g = global_masks({t({1, 5}, {1, 2}), t({2, 3, 4, 0.5}, {1, 4})}, 0.5);
  CHECK(same(g[0], t({0, 1}, {1, 2})));
  CHECK(same(g[1], t({0, 1, 1, 0}, {1, 4})));
  CHECK(pruned_count(0.29, 100) == 29);  // 0.29 * 100 = 28.999...
}

TEST_CASE("N:M keeps the n highest of every m along the input dimension", "[unit][compress]") {
  const auto s2 = t({0.1f, 0.4f, 0.3f, 0.2f, 5, 6, 7, 8, 1, 3, 2, 0}, {3, 4});
  CHECK(same(nm_mask(s2, 2, 4), t({0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0}, {3, 4})));
  // 2:4 on a row of 8: two groups.
  const auto s3 = t({0.1f, 0.4f, 0.3f, 0.2f, 5, 6, 7, 8}, {1, 8});
  const auto m = nm_mask(s3, 2, 4);
  CHECK(same(m, t({0, 1, 1, 0, 0, 0, 1, 1}, {1, 8})));
  CHECK(m.sum().item<float>() == 4);
}

TEST_CASE("magnitude and wanda scores, hand-computed", "[unit][compress]") {
  const auto w = t({1, -3, 2, 0.5f}, {2, 2});
  LayerStats stats;
  CHECK(same(make("magnitude")->scores(w, stats), t({1, 3, 2, 0.5f}, {2, 2})));
  // ||X_j||_2 = sqrt([16, 1]) = [4, 1]: |W| * [4, 1] = [[4, 3], [8, 0.5]].
  stats.input_sq = torch::tensor({16.0f, 1.0f});
  const auto wanda = make("wanda")->scores(w, stats);
  CHECK(same(wanda, t({4, 3, 8, 0.5f}, {2, 2})));
  // Per row at 50%, magnitude drops column 0 of row 0; wanda keeps it (the large activation).
  CHECK(same(row_mask(make("magnitude")->scores(w, stats), 0.5), t({0, 1, 1, 0}, {2, 2})));
  CHECK(same(row_mask(wanda, 0.5), t({1, 0, 1, 0}, {2, 2})));
  CHECK(make("wanda")->needs_activations());
  CHECK_THROWS(make("wanda")->scores(w, LayerStats{}));
}

TEST_CASE("taylor scores |w * mean gradient|, hand-computed", "[unit][compress]") {
  const auto w = t({1, -2, 3}, {1, 3});
  LayerStats stats;
  stats.grad = t({4, 1, -2}, {1, 3});  // summed over 2 batches: the mean is [2, 0.5, -1]
  stats.batches = 2;
  CHECK(same(make("taylor")->scores(w, stats), t({2, 1, 3}, {1, 3})));
  CHECK(make("taylor")->needs_gradients());
  CHECK(data_driven("taylor"));
  CHECK(data_driven("wanda"));
  CHECK_FALSE(data_driven("magnitude"));
}

TEST_CASE("random scores are seeded, differ per layer and lie between 0 and 1", "[unit][compress]") {
  const auto w = torch::zeros({8, 16});
  auto a = make("random", 7), b = make("random", 7), c = make("random", 8);
  const auto a1 = a->scores(w, {}), a2 = a->scores(w, {});
  CHECK(torch::equal(a1, b->scores(w, {})));
  CHECK_FALSE(torch::equal(a1, a2));
  CHECK_FALSE(torch::equal(a1, c->scores(w, {})));
  CHECK(a1.min().item<float>() >= 0);
  CHECK(a1.max().item<float>() < 1);
}

TEST_CASE("default targets are the Linear layers inside the repeated layers", "[unit][compress]") {
  ptm::models::BertOptions o;
  o.vocab_size = 40;
  o.hidden_size = 16;
  o.num_hidden_layers = 2;
  o.num_attention_heads = 2;
  o.intermediate_size = 32;
  o.max_position_embeddings = 16;
  o.head.type = "classification";
  auto bert = ptm::models::Bert(o);
  const auto targets = select_targets(*bert, {});
  // query, key, value, attention.output.dense, intermediate.dense, output.dense per layer; no pooler or classifier.
  REQUIRE(targets.size() == 12);
  for (const auto& [name, lin] : targets) {
    INFO(name);
    CHECK(name.find("encoder.layer.") != std::string::npos);
  }
  const auto chosen = select_targets(*bert, {"intermediate.dense", "classifier"});
  REQUIRE(chosen.size() == 3);
  CHECK(chosen.back().first == "classifier");
}
