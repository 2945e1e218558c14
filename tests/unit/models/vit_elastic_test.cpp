// Elastic sub-networks and structured shrinking of the ViT (ptm nas, ptm prune): a slice of the
// super-network computes what a separately built smaller ViT with the same first heads and
// neurons computes, and what compress::shrink builds; gradients reach only the slices;
// per-layer sizes build, count parameters and FLOPs, and export to transformers where ViTConfig
// can express them (logits compared with transformers itself).
#include "bert_test_util.h"
#include "ptm/compress/axes.h"
#include "ptm/core/errors.h"
#include "ptm/models/elastic.h"
#include "ptm/models/safetensors.h"
#include "ptm/models/vit.h"

using namespace ptm;
using ptm::test::error_of;
namespace bt = ptm::test::bert;

namespace {

// 28x28 grey images in patches of 7 (17 tokens), H 32, 4 heads of 8, MLP 24, 3 layers.
models::ViTOptions tiny_options() {
  models::ViTOptions o;
  o.image_size = 28;
  o.patch_size = 7;
  o.num_channels = 1;
  o.hidden_size = 32;
  o.num_hidden_layers = 3;
  o.num_attention_heads = 4;
  o.intermediate_size = 24;
  o.num_labels = 5;
  return o;
}

models::ViT elastic_vit(uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  models::ViT m(tiny_options());
  bt::perturb(*m, 0.1, seed);
  m->eval();
  return m;
}

data::Batch images(int64_t batch, uint64_t seed) {
  data::Batch b;
  b.images = at::randn({batch, 1, 28, 28}, at::make_generator<at::CPUGeneratorImpl>(seed));
  return b;
}

// The small ViT of `subnet` from its own options, weights copied by hand: q, k, v rows and
// attention.output columns of the first heads, intermediate rows and output columns of the
// first neurons, layers renumbered past the skipped ones.
models::ViT small_copy(models::ViTImpl& big, const models::Subnet& subnet) {
  const auto& big_o = big.options();
  auto o = big_o;
  o.head_size = big_o.head_dim();
  std::vector<int64_t> kept;
  for (size_t l = 0; l < subnet.size(); ++l)
    if (!subnet[l].skipped()) {
      kept.push_back(static_cast<int64_t>(l));
      o.layer_heads.push_back(subnet[l].heads);
      o.layer_inner.push_back(subnet[l].inner);
    }
  o.num_hidden_layers = static_cast<int64_t>(kept.size());
  models::ViT small(o);
  torch::NoGradGuard no_grad;
  auto src = big.named_parameters();
  const std::string prefix = "encoder.layer.";
  for (auto& item : small->named_parameters()) {
    const std::string& name = item.key();
    if (name.rfind(prefix, 0) != 0) {
      item.value().copy_(src[name]);
      continue;
    }
    const auto dot = name.find('.', prefix.size());
    const int64_t l = kept[std::stoll(name.substr(prefix.size(), dot - prefix.size()))];
    const std::string rest = name.substr(dot + 1);
    const auto from = src[prefix + std::to_string(l) + "." + rest];
    const int64_t a = subnet[l].heads * big_o.head_dim(), n = subnet[l].inner;
    torch::Tensor t = from;
    if (rest.rfind("attention.attention.", 0) == 0) t = from.narrow(0, 0, a);
    else if (rest == "attention.output.dense.weight") t = from.narrow(1, 0, a);
    else if (rest.rfind("intermediate.dense.", 0) == 0) t = from.narrow(0, 0, n);
    else if (rest == "output.dense.weight") t = from.narrow(1, 0, n);
    item.value().copy_(t);
  }
  small->eval();
  return small;
}

std::vector<int64_t> first(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t u = 0; u < std::max<int64_t>(n, 1); ++u) v.push_back(u);
  return v;
}

}  // namespace

