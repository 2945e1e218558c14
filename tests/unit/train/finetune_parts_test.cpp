// Parts of the fine-tuning loop against hand-computed values: whole-evaluation metrics
// (accuracy, macro-F1, MCC, precision/recall, Pearson/Spearman), the skipped optimizer step,
// the weight EMA, annealed gradient noise, and freezing by role, layer and pattern.
#include <cmath>

#include "catch.h"
#include "helpers.h"
#include "ptm/models/mlp.h"
#include "ptm/optim/optimizer.h"
#include "ptm/train/eval_metrics.h"
#include "ptm/train/freeze.h"
#include "ptm/train/train_extras.h"

using namespace ptm;

TEST_CASE("multiclass metrics equal the hand-computed confusion-matrix values", "[unit][train]") {
  // gold 0 0 1 1 1 2 / predicted 0 1 1 1 0 2: per-class F1 1/2, 2/3, 1; MCC (4*6-14)/22.
  const auto m = train::classification_metrics({0, 1, 1, 1, 0, 2}, {0, 0, 1, 1, 1, 2});
  CHECK(m["accuracy"].get<double>() == Approx(4.0 / 6));
  CHECK(m["macro_f1"].get<double>() == Approx((0.5 + 2.0 / 3 + 1.0) / 3));
  CHECK(m["mcc"].get<double>() == Approx(10.0 / 22));
  CHECK_FALSE(m.contains("precision"));
}

TEST_CASE("binary metrics report precision and recall of class 1", "[unit][train]") {
  // gold 1 1 0 0 1 / predicted 1 0 0 1 1: tp 2, fp 1, fn 1, tn 1.
  const auto m = train::classification_metrics({1, 0, 0, 1, 1}, {1, 1, 0, 0, 1});
  CHECK(m["precision"].get<double>() == Approx(2.0 / 3));
  CHECK(m["recall"].get<double>() == Approx(2.0 / 3));
  CHECK(m["mcc"].get<double>() == Approx(1.0 / 6));  // (tp*tn - fp*fn) / sqrt(3*3*2*2)
  // A constant predictor: MCC and class-1 precision are 0 (zero division), accuracy is the majority rate.
  const auto c = train::classification_metrics({0, 0, 0, 0}, {0, 1, 0, 0}, 2);
  CHECK(c["mcc"].get<double>() == 0.0);
  CHECK(c["precision"].get<double>() == 0.0);
  CHECK(c["accuracy"].get<double>() == Approx(0.75));
}

TEST_CASE("Spearman ranks ties by their average rank", "[unit][train]") {
  // ranks x: 1 2.5 2.5 4, y: 1 3 2 4 -> Pearson of the ranks = 4.5 / sqrt(4.5 * 5).
  CHECK(train::spearman({1, 2, 2, 3}, {1, 3, 2, 4}) == Approx(4.5 / std::sqrt(22.5)));
  CHECK(train::pearson({1, 2, 3}, {2, 4, 6}) == Approx(1.0));
  const auto r = train::regression_metrics({1, 2, 3}, {1, 2, 5});
  CHECK(r["mse"].get<double>() == Approx(4.0 / 3));
  CHECK(train::pearson({1, 1, 1}, {1, 2, 3}) == 0.0);
}

TEST_CASE("a step with found_inf leaves AdamW and SGD parameters and state unchanged", "[unit][train]") {
  for (const std::string type : {"adamw", "sgd"}) {
    auto w = torch::ones({3, 2}).requires_grad_(true);
    optim::OptimizerConfig c;
    c.type = type;
    optim::Optimizer opt({{"w", w}}, c);
    w.mutable_grad() = torch::full({3, 2}, std::nan(""));
    opt.step(0.1, torch::ones({}));
    CHECK(torch::equal(w.detach(), torch::ones({3, 2})));
    w.mutable_grad() = torch::full({3, 2}, 0.5);
    opt.step(0.1, torch::zeros({}));
    const auto after_one = w.detach().clone();
    CHECK_FALSE(torch::equal(after_one, torch::ones({3, 2})));
    if (type == "adamw") {
      // The first real step of AdamW moves by lr (bias-corrected m/sqrt(v) = 1) plus decay.
      CHECK(after_one[0][0].item<double>() == Approx(1.0 - 0.1 * 0.1 - 0.1).epsilon(1e-5));
      const auto state = opt.state();
      for (const auto& [name, t] : state)
        if (name.find("step") != std::string::npos) CHECK(t.item<double>() == 1.0);
    }
  }
}

