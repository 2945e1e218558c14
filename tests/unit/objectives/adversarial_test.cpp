// PGD-K on images and on word embeddings: the perturbation stays inside its L-inf or L2 ball
// (and off padding), raises the loss, leaves the parameters' gradients and batch-norm
// statistics alone; the objective trains on text and reports robust accuracy.
#include "catch.h"
#include "helpers.h"
#include "ptm/models/bert.h"
#include "ptm/models/resnet.h"
#include "ptm/objectives/adversarial.h"

using namespace ptm;

namespace {

std::shared_ptr<models::ResNetImpl> small_resnet() {
  torch::manual_seed(5);
  models::ResNetOptions o;
  o.depth = 18;
  o.num_classes = 10;
  o.in_channels = 1;
  o.small_input = true;
  o.image_size = 12;
  o.base_planes = 4;
  return std::make_shared<models::ResNetImpl>(o);
}

data::Batch image_batch() {
  data::Batch b;
  b.images = torch::randn({6, 1, 12, 12});
  b.labels = torch::tensor({0, 1, 2, 3, 4, 5}, torch::kInt64);
  return b;
}

double loss_on(models::ModelImpl& m, const data::Batch& b, const torch::Tensor& delta) {
  torch::NoGradGuard no_grad;
  auto adv = b;
  adv.images = b.images + delta;
  return torch::nn::functional::cross_entropy(m.forward(adv).logits, b.labels).item<double>();
}

std::shared_ptr<models::BertImpl> small_bert_classifier() {
  torch::manual_seed(6);
  models::BertOptions o;
  o.vocab_size = 30;
  o.hidden_size = 16;
  o.num_hidden_layers = 1;
  o.num_attention_heads = 2;
  o.intermediate_size = 32;
  o.max_position_embeddings = 16;
  o.head.type = "classification";
  o.head.num_labels = 3;
  return std::make_shared<models::BertImpl>(o);
}

data::Batch text_batch() {
  data::Batch b;
  b.input_ids = torch::randint(5, 30, {4, 10}, torch::kLong);
  b.attention_mask = torch::ones({4, 10}, torch::kLong);
  b.attention_mask[1].narrow(0, 6, 4).fill_(0);  // padding at the end of two rows
  b.attention_mask[3].narrow(0, 3, 7).fill_(0);
  b.labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  return b;
}

double text_loss_on(models::ModelImpl& m, const data::Batch& b, const torch::Tensor& delta) {
  torch::NoGradGuard no_grad;
  models::ForwardOptions f;
  f.embedding_delta = delta;
  return torch::nn::functional::cross_entropy(m.forward(b, f).logits, b.labels).item<double>();
}

objectives::PgdOptions ball_options(const std::string& norm) {
  objectives::PgdOptions o;
  o.norm = norm;
  o.epsilon = norm == "linf" ? 0.05 : 0.5;
  o.step_size = o.epsilon / 4;
  return o;
}

// L-inf: every coordinate within epsilon; L2: every example's norm within epsilon.
void check_in_ball(const torch::Tensor& delta, const objectives::PgdOptions& o) {
  if (o.norm == "linf") {
    CHECK(delta.abs().max().item<double>() <= o.epsilon + 1e-6);
  } else {
    CHECK(delta.flatten(1).norm(2, 1).max().item<double>() <= o.epsilon + 1e-5);
  }
}

}  // namespace

TEST_CASE("PGD on word embeddings stays in the ball and off padding and raises the loss", "[unit][objectives]") {
  auto model = small_bert_classifier();
  model->train();
  const auto batch = text_batch();
  for (const std::string norm : {"linf", "l2"}) {
    INFO(norm);
    const auto o = ball_options(norm);
    const auto delta = objectives::pgd_perturbation(*model, batch, o, 5);
    CHECK(delta.sizes() == torch::IntArrayRef({4, 10, 16}));
    check_in_ball(delta, o);
    const auto padding = batch.attention_mask.eq(0).unsqueeze(2).expand_as(delta);
    CHECK(delta.masked_select(padding).abs().max().item<double>() == 0.0);
    CHECK(delta.abs().sum().item<double>() > 0);
    model->eval();
    CHECK(text_loss_on(*model, batch, delta) > text_loss_on(*model, batch, torch::zeros_like(delta)));
    model->train();
  }
  CHECK(model->is_training());
  for (const auto& p : model->parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("the adversarial objective trains a text classifier on perturbed embeddings", "[unit][objectives]") {
  auto model = small_bert_classifier();
  auto objective = objectives::make("adversarial");
  objective->attach(*model, torch::kCPU);
  const auto batch = text_batch();
  const auto parts = objective->loss(*model, batch, true);
  REQUIRE(parts.sums.count("adversarial_accuracy"));
  parts.loss_sum.backward();
  CHECK(model->named_parameters()["embeddings.word_embeddings.weight"].grad().abs().sum().item<double>() > 0);
  model->zero_grad();
  torch::NoGradGuard no_grad;
  const auto eval = objective->loss(*model, batch, false);
  CHECK(eval.sums.at("robust_accuracy").item<double>() <= eval.sums.at("accuracy").item<double>());
  auto resnet = small_resnet();  // a token batch on an image model: nothing to perturb
  CHECK(test::contains(test::error_of([&] { objectives::pgd_perturbation(*resnet, batch, {}, 1); }),
                       "word embeddings of a bert or gpt model"));
}

TEST_CASE("PGD stays inside the L-inf and L2 balls and raises the loss", "[unit][objectives]") {
  auto model = small_resnet();
  model->eval();
  const auto batch = image_batch();
  for (const std::string norm : {"linf", "l2"}) {
    INFO(norm);
    const auto o = ball_options(norm);
    const auto delta = objectives::pgd_perturbation(*model, batch, o, 5);
    CHECK(delta.sizes() == batch.images.sizes());
    check_in_ball(delta, o);
    CHECK(loss_on(*model, batch, delta) > loss_on(*model, batch, torch::zeros_like(delta)));
  }
}

TEST_CASE("PGD leaves parameter gradients and batch-norm statistics untouched", "[unit][objectives]") {
  auto model = small_resnet();
  model->train();
  std::vector<torch::Tensor> buffers_before;
  for (const auto& b : model->buffers()) buffers_before.push_back(b.clone());
  objectives::PgdOptions o;
  objectives::pgd_perturbation(*model, image_batch(), o, 3);
  CHECK(model->is_training());
  for (const auto& p : model->parameters()) CHECK_FALSE(p.grad().defined());
  const auto after = model->buffers();
  for (size_t i = 0; i < after.size(); ++i) CHECK(torch::equal(after[i], buffers_before[i]));
}

TEST_CASE("the adversarial objective reports robust accuracy no higher than clean accuracy", "[unit][objectives]") {
  auto model = small_resnet();
  auto objective = objectives::make("adversarial");
  objective->attach(*model, torch::kCPU);
  const auto batch = image_batch();
  torch::NoGradGuard no_grad;  // as in evaluation: the attack re-enables gradients itself
  const auto parts = objective->loss(*model, batch, false);
  REQUIRE(parts.sums.count("robust_accuracy"));
  CHECK(parts.sums.at("robust_accuracy").item<double>() <= parts.sums.at("accuracy").item<double>());
  CHECK(parts.predictions.size(0) == 6);
}
