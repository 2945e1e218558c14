// Elastic sub-networks of the GPT (ptm nas): a slice of the super-network computes what a
// separately built smaller model with the same first heads and neurons computes, gradients
// reach only the sliced weights, and impossible sub-networks are refused.
#include "ptm/models/elastic.h"

#include <numeric>

#include "catch.h"
#include "ptm/compress/axes.h"
#include "ptm/compress/reorder.h"
#include "ptm/compress/structured.h"
#include "ptm/models/gpt.h"

using namespace ptm;

namespace {

models::GptOptions elastic_gpt(const std::string& variant) {
  models::GptOptions o;
  o.vocab_size = 53;
  o.n_positions = 16;
  o.n_embd = 32;
  o.n_layer = 3;
  o.n_head = 4;
  o.n_inner = 24;
  if (variant == "llama") {
    o.norm = "rmsnorm";
    o.position = "rotary";
    o.mlp = "swiglu";
    o.bias = false;
  }
  return o;
}

void randomise_biases(models::ModelImpl& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.named_parameters())
    if (p.key().find("bias") != std::string::npos) p.value().normal_(0.0, 0.1);
}

// Row blocks [off, off + n) of `t` along dim 0 for each offset, concatenated.
torch::Tensor blocks(const torch::Tensor& t, const std::vector<int64_t>& offsets, int64_t n) {
  std::vector<torch::Tensor> parts;
  for (const auto off : offsets) parts.push_back(t.narrow(0, off, n));
  return torch::cat(parts, 0);
}

// The small model of `subnet` built from its own options, its weights copied by hand from the
// super-network's layouts (q, k, v row blocks of c_attn; gate and up halves of a SwiGLU c_fc).
models::Gpt small_copy(const models::GptOptions& big_o, models::GptImpl& big, const models::Subnet& subnet) {
  auto o = big_o;
  o.head_size = big_o.head_dim();
  o.layer_heads.clear();
  o.layer_inner.clear();
  std::vector<int64_t> kept;
  for (size_t l = 0; l < subnet.size(); ++l)
    if (!subnet[l].skipped()) {
      kept.push_back(static_cast<int64_t>(l));
      o.layer_heads.push_back(subnet[l].heads);
      o.layer_inner.push_back(subnet[l].inner);
    }
  o.n_layer = static_cast<int64_t>(kept.size());
  models::Gpt small(o);
  torch::NoGradGuard no_grad;
  auto src = big.named_parameters();
  auto dst = small->named_parameters();
  for (auto& item : dst) {
    const std::string& name = item.key();
    if (name.rfind("transformer.h.", 0) != 0) {
      item.value().copy_(src[name]);
      continue;
    }
    const auto dot = name.find('.', 14);
    const auto i = std::stoll(name.substr(14, dot - 14));
    const int64_t l = kept[i];
    const std::string rest = name.substr(dot + 1);
    const auto from = src["transformer.h." + std::to_string(l) + "." + rest];
    const int64_t H = big_o.n_head, D = big_o.head_dim(), I = big_o.inner();
    const int64_t h = subnet[l].heads * D, n = subnet[l].inner;
    const bool swiglu = big_o.mlp == "swiglu";
    torch::Tensor t = from;
    if (rest == "attn.c_attn.weight" || rest == "attn.c_attn.bias") t = blocks(from, {0, H * D, 2 * H * D}, h);
    else if (rest == "attn.c_proj.weight") t = from.narrow(1, 0, h);
    else if (rest == "mlp.c_fc.weight" || rest == "mlp.c_fc.bias") t = blocks(from, swiglu ? std::vector<int64_t>{0, I} : std::vector<int64_t>{0}, n);
    else if (rest == "mlp.c_proj.weight") t = from.narrow(1, 0, n);
    item.value().copy_(t);
  }
  return small;
}

}  // namespace

