// Calibration gathers what Wanda and Taylor read: per-input-feature sums of squares (checked
// against the layer input recomputed from the model's own modules) and loss gradients summed
// over batches (checked against torch's cross entropy and autograd run by the test).
#include <ATen/CPUGeneratorImpl.h>

#include "catch.h"
#include "ptm/compress/calibration.h"
#include "ptm/models/gpt.h"

using namespace ptm;

namespace {

data::Batch lm_batch(int64_t i) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(200 + i);
  const auto tokens = torch::randint(50, {2, 17}, gen, torch::kInt64);
  data::Batch b;
  b.input_ids = tokens.narrow(1, 0, 16).contiguous();
  b.targets = tokens.narrow(1, 1, 16).contiguous();
  return b;
}

class ThreeBatches : public data::BatchStream {
 public:
  std::optional<data::Batch> next() override {
    if (cursor_ == 3) return std::nullopt;
    return lm_batch(cursor_++);
  }
  nlohmann::json state() const override { return {{"batches", cursor_}}; }
  void load_state(const nlohmann::json& s) override { cursor_ = s["batches"]; }
  int64_t examples() const override { return 6; }
  std::string describe() const override { return "three batches"; }

 private:
  int64_t cursor_ = 0;
};

}  // namespace

TEST_CASE("calibration sums input squares and loss gradients over the batches read", "[unit][compress]") {
  models::GptOptions o;
  o.vocab_size = 50;
  o.n_positions = 16;
  o.n_embd = 32;
  o.n_layer = 2;
  o.n_head = 4;
  torch::manual_seed(11);
  auto gpt = models::Gpt(o);
  auto objective = objectives::make("causal_lm");
  objective->attach(*gpt, torch::kCPU);
  const auto targets = compress::select_targets(*gpt, {});
  REQUIRE(targets.size() == 8);  // c_attn, attn.c_proj, c_fc, mlp.c_proj in 2 layers
  ThreeBatches stream;
  const auto stats = compress::calibrate(*gpt, *objective, stream, targets, {true, true, 2}, torch::kCPU);
  for (const auto& [name, lin] : targets) CHECK(lin->hooks().empty());

  torch::Tensor squares = torch::zeros({32}), grad = torch::zeros({96, 32});
  auto& block0 = gpt->transformer->blocks[0];
  auto& c_attn1 = gpt->transformer->blocks[1]->attn->c_attn;
  for (int64_t i = 0; i < 2; ++i) {
    const auto b = lm_batch(i);
    {
      torch::NoGradGuard no_grad;
      const auto x = block0->ln_1(gpt->transformer->wte(b.input_ids) + gpt->transformer->wpe(torch::arange(16)));
      squares += x.pow(2).sum(std::vector<int64_t>{0, 1});
    }
    gpt->zero_grad();
    const auto logits = gpt->forward(b).logits;
    torch::nn::functional::cross_entropy(logits.view({-1, 50}), b.targets.view(-1)).backward();
    grad += c_attn1->weight.grad();
  }
  const auto& s0 = stats.at("transformer.h.0.attn.c_attn");
  CHECK(s0.batches == 2);
  CHECK(torch::allclose(s0.input_sq, squares, 1e-5, 1e-5));
  CHECK(torch::allclose(stats.at("transformer.h.1.attn.c_attn").grad, grad, 1e-4, 1e-6));
}