TEST_CASE("the weight EMA is the exponential average and swaps in and out", "[unit][train]") {
  models::MlpOptions o;
  o.vocab_size = 4;
  o.hidden = 3;
  o.layers = 1;
  o.num_classes = 2;
  models::MlpImpl model(o);
  const auto p = model.parameters()[0];
  torch::NoGradGuard no_grad;
  p.fill_(1.0);
  train::WeightEma ema(model, 0.9);
  p.fill_(2.0);
  ema.update();  // 0.9 * 1 + 0.1 * 2
  ema.swap();
  CHECK(p.flatten()[0].item<double>() == Approx(1.1));
  ema.swap();
  CHECK(p.flatten()[0].item<double>() == Approx(2.0));
}

TEST_CASE("gradient noise has variance eta over (1 + t) to the gamma", "[unit][train]") {
  auto w = torch::zeros({1000, 1000}).requires_grad_(true);
  w.mutable_grad() = torch::zeros({1000, 1000});
  train::add_gradient_noise({w}, 4.0, 0.55, 3, 7);
  const double expected = std::sqrt(4.0 / std::pow(4.0, 0.55));
  CHECK(w.grad().std().item<double>() == Approx(expected).epsilon(0.01));
  CHECK(std::abs(w.grad().mean().item<double>()) < 0.01);
}

TEST_CASE("gradient noise depends on the seed and the step only, not on the global generator", "[unit][train]") {
  // Every data-parallel rank draws the same noise (their global generators differ).
  const auto draw = [](uint64_t global, int64_t step, uint64_t seed) {
    torch::manual_seed(global);
    auto w = torch::zeros({64}).requires_grad_(true);
    w.mutable_grad() = torch::zeros({64});
    train::add_gradient_noise({w}, 1.0, 0.55, step, seed);
    return w.grad().clone();
  };
  CHECK(torch::equal(draw(1, 5, 7), draw(2, 5, 7)));
  CHECK(!torch::equal(draw(1, 5, 7), draw(1, 6, 7)));
  CHECK(!torch::equal(draw(1, 5, 7), draw(1, 5, 8)));
}

TEST_CASE("freezing finds heads layers and embeddings by name", "[unit][train]") {
  CHECK(train::is_head_parameter("classifier.weight"));
  CHECK(train::is_head_parameter("cls.predictions.bias"));
  CHECK(train::is_head_parameter("fc.weight"));
  CHECK_FALSE(train::is_head_parameter("encoder.layer.0.output.dense.weight"));
  CHECK(train::layer_of("encoder.layer.11.attention.self.query.weight") == 11);
  CHECK(train::layer_of("transformer.h.3.mlp.c_fc.weight") == 3);
  CHECK(train::layer_of("layer2.0.conv1.weight") == 1);
  CHECK(train::layer_of("pooler.dense.weight") == -1);
  CHECK(train::is_embedding_parameter("embeddings.word_embeddings.weight"));
  CHECK(train::is_embedding_parameter("transformer.wpe.weight"));
  CHECK_FALSE(train::is_embedding_parameter("encoder.layer.0.output.LayerNorm.weight"));
}

TEST_CASE("freezing a pattern that matches nothing or everything is refused", "[unit][train]") {
  models::MlpOptions o;
  o.vocab_size = 4;
  o.hidden = 3;
  o.layers = 1;
  o.num_classes = 2;
  models::MlpImpl model(o);
  train::FreezeConfig c;
  c.patterns = {"no_such_layer"};
  CHECK(ptm::test::contains(ptm::test::error_of([&] { train::apply_freeze(c, model); }),
                            "freeze.patterns: 'no_such_layer' matches no parameter"));
  c.patterns = {"."};
  CHECK(ptm::test::contains(ptm::test::error_of([&] { train::apply_freeze(c, model); }), "nothing would train"));
  c.patterns = {};
  c.backbone = true;
  const auto frozen = train::apply_freeze(c, model);
  for (const auto& p : model.named_parameters()) CHECK(p.value().requires_grad() == train::is_head_parameter(p.key()));
  CHECK(!frozen.empty());
}
