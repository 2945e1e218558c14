// Whole-layer removal: the layer criteria on hand-made similarities, the hidden-state
// similarities against torch's cosine_similarity (padding excluded), and a GPT and a BERT
// rebuilt without two layers computing what the full model computes with them skipped.
#include <cmath>
#include <deque>

#include "catch.h"
#include "ptm/compress/axes.h"
#include "ptm/compress/layer_prune.h"
#include "ptm/models/bert.h"
#include "ptm/models/elastic.h"
#include "ptm/models/gpt.h"

using namespace ptm;

namespace {

// Hidden states h_0..h_4 of a 4-layer model whose layer l changes the stream by change[l]
// (cosine 1 - change between h_l and h_{l+1}); distances of larger spans add up.
compress::HiddenSimilarity similarity(const std::vector<double>& change) {
  const int64_t n = static_cast<int64_t>(change.size()) + 1;
  compress::HiddenSimilarity s;
  s.cosine = torch::ones({n, n}, torch::kFloat64);
  s.angle = torch::zeros({n, n}, torch::kFloat64);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      double d = 0;
      for (int64_t l = i; l < j; ++l) d += change[l];
      s.cosine[i][j] = s.cosine[j][i] = 1.0 - d;
      s.angle[i][j] = s.angle[j][i] = d / 2;
    }
  return s;
}

std::unique_ptr<compress::LayerCriterion> criterion(const std::string& name, uint64_t seed = 0) {
  return compress::layer_criteria().find(name)->factory(seed);
}

// Fixed batches, then the end.
class Batches : public data::BatchStream {
 public:
  explicit Batches(std::vector<data::Batch> b) : left_(b.begin(), b.end()) {}
  std::optional<data::Batch> next() override {
    if (left_.empty()) return std::nullopt;
    auto b = left_.front();
    left_.pop_front();
    return b;
  }
  nlohmann::json state() const override { return nullptr; }
  void load_state(const nlohmann::json&) override {}
  int64_t examples() const override { return 0; }
  std::string describe() const override { return "test batches"; }

 private:
  std::deque<data::Batch> left_;
};

models::Bert tiny_bert(int64_t layers) {
  models::BertOptions o;
  o.vocab_size = 50;
  o.hidden_size = 16;
  o.num_hidden_layers = layers;
  o.num_attention_heads = 2;
  o.intermediate_size = 24;
  o.max_position_embeddings = 16;
  o.head.type = "classification";
  o.head.num_labels = 3;
  models::Bert bert(o);
  // Weights larger than BERT's initial 0.02, so that every layer changes the stream visibly.
  torch::NoGradGuard no_grad;
  for (auto& p : bert->parameters())
    if (p.dim() == 2) p.normal_(0.0, 0.3);
  return bert;
}

models::Gpt tiny_gpt(int64_t layers) {
  models::GptOptions o;
  o.vocab_size = 50;
  o.n_positions = 16;
  o.n_embd = 16;
  o.n_layer = layers;
  o.n_head = 2;
  return models::Gpt(o);
}

}  // namespace

TEST_CASE("layer criteria choose the layers that change the residual stream least", "[unit][compress]") {
  // Layer changes 0.3, 0.05, 0.2, 0.1.
  const auto s = similarity({0.3, 0.05, 0.2, 0.1});
  const auto bi = criterion("block_influence")->choose(s, 4, 2);
  CHECK(bi.removed == std::vector<int64_t>{1, 3});
  REQUIRE(bi.scores.size() == 4);
  CHECK(bi.scores[0] == Approx(0.3));
  CHECK(bi.scores[3] == Approx(0.1));
  // Blocks of two: 0.35, 0.25, 0.3 -> layers 1 and 2 (consecutive, unlike block_influence).
  const auto angular = criterion("angular")->choose(s, 4, 2);
  CHECK(angular.removed == std::vector<int64_t>{1, 2});
  REQUIRE(angular.scores.size() == 3);
  CHECK(angular.scores[1] == Approx(0.125));
  CHECK(criterion("angular")->choose(s, 4, 1).removed == std::vector<int64_t>{1});
  const auto r1 = criterion("random", 3)->choose({}, 6, 2), r2 = criterion("random", 3)->choose({}, 6, 2);
  CHECK(r1.removed == r2.removed);
  CHECK(r1.removed.size() == 2);
  CHECK(r1.removed[0] < r1.removed[1]);
  CHECK_FALSE(criterion("random")->needs_data());
}

