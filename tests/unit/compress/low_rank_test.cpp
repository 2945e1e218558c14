// Low-rank factorisation (prune.granularity: low_rank): the factors are the truncated SVD, the
// energy rule picks the smallest rank keeping the share asked, and a factorised GPT or BERT
// computes what the unfactorised one computes with its targets' weights replaced by their
// rank-r approximations; at full rank nothing changes.
#include "ptm/compress/low_rank.h"

#include <cmath>

#include "catch.h"
#include "helpers.h"
#include "ptm/models/bert.h"
#include "ptm/models/gpt.h"
#include "ptm/models/low_rank.h"
#include "ptm/peft/peft.h"
#include "unit/models/bert_test_util.h"

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

compress::PruneConfig by_rank(int64_t r) {
  compress::PruneConfig c;
  c.granularity = "low_rank";
  c.criterion = "svd";
  c.rank = r;
  return c;
}

// An orthogonal [n, n] matrix (QR of a seeded Gaussian).
torch::Tensor orthogonal(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  return std::get<0>(torch::linalg_qr(torch::randn({n, n}, torch::kDouble)));
}

// The logits of `m` on a fixed batch.
torch::Tensor logits_of(models::ModelImpl& m, const data::Batch& b) {
  torch::NoGradGuard no_grad;
  m.eval();
  return m.forward(b).logits;
}

}  // namespace

TEST_CASE("low rank: the factors are the truncated SVD and the energy rule keeps the share asked", "[unit][compress]") {
  // W = P diag(3, 2, 1) Q^T (3 x 4): singular values 3, 2, 1, squares 9, 4, 1 of 14.
  const auto P = orthogonal(3, 1), Q = orthogonal(4, 2).narrow(1, 0, 3);
  const auto W = torch::matmul(P * torch::tensor({3.0, 2.0, 1.0}, torch::kDouble), Q.t());
  // By hand: rank 2 keeps the first two singular directions, P[:, :2] diag(3, 2) Q[:, :2]^T.
  const auto W2 = torch::matmul(P.narrow(1, 0, 2) * torch::tensor({3.0, 2.0}, torch::kDouble), Q.narrow(1, 0, 2).t());
  const auto [A, B] = models::truncated_svd(W.to(torch::kFloat), 2);
  CHECK(A.sizes() == torch::IntArrayRef({3, 2}));
  CHECK(B.sizes() == torch::IntArrayRef({2, 4}));
  CHECK((torch::matmul(A, B).to(torch::kDouble) - W2).abs().max().item<double>() < 1e-5);
  // And torch's own SVD, truncated the same way.
  const auto [U, S, Vh] = torch::linalg_svd(W, false);
  const auto torch2 = torch::matmul(U.narrow(1, 0, 2) * S.narrow(0, 0, 2), Vh.narrow(0, 0, 2));
  CHECK((torch::matmul(A, B).to(torch::kDouble) - torch2).abs().max().item<double>() < 1e-5);

  const auto s = torch::tensor({3.0, 2.0, 1.0});
  CHECK(compress::energy_rank(s, 0.5) == 1);    // 9/14 = 0.643
  CHECK(compress::energy_rank(s, 0.642) == 1);
  CHECK(compress::energy_rank(s, 0.65) == 2);   // 13/14 = 0.929
  CHECK(compress::energy_rank(s, 0.9) == 2);
  CHECK(compress::energy_rank(s, 0.93) == 3);
  CHECK(compress::energy_rank(s, 1.0) == 3);
  auto c = by_rank(0);
  c.energy = 0.9;
  CHECK(compress::chosen_rank(c, W.to(torch::kFloat)) == 2);
}