TEST_CASE("a ViT sub-network slice equals a smaller ViT built with the same weights", "[unit][models][nas][vit]") {
  auto big = elastic_vit(3);
  const auto batch = images(3, 5);
  for (const models::Subnet& subnet : {models::Subnet{{3, 10}, {0, 0}, {2, 24}}, models::Subnet{{1, 1}, {4, 24}, {4, 5}},
                                      models::Subnet{{0, 0}, {0, 0}, {4, 24}}}) {
    INFO(models::subnet_string(subnet));
    auto small = small_copy(*big, subnet);
    big->set_subnet(subnet);
    const auto sliced = big->forward(batch), built = small->forward(batch);
    CHECK(bt::max_diff(sliced.logits, built.logits) <= 1e-6);
    CHECK(bt::max_diff(sliced.last_hidden, built.last_hidden) <= 1e-6);
    CHECK(models::subnet_parameters(*big, subnet) == models::count_parameters(*small));
    compress::KeptUnits kept;
    kept["layers"].resize(1);
    for (size_t l = 0; l < subnet.size(); ++l) {
      kept["heads"].push_back(first(subnet[l].heads));
      kept["neurons"].push_back(first(subnet[l].inner));
      if (!subnet[l].skipped()) kept["layers"][0].push_back(static_cast<int64_t>(l));
    }
    big->set_subnet({});
    const auto shrunk = compress::shrink(*big, kept);
    shrunk.model->eval();
    CHECK(bt::max_diff(shrunk.model->forward(batch).logits, built.logits) <= 1e-6);
    CHECK(shrunk.int_options.at("num_hidden_layers") == static_cast<int64_t>(kept["layers"][0].size()));
    CHECK(shrunk.int_options.at("head_size") == 8);
  }
  big->set_subnet({{1, 1}, {0, 0}, {2, 3}});
  big->set_subnet({});  // the whole model again
  auto whole = small_copy(*big, models::full_subnet(*big));
  CHECK(torch::equal(big->forward(batch).logits, whole->forward(batch).logits));
  CHECK(models::subnet_string(models::full_subnet(*big)) == "4/24,4/24,4/24");
  CHECK_THROWS_WITH(big->set_subnet({{5, 24}, {4, 24}, {4, 24}}), Catch::Contains("layer 0: heads must lie in [1, 4], got 5"));
}

TEST_CASE("a ViT sub-network's gradients reach only its slices of the shared weights", "[unit][models][nas][vit]") {
  auto big = elastic_vit(4);
  big->train();
  big->set_subnet({{2, 7}, {0, 0}, {4, 24}});
  big->forward(images(2, 6)).logits.square().mean().backward();
  auto p = big->named_parameters();
  const std::string l0 = "encoder.layer.0.";
  for (const char* proj : {"query", "key", "value"}) {
    INFO(proj);
    const auto g = p[l0 + "attention.attention." + proj + ".weight"].grad();  // [4 heads x 8, 32]
    CHECK(g.narrow(0, 0, 16).abs().sum().item<double>() > 0);
    CHECK(g.narrow(0, 16, 16).abs().sum().item<double>() == 0);
  }
  CHECK(p[l0 + "attention.output.dense.weight"].grad().narrow(1, 16, 16).abs().sum().item<double>() == 0);
  CHECK(p[l0 + "intermediate.dense.bias"].grad().narrow(0, 7, 17).abs().sum().item<double>() == 0);
  CHECK(p[l0 + "output.dense.weight"].grad().narrow(1, 0, 7).abs().sum().item<double>() > 0);
  CHECK(p[l0 + "output.dense.weight"].grad().narrow(1, 7, 17).abs().sum().item<double>() == 0);
  for (const auto& item : p) {  // the skipped layer
    if (item.key().rfind("encoder.layer.1.", 0) != 0) continue;
    INFO(item.key());
    const auto g = item.value().grad();
    CHECK((!g.defined() || g.abs().sum().item<double>() == 0));
  }
}