TEST_CASE("a GPT sub-network slice equals a smaller GPT built with the same weights", "[unit][models][nas]") {
  for (const std::string variant : {"gpt2", "llama"}) {
    INFO(variant);
    torch::manual_seed(3);
    const auto o = elastic_gpt(variant);
    models::Gpt big(o);
    randomise_biases(*big);
    big->eval();
    const auto ids = torch::randint(0, o.vocab_size, {2, 11}, torch::kLong);
    for (const models::Subnet subnet : {models::Subnet{{3, 10}, {0, 0}, {2, 24}}, models::Subnet{{1, 1}, {4, 24}, {4, 5}},
                                        models::Subnet{{0, 0}, {0, 0}, {4, 24}}}) {
      INFO(models::subnet_string(subnet));
      auto small = small_copy(o, *big, subnet);
      small->eval();
      big->set_subnet(subnet);
      const auto sliced = big->forward_ids(ids).logits, built = small->forward_ids(ids).logits;
      CHECK(torch::allclose(sliced, built, 1e-6, 1e-6));
      // compress::shrink with the same first units and kept layers gives the same model.
      compress::KeptUnits kept;
      for (size_t l = 0; l < subnet.size(); ++l) {
        const auto& s = subnet[l];
        std::vector<int64_t> heads, inner;
        for (int64_t u = 0; u < std::max<int64_t>(s.heads, 1); ++u) heads.push_back(u);
        for (int64_t u = 0; u < std::max<int64_t>(s.inner, 1); ++u) inner.push_back(u);
        kept["heads"].push_back(heads);
        kept["neurons"].push_back(inner);
        if (!s.skipped()) kept["layers"].resize(1), kept["layers"][0].push_back(static_cast<int64_t>(l));
      }
      big->set_subnet({});
      auto shrunk = compress::shrink(*big, kept);
      shrunk.model->eval();
      data::Batch b;
      b.input_ids = ids;
      CHECK(torch::allclose(shrunk.model->forward(b).logits, built, 1e-6, 1e-6));
    }
    big->set_subnet({});
    models::Gpt whole(o);
    torch::NoGradGuard no_grad;
    auto w = whole->named_parameters();
    for (auto& p : big->named_parameters()) w[p.key()].copy_(p.value());
    whole->eval();
    CHECK(torch::equal(big->forward_ids(ids).logits, whole->forward_ids(ids).logits));  // {} is the whole model
  }
}

TEST_CASE("a sub-network's gradients reach only its slices of the shared weights", "[unit][models][nas]") {
  torch::manual_seed(4);
  const auto o = elastic_gpt("gpt2");
  models::Gpt big(o);
  big->set_subnet({{2, 7}, {0, 0}, {4, 24}});
  const auto ids = torch::randint(0, o.vocab_size, {2, 9}, torch::kLong);
  big->forward_ids(ids).logits.square().mean().backward();
  const auto& b0 = big->transformer->blocks[0];
  const int64_t D = o.head_dim();
  const auto qkv = b0->attn->c_attn->weight.grad();  // [3 H D, C]
  for (int64_t part = 0; part < 3; ++part) {
    CHECK(qkv.narrow(0, part * 4 * D, 2 * D).abs().sum().item<double>() > 0);
    CHECK(qkv.narrow(0, part * 4 * D + 2 * D, 2 * D).abs().sum().item<double>() == 0);
  }
  CHECK(b0->mlp->c_fc->weight.grad().narrow(0, 7, 17).abs().sum().item<double>() == 0);
  CHECK(b0->mlp->c_proj->weight.grad().narrow(1, 0, 7).abs().sum().item<double>() > 0);
  CHECK(b0->mlp->c_proj->weight.grad().narrow(1, 7, 17).abs().sum().item<double>() == 0);
  const auto g1 = big->transformer->blocks[1]->attn->c_attn->weight.grad();
  CHECK((!g1.defined() || g1.abs().sum().item<double>() == 0));  // the skipped layer
}

TEST_CASE("sub-networks the model cannot run are refused, naming the layer", "[unit][models][nas]") {
  const auto o = elastic_gpt("gpt2");
  models::Gpt big(o);
  CHECK_THROWS_WITH(big->set_subnet({{5, 24}, {4, 24}, {4, 24}}), Catch::Contains("layer 0: heads must lie in [1, 4], got 5"));
  CHECK_THROWS_WITH(big->set_subnet({{4, 24}, {4, 0}, {4, 24}}), Catch::Contains("layer 1: MLP width"));
  CHECK_THROWS_WITH(big->set_subnet({{4, 24}, {4, 24}}), Catch::Contains("2 layers given, the model has 3"));
  CHECK_THROWS_WITH(big->set_subnet({{0, 0}, {0, 0}, {0, 0}}), Catch::Contains("skips every layer"));
  auto g = o;
  g.n_kv_head = 2;
  models::Gpt gqa(g);
  CHECK_THROWS_WITH(gqa->set_subnet({{2, 24}, {4, 24}, {4, 24}}), Catch::Contains("grouped-query"));
  CHECK_NOTHROW(gqa->set_subnet({{4, 12}, {0, 0}, {4, 24}}));  // widths and depth still elastic
  CHECK(models::subnet_string(models::full_subnet(*big)) == "4/24,4/24,4/24");
}

