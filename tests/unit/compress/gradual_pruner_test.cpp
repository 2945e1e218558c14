// Gradual pruning during training: the cubic schedule against hand-computed values, the
// pruning steps, masks that only grow, pruned weights exactly zero through AdamW steps whose
// moments predate the mask, and the mask state's round trip.
#include "ptm/compress/gradual_pruner.h"
#include "catch.h"
#include "ptm/core/errors.h"

using namespace ptm::compress;

namespace {

PruneConfig schedule(const std::string& criterion) {
  PruneConfig c;
  c.criterion = criterion;
  c.sparsity = 0.5;
  c.initial_sparsity = 0.25;
  c.start_step = 2;
  c.end_step = 6;
  c.every = 2;
  return c;
}

// A 4 x 8 Linear whose weights have distinct magnitudes: |w| = 1..32 in a shuffled order.
ptm::models::Linear layer() {
  ptm::models::Linear lin(8, 4);
  torch::NoGradGuard no_grad;
  const auto order = torch::randperm(32, torch::TensorOptions().dtype(torch::kLong));
  lin->weight.copy_(((order + 1).to(torch::kFloat) * torch::where(order % 2 == 0, 1.0, -1.0)).view({4, 8}));
  return lin;
}

int64_t zeros(const torch::Tensor& t) { return (t == 0).sum().item<int64_t>(); }

}  // namespace

TEST_CASE("the cubic schedule of Zhu and Gupta", "[unit][compress]") {
  // s_f + (s_i - s_f)(1 - (t - t0)/(t1 - t0))^3, by hand.
  CHECK(cubic_sparsity(0.0, 0.5, 10, 110, 0) == 0.0);
  CHECK(cubic_sparsity(0.0, 0.5, 10, 110, 10) == 0.0);
  CHECK(cubic_sparsity(0.0, 0.5, 10, 110, 35) == Approx(0.5 - 0.5 * 0.421875).epsilon(1e-12));
  CHECK(cubic_sparsity(0.0, 0.5, 10, 110, 60) == Approx(0.4375).epsilon(1e-12));
  CHECK(cubic_sparsity(0.2, 0.9, 0, 4, 2) == Approx(0.9 - 0.7 * 0.125).epsilon(1e-12));
  CHECK(cubic_sparsity(0.0, 0.5, 10, 110, 110) == 0.5);
  CHECK(cubic_sparsity(0.0, 0.5, 10, 110, 500) == 0.5);
}

TEST_CASE("gradual pruning prunes on its steps, only adds zeros, and keeps them through AdamW", "[unit][compress]") {
  torch::manual_seed(3);
  auto lin = layer();
  GradualPruner p(schedule("magnitude"), {{"lin", lin.get()}}, 10, 0);
  for (int64_t s : {2, 4, 6}) CHECK(p.prunes_at(s));
  for (int64_t s : {0, 1, 3, 5, 7, 8}) CHECK_FALSE(p.prunes_at(s));
  const auto w0 = lin->weight.detach().clone();
  p.start(0, false);
  CHECK(zeros(lin->weight) == 0);

  torch::optim::AdamW opt({lin->weight}, torch::optim::AdamWOptions(0.5).weight_decay(0.1));
  const auto train_step = [&](int64_t step) {
    opt.zero_grad();
    lin->forward(torch::ones({2, 8})).sum().backward();
    opt.step();
    p.after_step(step);
  };
  train_step(1);
  train_step(2);  // prunes floor(0.25 x 32) = 8: the 8 smallest after two steps
  CHECK(zeros(lin->weight) == 8);
  CHECK(p.sparsity() == 0.25);
  const auto mask2 = p.masks().at("lin").clone();
  // The gradient of a pruned weight is zero.
  opt.zero_grad();
  lin->forward(torch::ones({2, 8})).sum().backward();
  CHECK(torch::equal(lin->weight.grad() == 0, mask2 == 0));
  // AdamW's moments from before the mask would move the pruned weights off zero; the pruner
  // masks them again after the step.
  opt.step();
  CHECK(zeros(lin->weight) < 8);
  p.after_step(3);
  CHECK(zeros(lin->weight) == 8);
  train_step(4);  // 0.5 - 0.25 x (1/2)^3 = 0.46875: 15 of 32
  CHECK(zeros(lin->weight) == 15);
  CHECK(torch::equal(p.masks().at("lin") * mask2, p.masks().at("lin")));  // pruned stay pruned
  train_step(5);
  train_step(6);
  CHECK(zeros(lin->weight) == 16);
  CHECK(p.sparsity() == 0.5);
  for (int64_t s = 7; s <= 10; ++s) train_step(s);
  CHECK(torch::equal(lin->weight == 0, p.masks().at("lin") == 0));
  CHECK_FALSE(torch::equal(lin->weight.detach(), w0 * p.masks().at("lin")));  // the kept weights trained

  // The state goes into checkpoints and comes back.
  auto other = layer();
  GradualPruner q(schedule("magnitude"), {{"lin", other.get()}}, 10, 0);
  q.load(p.state());
  q.start(10, true);
  CHECK(torch::equal(q.masks().at("lin"), p.masks().at("lin")));
  CHECK(q.sparsity() == 0.5);
  CHECK(torch::equal(other->weight == 0, p.masks().at("lin") == 0));
  ptm::models::Linear wider(16, 4);
  GradualPruner r(schedule("magnitude"), {{"lin", wider.get()}}, 10, 0);
  CHECK_THROWS_AS(r.load(p.state()), ptm::IoError);
}

TEST_CASE("gradual pruning with random scores keeps what it pruned before", "[unit][compress]") {
  auto lin = layer();
  GradualPruner p(schedule("random"), {{"lin", lin.get()}}, 10, 7);
  p.after_step(2);
  const auto first = p.masks().at("lin").clone();
  p.after_step(4);
  CHECK(zeros(p.masks().at("lin")) == 15);
  CHECK(torch::equal(p.masks().at("lin") * first, p.masks().at("lin")));
}

TEST_CASE("N:M during training: the mask is set once, at start_step", "[unit][compress]") {
  auto c = schedule("magnitude");
  c.granularity = "nm";
  auto lin = layer();
  GradualPruner p(c, {{"lin", lin.get()}}, 10, 0);
  CHECK(p.prunes_at(2));
  CHECK_FALSE(p.prunes_at(4));
  p.after_step(2);
  CHECK(torch::equal((lin->weight.reshape({-1, 4}) == 0).sum(1), torch::full({8}, 2, torch::kLong)));
  CHECK(p.sparsity() == 0.5);
}

TEST_CASE("pruning during training refuses what it cannot do, naming the key", "[unit][compress]") {
  const auto refused = [](PruneConfig c, int64_t max_steps, const std::string& key) {
    try {
      check_training_prune(c, max_steps);
    } catch (const ptm::ConfigError& e) {
      return std::string(e.what()).find(key) != std::string::npos;
    }
    return false;
  };
  auto c = schedule("magnitude");
  CHECK_NOTHROW(check_training_prune(c, 6));
  CHECK(refused(c, 5, "prune.end_step"));
  c.end_step = -1;
  c.start_step = 8;
  CHECK(refused(c, 8, "prune.start_step"));
  CHECK(refused(schedule("wanda"), 10, "prune.criterion"));
  auto s = schedule("magnitude");
  s.granularity = "structured";
  CHECK(refused(s, 10, "prune.granularity"));
  s = schedule("magnitude");
  s.recover = true;
  CHECK(refused(s, 10, "prune.recover"));
}