TEST_CASE("ViT per-layer sizes count parameters and FLOPs and refuse bad values naming the key", "[unit][models][vit]") {
  auto o = tiny_options();
  o.head_size = 12;  // attention 3 x 12 = 36 wide in a 32-wide model
  o.layer_heads = {3, 1, 2};
  o.layer_inner = {40, 10, 24};
  for (const std::string head : {"classification", "none"}) {
    INFO(head);
    o.head = head;
    models::ViT m(o);
    CHECK(models::vit_parameter_count(o) == models::count_parameters(*m));
    CHECK(m->forward(images(2, 1)).last_hidden.sizes() == torch::IntArrayRef({2, 17, 32}));
  }
  models::ViT m(o);
  const double T = 17, H = 32;
  const auto rows = m->summary(0);
  REQUIRE(rows.size() == 6);  // embeddings, 3 layers, layernorm, pooler
  for (const auto& [row, A, I] : {std::tuple<size_t, double, double>{1, 36, 40}, {2, 12, 10}, {3, 24, 24}}) {
    INFO(row);
    CHECK(rows[row].flops == Approx(8 * T * H * A + 4 * T * T * A + 4 * T * H * I));
  }
  CHECK(models::vit_parameter_count(tiny_options()) == models::count_parameters(*models::ViT(tiny_options())));
  const auto refused = [](models::ViTOptions v) { return error_of([&] { models::ViT bad(v); }); };
  auto bad = tiny_options();
  bad.layer_heads = {4};
  CHECK_THAT(refused(bad), Catch::Contains("layer_heads: needs one entry per layer (num_hidden_layers 3), got 1"));
  bad = tiny_options();
  bad.layer_inner = {24, 0, 24};
  CHECK_THAT(refused(bad), Catch::Contains("layer_inner: entries must be >= 1, got 0"));
  bad = tiny_options();
  bad.num_attention_heads = 5;  // 32 / 5: refused unless the head size is given
  CHECK_THAT(refused(bad), Catch::Contains("num_attention_heads: must divide hidden_size"));
  bad.head_size = 8;
  CHECK(refused(bad) == "no error");
  // ViTConfig has one head count and width: the others are refused naming the key.
  auto differ = tiny_options();
  differ.layer_inner = {24, 20, 24};
  CHECK_THAT(error_of([&] { differ.to_hf_config(); }), Catch::Contains("model.layer_inner: the layers have different MLP widths"));
  differ = tiny_options();
  differ.head_size = 8;
  differ.layer_heads = {2, 2, 2};
  CHECK_THAT(error_of([&] { differ.to_hf_config(); }), Catch::Contains("model.layer_heads: 2 heads of 8 make attention 16 wide"));
}

TEST_CASE("a ViT with a narrower MLP in every layer exports and transformers gives the slice's logits", "[unit][models][nas][vit]") {
  ptm::test::TempDir tmp;
  auto big = elastic_vit(7);
  const models::Subnet subnet{{4, 10}, {4, 10}, {4, 10}};
  const auto batch = images(2, 9);
  models::save_safetensors(tmp.file("inputs.safetensors"), {{"images", batch.images}});
  big->set_subnet(subnet);
  torch::NoGradGuard no_grad;
  const auto sliced = big->forward(batch).logits;
  big->set_subnet({});
  compress::KeptUnits kept{{"neurons", {first(10), first(10), first(10)}}};
  const auto shrunk = compress::shrink(*big, kept);
  const std::string dir = tmp.file("export");
  models::save_hf_vit(dynamic_cast<models::ViTImpl&>(*shrunk.model), dir);
  bt::run_golden("vit_reference.py", "run " + bt::quoted(tmp.file("inputs.safetensors")) + " " + bt::quoted(dir),
                 "transformers");
  const auto hf = bt::load_map(dir + "/hf_outputs.safetensors");
  const double d = bt::max_diff(sliced, hf.at("logits"));
  INFO("transformers on the exported sub-network: logits max abs diff " << d);
  CHECK(d <= 1e-4);
}
