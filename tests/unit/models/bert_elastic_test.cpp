// Elastic sub-networks and structured shrinking of BERT (ptm nas, ptm prune): a slice of the
// super-network computes what a separately built smaller BERT with the same first heads and
// neurons computes, and what compress::shrink builds; gradients reach only the slices; per-layer
// sizes build, count and export (where Hugging Face can express them) correctly; impossible
// sub-networks and options are refused naming the layer or key.
#include "catch.h"
#include "helpers.h"
#include "ptm/compress/axes.h"
#include "ptm/compress/criteria.h"
#include "ptm/compress/reorder.h"
#include "ptm/compress/structured.h"
#include "ptm/core/errors.h"
#include "ptm/models/bert.h"
#include "ptm/models/elastic.h"
#include "ptm/models/mlp.h"
#include "ptm/peft/peft.h"
#include "bert_test_util.h"

using namespace ptm;
using ptm::test::error_of;
namespace bt = ptm::test::bert;

namespace {

// A tiny classifier BERT (H 32, 4 heads of 8, FFN 24, 3 layers), every parameter perturbed.
models::Bert elastic_bert(uint64_t seed) {
  auto o = bt::tiny_options("classification", 3);
  o.hidden_size = 32;
  o.num_hidden_layers = 3;
  o.intermediate_size = 24;
  torch::manual_seed(static_cast<int64_t>(seed));
  models::Bert m(o);
  bt::perturb(*m, 0.1, seed);
  m->eval();
  return m;
}

// The small BERT of `subnet` from its own options, weights copied by hand from the
// super-network: q, k, v rows and attention.output columns of the first heads, intermediate
// rows and output columns of the first neurons, layers renumbered past the skipped ones.
models::Bert small_copy(models::BertImpl& big, const models::Subnet& subnet) {
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
  models::Bert small(o);
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
    if (rest.rfind("attention.self.", 0) == 0) t = from.narrow(0, 0, a);
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

TEST_CASE("a BERT sub-network slice equals a smaller BERT built with the same weights", "[unit][models][nas][bert]") {
  auto big = elastic_bert(3);
  const auto batch = bt::random_batch({11, 7}, 11, 300, 1, 5);  // padded pairs
  for (const models::Subnet& subnet : {models::Subnet{{3, 10}, {0, 0}, {2, 24}}, models::Subnet{{1, 1}, {4, 24}, {4, 5}},
                                      models::Subnet{{0, 0}, {0, 0}, {4, 24}}}) {
    INFO(models::subnet_string(subnet));
    auto small = small_copy(*big, subnet);
    big->set_subnet(subnet);
    const auto sliced = big->forward(batch), built = small->forward(batch);
    CHECK(bt::max_diff(sliced.logits, built.logits) <= 1e-6);
    CHECK(bt::max_diff(sliced.last_hidden, built.last_hidden) <= 1e-6);
    CHECK(models::subnet_parameters(*big, subnet) == models::count_parameters(*small));
    // compress::shrink with the same first units and kept layers gives the same model.
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
    CHECK(shrunk.list_options.at("layer_heads").size() == kept["layers"][0].size());
  }
  // {} is the whole model again.
  big->set_subnet({{1, 1}, {0, 0}, {2, 3}});
  big->set_subnet({});
  auto whole = small_copy(*big, models::full_subnet(*big));
  CHECK(torch::equal(big->forward(batch).logits, whole->forward(batch).logits));
}

TEST_CASE("a BERT sub-network's gradients reach only its slices of the shared weights", "[unit][models][nas][bert]") {
  auto big = elastic_bert(4);
  big->train();
  big->set_subnet({{2, 7}, {0, 0}, {4, 24}});
  const auto batch = bt::random_batch({9, 9}, 9, 300, 1, 6);
  big->forward(batch).logits.square().mean().backward();
  auto p = big->named_parameters();
  const auto grad = [&](const std::string& name) { return p[name].grad(); };
  const std::string l0 = "encoder.layer.0.";
  for (const char* proj : {"query", "key", "value"}) {
    INFO(proj);
    const auto g = grad(l0 + "attention.self." + proj + ".weight");  // [4 heads x 8, 32]
    CHECK(g.narrow(0, 0, 16).abs().sum().item<double>() > 0);
    CHECK(g.narrow(0, 16, 16).abs().sum().item<double>() == 0);
    CHECK(grad(l0 + "attention.self." + proj + ".bias").narrow(0, 16, 16).abs().sum().item<double>() == 0);
  }
  CHECK(grad(l0 + "attention.output.dense.weight").narrow(1, 0, 16).abs().sum().item<double>() > 0);
  CHECK(grad(l0 + "attention.output.dense.weight").narrow(1, 16, 16).abs().sum().item<double>() == 0);
  CHECK(grad(l0 + "intermediate.dense.weight").narrow(0, 7, 17).abs().sum().item<double>() == 0);
  CHECK(grad(l0 + "intermediate.dense.bias").narrow(0, 7, 17).abs().sum().item<double>() == 0);
  CHECK(grad(l0 + "output.dense.weight").narrow(1, 0, 7).abs().sum().item<double>() > 0);
  CHECK(grad(l0 + "output.dense.weight").narrow(1, 7, 17).abs().sum().item<double>() == 0);
  for (const auto& item : p) {  // the skipped layer
    if (item.key().rfind("encoder.layer.1.", 0) != 0) continue;
    INFO(item.key());
    const auto g = item.value().grad();
    CHECK((!g.defined() || g.abs().sum().item<double>() == 0));
  }
}

TEST_CASE("BERT sub-networks the model cannot run are refused, naming the layer", "[unit][models][nas][bert]") {
  auto big = elastic_bert(5);
  CHECK_THROWS_WITH(big->set_subnet({{5, 24}, {4, 24}, {4, 24}}), Catch::Contains("layer 0: heads must lie in [1, 4], got 5"));
  CHECK_THROWS_WITH(big->set_subnet({{4, 24}, {4, 0}, {4, 24}}), Catch::Contains("layer 1: MLP width"));
  CHECK_THROWS_WITH(big->set_subnet({{4, 24}, {4, 24}}), Catch::Contains("2 layers given, the model has 3"));
  CHECK_THROWS_WITH(big->set_subnet({{0, 0}, {0, 0}, {0, 0}}), Catch::Contains("skips every layer"));
  CHECK_THROWS_WITH(models::set_subnet(*big, {{4, 25}, {4, 24}, {4, 24}}), Catch::Contains("got 25"));
  CHECK(models::subnet_string(models::full_subnet(*big)) == "4/24,4/24,4/24");
  // A pruned BERT's own per-layer sizes bound its sub-networks.
  const auto shrunk = compress::shrink(*big, {{"heads", {{0, 1}, {0, 1, 2, 3}, {0}}}});
  CHECK(models::subnet_string(models::full_subnet(*shrunk.model)) == "2/24,4/24,1/24");
  CHECK_THROWS_WITH(models::set_subnet(*shrunk.model, {{3, 24}, {4, 24}, {1, 24}}),
                    Catch::Contains("layer 0: heads must lie in [1, 2], got 3"));
  // Architectures without elastic layers say which do have them.
  const auto mlp = std::make_shared<models::MlpImpl>(models::MlpOptions{});
  CHECK_THROWS_WITH(models::set_subnet(*mlp, {}), Catch::Contains("supports gpt, bert and vit"));
}

TEST_CASE("BERT per-layer sizes build, count parameters and refuse bad values naming the key", "[unit][models][bert]") {
  auto o = bt::tiny_options("mlm");
  o.head_size = 24;  // attention 3 x 24 = 72 wide in a 64-wide model
  o.layer_heads = {3, 1};
  o.layer_inner = {96, 10};
  for (const std::string head : {"mlm", "classification", "token_classification", "none"}) {
    INFO(head);
    o.head.type = head;
    models::Bert m(o);
    CHECK(models::bert_parameter_count(o) == models::count_parameters(*m));
    const auto out = m->forward(bt::random_batch({6, 4}, 6, 300, 1, 7));
    CHECK(out.last_hidden.sizes() == torch::IntArrayRef({2, 6, 64}));
  }
  {  // FLOPs per layer follow that layer's attention width A and FFN width I (ptm nas macs)
    models::Bert m(o);  // head none
    const double T = 16, H = 64;
    const auto rows = m->summary(16);
    REQUIRE(rows.size() == 4);  // embeddings, 2 layers, pooler
    for (const auto& [row, A, I] : {std::tuple<size_t, double, double>{1, 72, 96}, {2, 24, 10}}) {
      INFO(row);
      CHECK(rows[row].flops == Approx(8 * T * H * A + 4 * T * T * A + 4 * T * H * I));
    }
  }
  CHECK(models::bert_parameter_count(bt::tiny_options("classification")) ==
        models::count_parameters(*models::Bert(bt::tiny_options("classification"))));
  const auto refused = [](models::BertOptions b) { return error_of([&] { models::Bert m(b); }); };
  auto bad = bt::tiny_options();
  bad.layer_heads = {4};
  CHECK_THAT(refused(bad), Catch::Contains("layer_heads: needs one entry per layer (num_hidden_layers 2), got 1"));
  bad = bt::tiny_options();
  bad.layer_inner = {96, 0};
  CHECK_THAT(refused(bad), Catch::Contains("layer_inner: entries must be >= 1, got 0"));
  bad = bt::tiny_options();
  bad.head_size = -1;
  CHECK_THAT(refused(bad), Catch::Contains("head_size: must be >= 0"));
  bad = bt::tiny_options();
  bad.num_attention_heads = 5;  // 64 / 5: refused unless the head size is given
  CHECK_THAT(refused(bad), Catch::Contains("num_attention_heads: must divide hidden_size"));
  bad.head_size = 16;
  CHECK(refused(bad) == "no error");
}

TEST_CASE("a pruned BERT exports to Hugging Face only where BertConfig can express it", "[unit][models][bert]") {
  auto o = bt::tiny_options("classification");
  o.head_size = 16;
  o.layer_heads = {4, 4};
  o.layer_inner = {40, 40};  // uniform: intermediate_size
  const auto config = o.to_hf_config();
  CHECK(config["intermediate_size"] == 40);
  CHECK(config["num_attention_heads"] == 4);
  const auto refusal = [](const models::BertOptions& b) {
    try {
      b.to_hf_config();
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no ConfigError");
  };
  auto differ = o;
  differ.layer_inner = {40, 41};
  CHECK_THAT(refusal(differ), Catch::Contains("model.layer_inner: the layers have different FFN widths"));
  differ = o;
  differ.layer_heads = {4, 3};
  CHECK_THAT(refusal(differ), Catch::Contains("model.layer_heads: the layers have different head counts"));
  auto fewer = o;
  fewer.layer_heads = {2, 2};  // 2 heads of 16 = 32 wide: BertConfig would make them 32 each
  CHECK_THAT(refusal(fewer), Catch::Contains("model.layer_heads: 2 heads of 16 make attention 32 wide"));
}

TEST_CASE("sorting BERT heads and neurons by importance keeps the function and puts the best first", "[unit][models][nas][bert]") {
  auto m = elastic_bert(6);
  const auto batch = bt::random_batch({10, 6}, 10, 300, 1, 8);
  const auto before = m->forward(batch).logits;
  auto criterion = compress::criteria().find("magnitude_l2")->factory(0);
  const auto orders = compress::sort_units(*m, *criterion, {});
  CHECK(bt::max_diff(m->forward(batch).logits, before) <= 1e-5);
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

TEST_CASE("prefix tuning refuses a BERT whose pruned attention is narrower than hidden_size", "[unit][models][bert]") {
  auto big = elastic_bert(7);
  const auto shrunk = compress::shrink(*big, {{"heads", {{0, 1}, {0, 1, 2, 3}, {0, 1, 2, 3}}}});
  peft::PeftConfig c;
  c.method = "prefix";
  c.prefix_length = 2;
  CHECK_THAT(error_of([&] { peft::apply(c, *shrunk.model); }),
             Catch::Contains("peft.method: prefix tuning needs attention as wide as hidden_size (32); layer 0"));
  // Pruned neurons alone keep the attention width: the prefixes fit.
  const auto narrow_ffn = compress::shrink(*big, {{"neurons", {{0, 1}, {0}, {0, 1, 2}}}});
  CHECK_NOTHROW(peft::apply(c, *narrow_ffn.model));
  narrow_ffn.model->eval();
  CHECK(narrow_ffn.model->forward(bt::random_batch({5, 3}, 5, 300, 1, 9)).logits.sizes() == torch::IntArrayRef({2, 3}));
}

TEST_CASE("a physically pruned BERT equals the masked full-size BERT", "[unit][compress][bert]") {
  auto full = elastic_bert(8);
  auto criterion = compress::criteria().find("magnitude")->factory(0);
  compress::PruneConfig c;
  c.granularity = "structured";
  c.scope = "layer";
  c.structured = {{"heads", 0.5, {}}, {"neurons", 0.25, {}}};
  const auto kept = compress::select_units(c, *full, *criterion, {});
  const auto shrunk = compress::shrink(*full, kept);
  auto& small = dynamic_cast<models::BertImpl&>(*shrunk.model);
  small.eval();
  CHECK(small.options().layer_heads == std::vector<int64_t>{2, 2, 2});
  CHECK(small.options().layer_inner == std::vector<int64_t>{18, 18, 18});
  CHECK(models::count_parameters(small) == models::bert_parameter_count(small.options()));
  bool not_first = false;  // magnitude picked other units than the first ones somewhere
  for (const auto& [axis, layers] : kept)
    for (const auto& units : layers)
      for (size_t i = 0; i < units.size(); ++i) not_first = not_first || units[i] != static_cast<int64_t>(i);
  CHECK(not_first);
  compress::zero_units(*full, kept);
  const auto batch = bt::random_batch({12, 8}, 12, 300, 1, 10);
  torch::NoGradGuard no_grad;
  CHECK(bt::max_diff(full->forward(batch).logits, small.forward(batch).logits) <= 1e-5);
  // A head's magnitude score sums its q, k, v rows and attention.output columns.
  auto fresh = elastic_bert(9);
  const auto axes = compress::prunable_axes(*fresh);
  REQUIRE(axes.size() == 2);
  REQUIRE(axes[0].name == "heads");
  const auto scores = compress::unit_scores(axes[0], *fresh, *criterion, {});
  auto p = fresh->named_parameters();
  const std::string l1 = "encoder.layer.1.";
  for (int64_t h = 0; h < 4; ++h) {
    double expected = p[l1 + "attention.output.dense.weight"].slice(1, h * 8, (h + 1) * 8).abs().sum().item<double>();
    for (const char* proj : {"query", "key", "value"})
      expected += p[l1 + "attention.self." + proj + ".weight"].slice(0, h * 8, (h + 1) * 8).abs().sum().item<double>();
    CHECK(scores[1][h].item<double>() == Approx(expected).epsilon(1e-5));
  }
}