TEST_CASE("sorting heads and neurons by importance keeps the function and puts the best first", "[unit][models][nas]") {
  torch::manual_seed(5);
  const auto o = elastic_gpt("gpt2");
  models::Gpt m(o);
  randomise_biases(*m);
  m->eval();
  const auto ids = torch::randint(0, o.vocab_size, {2, 10}, torch::kLong);
  const auto before = m->forward_ids(ids).logits;
  auto criterion = compress::criteria().find("magnitude_l2")->factory(0);
  const auto orders = compress::sort_units(*m, *criterion, {});
  CHECK(torch::allclose(m->forward_ids(ids).logits, before, 1e-5, 1e-5));
  // Scores of the units now in place run from high to low, and the order moved something.
  bool moved = false;
  for (const auto& axis : compress::prunable_axes(*m)) {
    const auto scores = compress::unit_scores(axis, *m, *criterion, {});
    for (size_t l = 0; l < scores.size(); ++l) {
      CHECK(torch::equal(std::get<0>(scores[l].sort(true, 0, true)), scores[l]));
      const auto& order = orders.at(axis.name)[l];
      for (size_t i = 0; i < order.size(); ++i) moved = moved || order[i] != static_cast<int64_t>(i);
    }
  }
  CHECK(moved);
}

TEST_CASE("a shrunk GPT's forward FLOPs count its own heads (ptm nas macs)", "[unit][models][nas]") {
  const auto o = elastic_gpt("gpt2");
  models::Gpt big(o);
  auto small = small_copy(o, *big, models::Subnet{{1, 10}, {0, 0}, {3, 24}});
  const double T = 16, D = static_cast<double>(o.head_dim());
  // Per layer: 2 FLOPs per weight and token, and 2 x 2 x T x T per attention channel.
  double expected = 0;
  for (const auto& [heads, block] : {std::pair<double, int64_t>{1, 0}, {3, 1}}) {
    const auto p = static_cast<double>(models::count_parameters(*small->transformer->blocks[static_cast<size_t>(block)]));
    expected += 2 * T * p + 4 * T * T * heads * D;
  }
  const auto rows = small->summary(16);
  REQUIRE(rows.size() == 4);  // embeddings, h.0, h.1, head
  CHECK(rows[1].flops + rows[2].flops == Approx(expected));
}

TEST_CASE("a grouped-query GPT shrinks along its neurons and layers, keeping its heads", "[unit][models][nas]") {
  torch::manual_seed(6);
  auto o = elastic_gpt("gpt2");
  o.n_kv_head = 2;
  models::Gpt big(o);
  randomise_biases(*big);
  big->eval();
  const auto ids = torch::randint(0, o.vocab_size, {2, 9}, torch::kLong);
  big->set_subnet({{4, 12}, {0, 0}, {4, 24}});
  const auto sliced = big->forward_ids(ids).logits;
  big->set_subnet({});
  std::vector<int64_t> twelve(12), all(24);
  std::iota(twelve.begin(), twelve.end(), 0);
  std::iota(all.begin(), all.end(), 0);
  const auto shrunk = compress::shrink(*big, {{"neurons", {twelve, all, all}}, {"layers", {{0, 2}}}});
  CHECK_FALSE(shrunk.list_options.count("layer_heads"));  // grouped-query heads are not per-layer
  CHECK(shrunk.list_options.at("layer_inner") == std::vector<int64_t>{12, 24});
  shrunk.model->eval();
  data::Batch b;
  b.input_ids = ids;
  CHECK(torch::allclose(shrunk.model->forward(b).logits, sliced, 1e-6, 1e-6));
}
