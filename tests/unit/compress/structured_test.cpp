// Structured pruning of GPT heads and FFN neurons: the physically smaller model computes what
// the masked full-size model computes, unit scores sum the coupled weights' scores, and the
// options of the smaller model rebuild it.
#include "ptm/compress/structured.h"
#include "catch.h"
#include "helpers.h"
#include "ptm/compress/axes.h"
#include "ptm/models/gpt.h"

using namespace ptm;

namespace {

models::GptOptions small_gpt(const std::string& variant) {
  models::GptOptions o;
  o.vocab_size = 50;
  o.n_positions = 16;
  o.n_embd = 32;
  o.n_layer = 2;
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

// Non-zero biases, so that a forgotten bias slice shows.
void randomise_biases(models::ModelImpl& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.named_parameters())
    if (p.key().find("bias") != std::string::npos) p.value().normal_(0.0, 0.1);
}

compress::PruneConfig structured(double heads, double neurons, const std::string& scope = "layer") {
  compress::PruneConfig c;
  c.granularity = "structured";
  c.scope = scope;
  c.structured = {{"heads", heads, {}}, {"neurons", neurons, {}}};
  return c;
}

}  // namespace

TEST_CASE("a physically pruned GPT equals the masked full-size GPT", "[unit][compress]") {
  for (const std::string variant : {"gpt2", "llama"}) {
    INFO(variant);
    torch::manual_seed(3);
    auto full = models::Gpt(small_gpt(variant));
    randomise_biases(*full);
    full->eval();
    auto criterion = compress::criteria().find("magnitude")->factory(0);
    const auto kept = compress::select_units(structured(0.5, 0.25), *full, *criterion, {});
    REQUIRE(kept.at("heads")[0].size() == 2);
    REQUIRE(kept.at("neurons")[1].size() == 18);
    const auto shrunk = compress::shrink(*full, kept);
    auto& small = dynamic_cast<models::GptImpl&>(*shrunk.model);
    small.eval();
    CHECK(small.options().layer_heads == std::vector<int64_t>{2, 2});
    CHECK(small.options().layer_inner == std::vector<int64_t>{18, 18});
    CHECK(models::count_parameters(small) == models::gpt_parameter_count(small.options()));
    CHECK(models::count_parameters(small) < models::count_parameters(*full));

    compress::zero_units(*full, kept);
    data::Batch b;
    b.input_ids = torch::randint(50, {2, 16}, torch::kLong);
    torch::NoGradGuard no_grad;
    const auto masked = full->forward(b).logits, pruned = small.forward(b).logits;
    CHECK((masked - pruned).abs().max().item<double>() <= 1e-5);
    // The smaller options rebuild the same shapes (what config.yaml records).
    auto rebuilt = models::Gpt(small.options());
    for (const auto& p : small.named_parameters())
      CHECK(rebuilt->named_parameters()[p.key()].sizes() == p.value().sizes());
  }
}

TEST_CASE("a head's magnitude score sums its q, k, v rows and output columns", "[unit][compress]") {
  torch::manual_seed(4);
  auto gpt = models::Gpt(small_gpt("gpt2"));
  const auto axes = compress::prunable_axes(*gpt);
  REQUIRE(axes.size() == 2);
  REQUIRE(axes[0].name == "heads");
  auto criterion = compress::criteria().find("magnitude")->factory(0);
  const auto scores = compress::unit_scores(axes[0], *gpt, *criterion, {});
  const auto& attn = gpt->transformer->blocks[1]->attn;
  const int64_t D = 8, C = 32;
  for (int64_t h = 0; h < 4; ++h) {
    double expected = attn->c_proj->weight.slice(1, h * D, (h + 1) * D).abs().sum().item<double>();
    for (int64_t part = 0; part < 3; ++part)
      expected += attn->c_attn->weight.slice(0, part * C + h * D, part * C + (h + 1) * D).abs().sum().item<double>();
    CHECK(scores[1][h].item<double>() == Approx(expected).epsilon(1e-5));
  }
}

TEST_CASE("magnitude_l2 ranks units by their L2 norm, magnitude by their L1 norm", "[unit][compress]") {
  // Layer 0: neuron 0 has 32 small weights, neuron 1 one large weight, the rest are zero.
  torch::manual_seed(6);
  auto gpt = models::Gpt(small_gpt("gpt2"));
  auto& mlp = gpt->transformer->blocks[0]->mlp;
  {
    torch::NoGradGuard no_grad;
    mlp->c_fc->weight.zero_();
    mlp->c_proj->weight.zero_();
    mlp->c_fc->weight[0].fill_(0.1);  // neuron 0: L1 3.2, L2^2 0.32
    mlp->c_fc->weight[1][0] = 1.0;    // neuron 1: L1 1.0, L2^2 1.0
  }
  const auto axes = compress::prunable_axes(*gpt);
  auto l1 = compress::criteria().find("magnitude")->factory(0);
  auto l2 = compress::criteria().find("magnitude_l2")->factory(0);
  const auto s1 = compress::unit_scores(axes[1], *gpt, *l1, {})[0];
  const auto s2 = compress::unit_scores(axes[1], *gpt, *l2, {})[0];
  CHECK(s1[0].item<double>() == Approx(3.2));
  CHECK(s1[1].item<double>() == Approx(1.0));
  CHECK(s2[0].item<double>() == Approx(0.32));
  CHECK(s2[1].item<double>() == Approx(1.0));
}

TEST_CASE("structured pruning refuses an unknown axis and emptying a layer", "[unit][compress]") {
  torch::manual_seed(5);
  auto gpt = models::Gpt(small_gpt("gpt2"));
  auto criterion = compress::criteria().find("magnitude")->factory(0);
  compress::PruneConfig c = structured(0.5, 0.5);
  c.structured.push_back({"channels", 0.5, {}});
  const auto unknown = test::error_of([&] { compress::select_units(c, *gpt, *criterion, {}); });
  CHECK(test::contains(unknown, "prune.structured.channels"));
  CHECK(test::contains(unknown, "axes: heads, neurons"));
  // Global scope at 7/8 of 8 heads: 7 go, so one layer loses all 4 (a layer keeps at most 1 more).
  CHECK(test::contains(
      test::error_of([&] { compress::select_units(structured(0.875, 0.0, "global"), *gpt, *criterion, {}); }),
      "would remove every head of layer"));
}