TEST_CASE("a factorised GPT and BERT compute the model with rank-r weights, smaller by r (in + out) each",
          "[unit][compress]") {
  for (const std::string variant : {"gpt2", "llama", "bert"}) {
    INFO(variant);
    torch::manual_seed(5);
    std::shared_ptr<models::ModelImpl> model, reference;
    data::Batch b;
    if (variant == "bert") {
      model = models::Bert(test::bert::tiny_options("classification")).ptr();
      reference = models::Bert(test::bert::tiny_options("classification")).ptr();
      b = test::bert::random_batch({7, 5}, 7, 300, 1, 3);
    } else {
      model = models::Gpt(small_gpt(variant)).ptr();
      reference = models::Gpt(small_gpt(variant)).ptr();
      b.input_ids = torch::randint(50, {2, 16}, torch::kLong);
    }
    test::bert::perturb(*model, 0.05, 7);  // non-zero biases
    {
      torch::NoGradGuard no_grad;
      auto own = reference->named_parameters();
      for (const auto& p : model->named_parameters()) own[p.key()].copy_(p.value());
    }
    const auto original = logits_of(*model, b);
    const int64_t r = 4;
    auto targets = compress::low_rank_targets(by_rank(r), *model);
    REQUIRE(targets.size() == 4);  // two FFN Linears in each of two layers
    // The reference: the same model with each target's weight replaced by its rank-r SVD truncation.
    int64_t saved = 0;
    {
      torch::NoGradGuard no_grad;
      auto own = reference->named_parameters();
      for (const auto& [name, lin] : targets) {
        const auto w = lin->weight.to(torch::kDouble);
        const auto [U, S, Vh] = torch::linalg_svd(w, false);
        own[name + ".weight"].copy_(torch::matmul(U.narrow(1, 0, r) * S.narrow(0, 0, r), Vh.narrow(0, 0, r)));
        saved += w.size(0) * w.size(1) - r * (w.size(0) + w.size(1));
      }
    }
    const int64_t before = models::count_parameters(*model);
    const double flops_before = model->forward_flops(16);
    auto method = compress::low_rank_methods().find("svd")->factory();
    const auto rows = compress::factorise_targets(by_rank(r), *method, targets);
    for (const auto& row : rows) CHECK(row.form == "factorised");
    CHECK(before - models::count_parameters(*model) == saved);
    // Each saved weight is one multiply-accumulate per token less (GPT counts FLOPs from its
    // parameters, BERT from its sizes and factorised layers).
    CHECK(flops_before - model->forward_flops(16) == Approx(2.0 * 16 * static_cast<double>(saved)));
    CHECK(compress::low_rank_report(rows)["targets"]["parameters_before"].get<int64_t>() -
              compress::low_rank_report(rows)["targets"]["parameters"].get<int64_t>() ==
          saved);
    CHECK((logits_of(*model, b) - logits_of(*reference, b)).abs().max().item<double>() <= 1e-5);
    CHECK((logits_of(*model, b) - original).abs().max().item<double>() > 1e-4);  // rank 4 changes something
    // The factors are Linears of their own (v: [r, in], u: [out, r] with the bias)...
    const auto factors = compress::after_factorisation(targets);
    REQUIRE(factors.size() == 8);
    CHECK(factors[0].first == targets[0].first + ".v");
    CHECK(factors[0].second->weight.size(0) == r);
    // ... which a model rebuilt from model.low_rank has in the same shapes, and a clone copies.
    const auto ranks = models::low_rank_layers(*model);
    CHECK(ranks.size() == 4);
    auto rebuilt = variant == "bert" ? models::Bert(test::bert::tiny_options("classification")).ptr()
                                     : std::shared_ptr<models::ModelImpl>(models::Gpt(small_gpt(variant)).ptr());
    models::apply_low_rank(*rebuilt, ranks);
    const auto mine = model->named_parameters();
    const auto theirs = rebuilt->named_parameters();
    CHECK(mine.size() == theirs.size());
    {
      torch::NoGradGuard no_grad;
      for (const auto& p : mine) {
        REQUIRE(theirs.contains(p.key()));
        CHECK(theirs[p.key()].sizes() == p.value().sizes());
        theirs[p.key()].copy_(p.value());
      }
    }
    CHECK(torch::equal(logits_of(*rebuilt, b), logits_of(*model, b)));
    auto* lin = targets[0].second;
    const auto copy = std::dynamic_pointer_cast<models::LinearImpl>(lin->clone());
    REQUIRE(copy);
    CHECK(models::factorised_rank(*copy) == r);
    const auto x = torch::randn({3, lin->options.in_features()});
    torch::NoGradGuard no_grad;
    CHECK(torch::equal(copy->forward(x), lin->forward(x)));
  }
}