TEST_CASE("hidden-state similarities average the real tokens' cosines", "[unit][compress]") {
  torch::manual_seed(11);
  auto bert = tiny_bert(3);
  bert->eval();
  std::vector<data::Batch> batches(2);
  for (auto& b : batches) {
    b.input_ids = torch::randint(1, 50, {2, 6}, torch::kLong);
    b.attention_mask = torch::ones({2, 6}, torch::kLong);
  }
  batches[1].attention_mask.index_put_({1, torch::indexing::Slice(3)}, 0);  // 3 padding tokens
  Batches stream(batches);
  const auto s = compress::hidden_similarity(*bert, stream, 8, torch::kCPU);
  CHECK(s.batches == 2);
  CHECK(s.tokens == 21);
  REQUIRE(s.cosine.sizes() == torch::IntArrayRef({4, 4}));
  // Reference: torch's cosine_similarity over the real tokens of both batches.
  std::vector<torch::Tensor> hidden;  // [tokens, C] per hidden state
  torch::NoGradGuard no_grad;
  models::ForwardOptions fo;
  fo.output_hidden_states = true;
  for (size_t i = 0; i < 4; ++i) {
    std::vector<torch::Tensor> parts;
    for (const auto& b : batches) {
      const auto h = bert->forward(b, fo).hidden_states.at(i).reshape({-1, 16});
      parts.push_back(h.index({b.attention_mask.reshape({-1}) == 1}));
    }
    hidden.push_back(torch::cat(parts).to(torch::kFloat64));
  }
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      const auto cos = torch::nn::functional::cosine_similarity(
          hidden[i], hidden[j], torch::nn::functional::CosineSimilarityFuncOptions().dim(1));
      CHECK(s.cosine[i][j].item<double>() == Approx(cos.mean().item<double>()).margin(1e-5));
      CHECK(s.angle[i][j].item<double>() ==
            Approx((torch::acos(cos.clamp(-1, 1)) / M_PI).mean().item<double>()).margin(2e-3));
    }
  CHECK(s.cosine[0][1].item<double>() < 0.999);  // the layers do change the stream
}

TEST_CASE("a model rebuilt without layers equals the full model skipping them", "[unit][compress]") {
  torch::manual_seed(12);
  const auto ids = torch::randint(1, 50, {2, 8}, torch::kLong);
  for (const std::string arch : {"gpt", "bert"}) {
    INFO(arch);
    std::shared_ptr<models::ModelImpl> full =
        arch == "gpt" ? std::shared_ptr<models::ModelImpl>(tiny_gpt(4).ptr()) : tiny_bert(4).ptr();
    full->eval();
    const auto shrunk = compress::shrink(*full, {{"layers", {{0, 2}}}});
    CHECK(shrunk.int_options.at(arch == "gpt" ? "n_layer" : "num_hidden_layers") == 2);
    shrunk.model->eval();
    models::Subnet skip;
    const auto sizes = compress::prunable_axes(*full);
    for (int64_t l = 0; l < 4; ++l)
      skip.push_back(l % 2 == 1 ? models::SubnetLayer{0, 0}
                                : models::SubnetLayer{sizes[0].layers[l].units, sizes[1].layers[l].units});
    torch::NoGradGuard no_grad;
    data::Batch b;
    b.input_ids = ids;
    const auto small = shrunk.model->forward(b).logits;
    const auto whole = full->forward(b).logits;
    models::set_subnet(*full, skip);
    const auto skipped = full->forward(b).logits;
    REQUIRE(small.sizes() == skipped.sizes());
    CHECK((small - skipped).abs().max().item<double>() <= 1e-5);
    CHECK((small - whole).abs().max().item<double>() > 1e-3);  // the removed layers mattered
  }
}
