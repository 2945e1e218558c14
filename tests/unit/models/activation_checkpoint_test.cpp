// Activation checkpointing (train.activation_checkpointing): with dropout on, the checkpointed
// GPT (learned and rotary positions) and BERT give the loss and every parameter gradient of
// the plain run (the recomputation replays the dropout masks); without grad mode nothing
// changes; a function of a checkpointed block is differentiable in the block's input. Also
// the SDPA wrapper every attention goes through (it logs the kernel SDPA picks).
#include "catch.h"
#include "helpers.h"
#include "ptm/models/activation_checkpoint.h"
#include "ptm/models/bert.h"
#include "ptm/models/gpt.h"
#include "ptm/models/sdpa.h"
#include "unit/models/bert_test_util.h"

using namespace ptm;
using namespace ptm::models;

namespace {

// Loss and gradients of a model, the same seed before the forward pass (dropout masks).
std::pair<double, std::map<std::string, torch::Tensor>> loss_and_grads(ModelImpl& m, const data::Batch& b) {
  m.train();
  m.zero_grad();
  torch::manual_seed(123);
  const auto out = m.forward(b);
  const auto loss = (out.logits * out.logits).mean() + out.last_hidden.pow(3).mean();
  loss.backward();
  std::map<std::string, torch::Tensor> grads;
  for (const auto& p : m.named_parameters())
    if (p.value().grad().defined()) grads[p.key()] = p.value().grad().clone();
  return {loss.item<double>(), grads};
}

void check_same(ModelImpl& plain, ModelImpl& checkpointed_model, const data::Batch& b) {
  REQUIRE(checkpointed_model.set_activation_checkpointing(true));
  const auto [l0, g0] = loss_and_grads(plain, b);
  const auto [l1, g1] = loss_and_grads(checkpointed_model, b);
  // The no-grad forward may take other kernels (ATen's GELU, not ptm's saved-derivative one):
  // agreement to rounding, where unreplayed dropout masks would differ at O(1).
  CHECK(l1 == Approx(l0).epsilon(1e-5));
  REQUIRE(g0.size() == g1.size());
  REQUIRE(g0.size() == plain.named_parameters().size());  // every parameter got a gradient
  for (const auto& [name, g] : g0) {
    CAPTURE(name);
    REQUIRE(g1.count(name));
    CHECK(torch::allclose(g1.at(name), g, 1e-4, 1e-6));
  }
}

}  // namespace

TEST_CASE("activation checkpointing gives the gradients of the plain run", "[unit][models]") {
  data::Batch b;
  torch::manual_seed(1);
  b.input_ids = torch::randint(100, {2, 12}, torch::kLong);
  for (const bool rotary : {false, true}) {
    CAPTURE(rotary);
    GptOptions o;
    o.vocab_size = 100;
    o.n_positions = 16;
    o.n_embd = 32;
    o.n_layer = 3;
    o.n_head = 4;
    o.embd_pdrop = o.attn_pdrop = o.resid_pdrop = 0.2;  // the masks must be replayed
    if (rotary) o.position = "rotary";
    torch::manual_seed(7);
    Gpt plain(o);
    torch::manual_seed(7);
    Gpt ckpt(o);
    check_same(*plain, *ckpt, b);
    SECTION("no grad mode: the plain forward") {
      torch::NoGradGuard no_grad;
      torch::manual_seed(5);
      const auto a = plain->forward(b).logits;
      torch::manual_seed(5);
      const auto c = ckpt->forward(b).logits;
      CHECK(torch::equal(a, c));
    }
  }
  {
    auto o = test::bert::tiny_options("mlm");  // dropout 0.1 in attention and hidden states
    torch::manual_seed(8);
    Bert plain(o);
    torch::manual_seed(8);
    Bert ckpt(o);
    data::Batch bb;
    bb.input_ids = torch::randint(300, {2, 10}, torch::kLong);
    bb.attention_mask = torch::ones({2, 10}, torch::kLong);
    bb.attention_mask[1].narrow(0, 7, 3).fill_(0);
    check_same(*plain, *ckpt, bb);
  }
}

TEST_CASE("checkpointed() is differentiable in the block's input and parameters", "[unit][models]") {
  torch::manual_seed(2);
  auto lin = torch::nn::Linear(6, 6);
  const auto x0 = torch::randn({4, 6});
  auto block = [&](const torch::Tensor& t) { return torch::tanh(lin(t)) * 2; };
  auto x = x0.clone().requires_grad_(true), xr = x0.clone().requires_grad_(true);
  checkpointed(block, x).sum().backward();
  const auto gw = lin->weight.grad().clone();
  lin->zero_grad();
  block(xr).sum().backward();
  CHECK(torch::allclose(x.grad(), xr.grad()));
  CHECK(torch::allclose(gw, lin->weight.grad()));
}

TEST_CASE("sdpa reports the kernel SDPA picks and computes attention", "[unit][models]") {
  torch::manual_seed(3);
  const auto q = torch::randn({2, 4, 8, 16}), k = torch::randn({2, 4, 8, 16}), v = torch::randn({2, 4, 8, 16});
  const auto kernel = sdpa_backend(q, k, v, std::nullopt, 0.0, true, false);
  CAPTURE(kernel);
  CHECK((kernel == "flash_attention" || kernel == "math"));  // what the CPU offers for fp32
  const auto y = sdpa(q, k, v, std::nullopt, 0.0, true);
  const auto scores = torch::matmul(q, k.transpose(-2, -1)) / 4.0;
  const auto causal = torch::ones({8, 8}, torch::kBool).tril();
  const auto ref = torch::matmul(torch::softmax(scores.masked_fill(causal.logical_not(), -INFINITY), -1), v);
  CHECK(torch::allclose(y, ref, 1e-5, 1e-6));
}
