// PGD-K on images and on word embeddings: the perturbation stays inside its L-inf or L2 ball
// (and off padding), raises the loss more than random points of the same ball, leaves the
// parameters' gradients and batch-norm statistics alone; the objective trains on the
// perturbed input, and on a trained classifier its robust accuracy falls far below the clean
// accuracy that noise of the same size leaves intact.
#include "catch.h"
#include "helpers.h"
#include "ptm/models/bert.h"
#include "ptm/models/resnet.h"
#include "ptm/objectives/adversarial.h"

using namespace ptm;
using objectives::LossParts;

namespace {

constexpr int kTrainSteps = 12;

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

// Grey 12x12 images of four classes: a fixed random +-1 template per class under Gaussian
// noise of the same size, so a classifier must look at many pixels (no single-pixel shortcut).
struct TemplateImages {
  torch::Tensor templates;  // [4, 1, 12, 12]
  at::Generator gen;
  TemplateImages() : gen(at::detail::createCPUGenerator(17)) {
    templates = torch::randint(0, 2, {4, 1, 12, 12}, gen, torch::kFloat32) * 2 - 1;
  }
  data::Batch next(int64_t n) {
    data::Batch b;
    b.labels = torch::randint(4, {n}, gen, torch::kInt64);
    b.images = kSignal * templates.index_select(0, b.labels) + kNoise * torch::randn({n, 1, 12, 12}, gen);
    return b;
  }
  static constexpr double kSignal = 0.3, kNoise = 0.3;
};

// The small ResNet trained on TemplateImages until it classifies them (a robustness check on
// an untrained model measures nothing: its clean accuracy is already at chance).
std::shared_ptr<models::ResNetImpl> trained_resnet(TemplateImages& data) {
  auto model = small_resnet();
  model->train();
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-2));
  for (int step = 0; step < kTrainSteps; ++step) {
    const auto b = data.next(32);
    opt.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(b).logits, b.labels).backward();
    opt.step();
  }
  model->eval();
  return model;
}

double accuracy_on(models::ModelImpl& m, const data::Batch& b, const torch::Tensor& delta) {
  torch::NoGradGuard no_grad;
  auto adv = b;
  adv.images = b.images + delta;
  return m.forward(adv).logits.argmax(-1).eq(b.labels).to(torch::kFloat64).mean().item<double>();
}

// The highest loss at `tries` random points on the surface of the ball (L-inf: corners; L2:
// random directions of norm epsilon per example), shaped like `like`, zero where `keep` is 0.
// PGD that follows the gradient must beat them; a random or reversed step would not.
template <class LossOf>
double best_random_loss(const torch::Tensor& like, const objectives::PgdOptions& o, const torch::Tensor& keep,
                        LossOf loss_of, int tries = 8) {
  auto gen = at::detail::createCPUGenerator(99);
  std::vector<int64_t> per_example(static_cast<size_t>(like.dim()), 1);
  per_example[0] = like.size(0);
  double best = -1e30;
  for (int i = 0; i < tries; ++i) {
    auto d = o.norm == "linf" ? (torch::randint(0, 2, like.sizes(), gen, torch::kFloat32) * 2 - 1) * o.epsilon
                              : torch::randn(like.sizes(), gen, torch::kFloat32);
    if (keep.defined()) d = d * keep;
    if (o.norm == "l2") d = d * (o.epsilon / d.flatten(1).norm(2, 1)).view(per_example);
    best = std::max(best, loss_of(d));
  }
  return best;
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
    const double attacked = text_loss_on(*model, batch, delta);
    CHECK(attacked > text_loss_on(*model, batch, torch::zeros_like(delta)));
    const auto keep = batch.attention_mask.to(torch::kFloat32).unsqueeze(2).expand_as(delta);
    CHECK(attacked > best_random_loss(delta, o, keep, [&](const torch::Tensor& d) { return text_loss_on(*model, batch, d); }));
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
  // Without dropout, the training loss is the loss at the attacked embeddings: above the clean one.
  model->eval();
  const double adversarial = objective->loss(*model, batch, true).loss_sum.item<double>();
  model->zero_grad();
  torch::NoGradGuard no_grad;
  const double clean = objective->loss(*model, batch, false).loss_sum.item<double>();
  CAPTURE(adversarial, clean);
  CHECK(adversarial > clean + 0.01);
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
    const double attacked = loss_on(*model, batch, delta);
    CHECK(attacked > loss_on(*model, batch, torch::zeros_like(delta)));
    CHECK(attacked > best_random_loss(delta, o, {}, [&](const torch::Tensor& d) { return loss_on(*model, batch, d); }));
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

TEST_CASE("on a trained classifier PGD breaks most predictions that noise of the same size leaves alone",
          "[unit][objectives]") {
  TemplateImages data;
  auto model = trained_resnet(data);
  auto objective = objectives::make("adversarial");  // L-inf, epsilon 0.1, 10 evaluation steps
  objective->attach(*model, torch::kCPU);
  const auto batch = data.next(64);
  const double n = 64;
  LossParts parts;
  {
    torch::NoGradGuard no_grad;  // as in evaluation: the attack re-enables gradients itself
    parts = objective->loss(*model, batch, false);
  }
  REQUIRE(parts.sums.count("robust_accuracy"));
  CHECK(parts.predictions.size(0) == 64);
  const double clean = parts.sums.at("accuracy").item<double>() / n;
  const double robust = parts.sums.at("robust_accuracy").item<double>() / n;
  // Noise at the corners of the same ball (the largest L-inf noise there is).
  auto gen = at::detail::createCPUGenerator(3);
  const auto corners = (torch::randint(0, 2, batch.images.sizes(), gen, torch::kFloat32) * 2 - 1) * 0.1;
  const double noisy = accuracy_on(*model, batch, corners);
  CAPTURE(clean, robust, noisy);
  CHECK(clean >= 0.9);            // the model learned the task
  CHECK(noisy >= clean - 0.1);    // a random perturbation of the attack's size barely matters
  CHECK(robust <= clean - 0.5);   // the gradient-guided one does
  // Training on the attack: the loss is the (higher) loss at the perturbed images.
  const auto train = objective->loss(*model, batch, true);
  const double clean_loss =
      torch::nn::functional::cross_entropy(model->forward(batch).logits, batch.labels,
                                           torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
          .item<double>();
  CHECK(train.loss_sum.item<double>() > 2 * clean_loss);
}
