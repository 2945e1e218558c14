// Super-network training's loss (ptm nas): the sub-networks of one step and their averaged
// loss; with in-place distillation the largest learns from the targets and the others from
// its logits, checked against a KL divergence written out here with plain tensor operations.
#include "ptm/nas/supernet_objective.h"
#include "catch.h"
#include "ptm/models/elastic.h"
#include "ptm/models/gpt.h"
#include "ptm/nas/model_space.h"

using namespace ptm;

namespace {

models::Gpt tiny_gpt() {
  models::GptOptions o;
  o.vocab_size = 41;
  o.n_positions = 16;
  o.n_embd = 32;
  o.n_layer = 3;
  o.n_head = 4;
  o.n_inner = 24;
  return models::Gpt(o);
}

nas::SupernetConfig sandwich(bool inplace) {
  nas::SupernetConfig c;
  c.sampling = "sandwich";
  c.subnets = 3;
  c.space.heads = {2, 4};
  c.space.inner = {12, 24};
  c.space.min_depth = 2;
  c.reorder = "none";
  c.inplace_distill = inplace;
  c.temperature = 2.0;
  return c;
}

data::Batch lm_batch() {
  data::Batch b;
  b.input_ids = torch::randint(0, 41, {2, 9}, torch::kLong);
  b.targets = torch::randint(0, 41, {2, 9}, torch::kLong);
  b.targets[1][4] = -100;  // an ignored target is left out of every part of the loss
  return b;
}

// tau^2 KL(softmax(t / tau) || softmax(s / tau)) summed over the tokens whose target counts.
torch::Tensor kd_by_hand(const torch::Tensor& s, const torch::Tensor& t, const torch::Tensor& targets, double tau) {
  const auto p = torch::softmax(t / tau, -1);
  const auto kl = (p * (torch::log(p) - torch::log_softmax(s / tau, -1))).sum(-1) * tau * tau;  // [B, T]
  return (kl * (targets != -100).to(torch::kFloat32)).sum();
}

}  // namespace

TEST_CASE("in-place distillation trains the largest sub-network on targets and the others on its logits", "[unit][models][nas]") {
  torch::manual_seed(11);
  auto model = tiny_gpt();
  const auto batch = lm_batch();
  nas::SupernetObjective objective(objectives::make("causal_lm"), sandwich(true));
  objective.attach(*model, torch::kCPU);

  torch::manual_seed(5);
  const auto parts = objective.loss(*model, batch, true);
  torch::manual_seed(5);
  const auto genomes = objective.sample();  // the same draw as the step above
  REQUIRE(genomes.size() == 3);
  CHECK(genomes[0] == objective.space().largest());
  CHECK(genomes[1] == objective.space().smallest());

  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> logits;
  for (const auto& g : genomes) {
    models::set_subnet(*model, nas::to_subnet(g));
    logits.push_back(model->forward(batch).logits);
  }
  models::set_subnet(*model, {});
  const auto flat = logits[0].flatten(0, 1);
  const auto ce = torch::nn::functional::cross_entropy(
      flat, batch.targets.flatten(),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum));
  const auto expected =
      (ce + kd_by_hand(logits[1], logits[0], batch.targets, 2.0) + kd_by_hand(logits[2], logits[0], batch.targets, 2.0)) / 3;
  CHECK(parts.loss_sum.item<double>() == Approx(expected.item<double>()).epsilon(1e-5));
  CHECK(parts.targets.item<int64_t>() == 17);

  // Without it every sub-network learns from the targets: a different loss.
  nas::SupernetObjective plain(objectives::make("causal_lm"), sandwich(false));
  plain.attach(*model, torch::kCPU);
  torch::manual_seed(5);
  const auto plain_parts = plain.loss(*model, batch, true);
  CHECK(plain_parts.loss_sum.item<double>() != Approx(parts.loss_sum.item<double>()).epsilon(1e-3));
}