TEST_CASE("low rank at full rank: untouched by ptm prune, and two full-rank factors give the original logits",
          "[unit][compress]") {
  torch::manual_seed(9);
  auto model = models::Gpt(small_gpt("gpt2"));
  test::bert::perturb(*model, 0.05, 7);
  data::Batch b;
  b.input_ids = torch::randint(50, {2, 16}, torch::kLong);
  const auto original = logits_of(*model, b);
  auto targets = compress::low_rank_targets(by_rank(24), *model);  // min(in, out) of [24, 32] and [32, 24]
  auto method = compress::low_rank_methods().find("svd")->factory();
  const auto rows = compress::factorise_targets(by_rank(24), *method, targets);
  for (const auto& row : rows) CHECK(row.form == "unchanged");
  CHECK(torch::equal(logits_of(*model, b), original));
  // Stored as two factors anyway (larger: 24 x 56 > 24 x 32), the product is W up to rounding.
  for (const auto& [name, lin] : targets) {
    const auto [u, v] = models::truncated_svd(lin->weight, 24);
    models::factorise(*lin, u, v);
  }
  CHECK((logits_of(*model, b) - original).abs().max().item<double>() <= 1e-5);
  // A rank whose two factors would not be smaller keeps one Linear holding W_r.
  auto dense = models::Gpt(small_gpt("gpt2"));
  auto t2 = compress::low_rank_targets(by_rank(20), *dense);  // 20 x 56 = 1120 > 768
  for (const auto& row : compress::factorise_targets(by_rank(20), *method, t2)) CHECK(row.form == "dense");
  CHECK(models::low_rank_layers(*dense).empty());
}

TEST_CASE("low rank: a rank above min(in, out) is refused naming prune.rank", "[unit][compress]") {
  auto model = models::Gpt(small_gpt("gpt2"));
  try {
    compress::low_rank_targets(by_rank(25), *model);
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(test::contains(e.what(), "prune.rank"));
    CHECK(test::contains(e.what(), "min(in, out) = 24"));
  }
  std::map<std::string, int64_t> bad{{"transformer.h.0.mlp.c_fc", 0}, {"transformer.h.0.nope", 3}};
  try {
    models::apply_low_rank(*model, bad);
    FAIL("no error");
  } catch (const ConfigError& e) {
    CHECK(test::contains(e.what(), "model.low_rank.transformer.h.0.mlp.c_fc"));
    CHECK(test::contains(e.what(), "model.low_rank.transformer.h.0.nope"));
  }
}

TEST_CASE("LoRA applies to a factorised Linear and refuses to merge into it", "[unit][compress][peft]") {
  torch::manual_seed(11);
  auto model = models::Gpt(small_gpt("gpt2"));
  auto method = compress::low_rank_methods().find("svd")->factory();
  compress::factorise_targets(by_rank(4), *method, compress::low_rank_targets(by_rank(4), *model));
  data::Batch b;
  b.input_ids = torch::randint(50, {2, 16}, torch::kLong);
  const auto before = logits_of(*model, b);
  peft::PeftConfig c;
  c.target_modules = {"mlp.c_fc"};
  const auto report = peft::apply(c, *model);
  CHECK(report.targets.size() == 2);
  // B starts at zero: the same logits; then a non-zero B changes them through the hook.
  CHECK(torch::equal(logits_of(*model, b), before));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters())
      if (p.key().find("lora_B") != std::string::npos) p.value().fill_(0.1);
  }
  CHECK((logits_of(*model, b) - before).abs().max().item<double>() > 1e-4);
  try {
    peft::merge_lora(*model);
    FAIL("merged");
  } catch (const RuntimeError& e) {
    CHECK(test::contains(e.what(), "factorised"));
  }
}
