// Trainer mechanics on a small MLP: gradient accumulation normalises by all targets,
// AdamW matches PyTorch's closed form on one step, no-decay groups are what they claim.
#include "catch.h"
#include "helpers.h"
#include "ptm/models/mlp.h"
#include "ptm/objectives/objective.h"
#include "ptm/optim/optimizer.h"
#include "ptm/train/trainer.h"

using namespace ptm;

namespace {

// Yields slices of one fixed LM batch in order, so 1 x B and k x (B/k) see the same data.
class FixedSlices : public data::BatchStream {
 public:
  FixedSlices(torch::Tensor tokens, int64_t batch) : tokens_(tokens), batch_(batch) {}
  std::optional<data::Batch> next() override {
    const int64_t start = (cursor_++ * batch_) % tokens_.size(0);
    data::Batch b;
    b.input_ids = tokens_.narrow(0, start, batch_).narrow(1, 0, tokens_.size(1) - 1).contiguous();
    b.targets = tokens_.narrow(0, start, batch_).narrow(1, 1, tokens_.size(1) - 1).contiguous();
    // Padding-like ignored targets make the per-micro-batch counts differ.
    b.targets.index_put_({b.targets.remainder(5) == 0}, -100);
    return b;
  }
  nlohmann::json state() const override { return {{"batches", cursor_}}; }
  void load_state(const nlohmann::json& s) override { cursor_ = s["batches"]; }
  int64_t examples() const override { return tokens_.size(0); }
  std::string describe() const override { return "fixed slices"; }

 private:
  torch::Tensor tokens_;
  int64_t batch_, cursor_ = 0;
};

std::shared_ptr<models::ModelImpl> tiny_model() {
  torch::manual_seed(3);
  models::MlpOptions o;
  o.vocab_size = 50;
  o.hidden = 16;
  o.layers = 1;
  o.num_classes = 50;
  o.lm = true;
  return std::make_shared<models::MlpImpl>(o);
}

torch::Tensor after_one_step(int64_t batch, int64_t accum, const torch::Tensor& tokens) {
  ptm::test::TempDir d;
  train::TrainerSetup s;
  s.run.name = "t";
  s.train.max_steps = 1;
  s.train.batch_size = batch;
  s.train.grad_accum_steps = accum;
  s.train.eval_batches = 1;
  s.train.clip_grad_norm = 0;
  s.optimizer.type = "sgd";
  s.optimizer.momentum = 0;
  s.optimizer.weight_decay = 0;
  s.optimizer.lr = 0.5;
  s.model = tiny_model();
  s.objective = objectives::make("causal_lm");
  s.data = [tokens, batch](const data::StreamOptions&) { return std::make_unique<FixedSlices>(tokens, batch); };
  s.schedule = [](int64_t) { return optim::make_constant({}, 1); };
  const auto run = RunDir::open(d.file("run"), RunDir::Mode::Fresh);
  train::run_training(s, run);
  return torch::cat({s.model->parameters()[0].flatten(), s.model->parameters()[1].flatten()});
}

// One SGD step of lr 0.5 computed by hand on the 8 rows: on the mean loss over all their
// targets (parts = 1), or on the mean of `parts` slices' own per-target means.
torch::Tensor closed_form_step(const torch::Tensor& tokens, int64_t parts) {
  auto model = tiny_model();
  auto objective = objectives::make("causal_lm");
  objective->attach(*model, torch::kCPU);
  FixedSlices slices(tokens, tokens.size(0) / parts);
  torch::Tensor loss = torch::zeros({});
  for (int64_t i = 0; i < parts; ++i) {
    const auto l = objective->loss(*model, *slices.next(), true);
    loss = loss + l.loss_sum / l.targets.to(torch::kFloat32) / static_cast<double>(parts);
  }
  loss.backward();
  const auto p0 = model->parameters()[0], p1 = model->parameters()[1];
  return torch::cat({(p0 - 0.5 * p0.grad()).flatten(), (p1 - 0.5 * p1.grad()).flatten()}).detach();
}

}  // namespace

TEST_CASE("one batch of 8 and 4 accumulated batches of 2 give the same update", "[unit][train]") {
  torch::manual_seed(0);
  const auto tokens = torch::randint(50, {8, 13}, torch::kInt64);
  const auto whole = after_one_step(8, 1, tokens);
  const auto accumulated = after_one_step(2, 4, tokens);
  // Same data, loss normalised by all targets of the step: equal up to float summation order.
  CHECK(torch::allclose(whole, accumulated, 1e-6, 1e-6));
  // The closed form: one SGD step of lr 0.5 on the mean loss over the step's targets.
  const auto expected = closed_form_step(tokens, 1);
  CHECK(torch::allclose(whole, expected, 1e-5, 1e-6));
  CHECK(torch::allclose(accumulated, expected, 1e-5, 1e-6));
  // On the same data, the mean of the micro-batches' own means (unequal target counts) lands
  // elsewhere: the checks above tell the two normalisations apart.
  const auto per_micro_mean = closed_form_step(tokens, 4);
  CHECK((per_micro_mean - expected).abs().max().item<double>() > 1e-4);
  CHECK_FALSE(torch::allclose(accumulated, per_micro_mean, 1e-5, 1e-6));
}

TEST_CASE("fused AdamW follows the closed form and skips decay for 1-D and embeddings", "[unit][train]") {
  auto w = torch::tensor({{1.0, -2.0}}, torch::requires_grad());  // decayed (2-D)
  auto b = torch::tensor({0.5}, torch::requires_grad());          // not decayed (1-D)
  auto e = torch::tensor({{3.0}}, torch::requires_grad());         // not decayed (name)
  optim::OptimizerConfig c;
  c.lr = 0.1;
  c.weight_decay = 0.5;
  c.beta1 = 0.9;
  c.beta2 = 0.99;
  c.eps = 1e-8;
  optim::Optimizer opt({{"layer.weight", w}, {"layer.bias", b}, {"wte.weight", e}}, c);
  CHECK(opt.decay_names() == std::vector<std::string>{"layer.weight"});
  CHECK(opt.no_decay_names() == std::vector<std::string>{"layer.bias", "wte.weight"});
  w.mutable_grad() = torch::tensor({{0.2, -0.4}});
  b.mutable_grad() = torch::tensor({1.0});
  e.mutable_grad() = torch::tensor({{-1.0}});
  opt.step(c.lr);
  // Step 1 of AdamW: m_hat = g, v_hat = g^2, update = lr * g / (|g| + eps) = lr * sign(g);
  // decoupled decay multiplies the weight by (1 - lr * wd) first.
  const double decay = 1 - 0.1 * 0.5;
  CHECK(w[0][0].item<double>() == Approx(1.0 * decay - 0.1).epsilon(1e-6));
  CHECK(w[0][1].item<double>() == Approx(-2.0 * decay + 0.1).epsilon(1e-6));
  CHECK(b[0].item<double>() == Approx(0.5 - 0.1).epsilon(1e-6));
  CHECK(e[0][0].item<double>() == Approx(3.0 + 0.1).epsilon(1e-6));
}
