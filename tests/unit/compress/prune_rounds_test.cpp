// Pruning in rounds during training (prune.rounds): the geometric sparsity per round against
// hand-computed values, masks that nest across rounds, lottery-ticket rewinding that puts the
// surviving weights back to their values at step k (through a checkpoint's state too), the
// optimizer state started afresh and the LR schedule restarted per round.
#include <cmath>
#include <functional>
#include <map>

#include "catch.h"
#include "ptm/compress/gradual_pruner.h"
#include "ptm/core/errors.h"
#include "ptm/models/gpt.h"
#include "ptm/optim/optimizer.h"

using namespace ptm;
using compress::GradualPruner;
using compress::PruneConfig;
using Weights = std::map<std::string, torch::Tensor>;

namespace {

models::Gpt tiny_gpt() {
  models::GptOptions o;
  o.vocab_size = 40;
  o.n_positions = 8;
  o.n_embd = 16;
  o.n_layer = 2;
  o.n_head = 2;
  o.n_inner = 32;
  return models::Gpt(o);
}

// 3 rounds of 4 steps to 87.5%: 50%, 75%, 87.5% (each round halves what is left).
PruneConfig rounds(int64_t rewind_step, bool weights = true) {
  PruneConfig c;
  c.criterion = "magnitude";
  c.sparsity = 0.875;
  c.rounds = 3;
  c.round_steps = 4;
  c.rewind_step = rewind_step;
  c.rewind_weights = weights;
  return c;
}

Weights copy(models::ModelImpl& m) {
  Weights out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().detach().clone();
  return out;
}

// The model's Linear weights by target name (the masks' keys) and parameter name.
std::map<std::string, std::string> weight_names(const compress::Targets& targets) {
  std::map<std::string, std::string> out;
  for (const auto& [name, lin] : targets) out[name + ".weight"] = name;
  return out;
}

// Trains `model` with `pruner` for steps [from, to) as the trainer does (before_step, a
// possible optimizer reset, an AdamW step on a next-token loss, after_step). `seen(step)` runs
// after before_step, `done(step)` after after_step.
struct Loop {
  models::ModelImpl& model;
  GradualPruner& pruner;
  optim::Optimizer& opt;
  std::vector<int64_t> resets;

  void run(int64_t from, int64_t to, const std::function<void(int64_t)>& seen = {},
           const std::function<void(int64_t)>& done = {}) {
    for (int64_t step = from; step < to; ++step) {
      pruner.before_step(step);
      if (pruner.resets_optimizer(step)) {
        opt.reset_state();
        resets.push_back(step);
      }
      if (seen) seen(step);
      torch::manual_seed(100 + step);  // the same batch in every run
      data::Batch b;
      b.input_ids = torch::randint(40, {2, 8}, torch::kLong);
      b.targets = torch::randint(40, {2, 8}, torch::kLong);
      const auto logits = model.forward(b).logits;
      torch::nn::functional::cross_entropy(logits.reshape({-1, 40}), b.targets.reshape({-1})).backward();
      opt.step(0.01);
      opt.zero_grad();
      pruner.after_step(step + 1);
      if (done) done(step + 1);
    }
  }
};

std::vector<std::pair<std::string, torch::Tensor>> named(models::ModelImpl& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : m.named_parameters()) out.emplace_back(p.key(), p.value());
  return out;
}

bool all_zero(const optim::Optimizer& opt) {
  for (const auto& [name, t] : opt.state())
    if (t.count_nonzero().item<int64_t>() != 0) return false;
  return true;
}

}  // namespace

TEST_CASE("the sparsity after each round removes the same share of what is left", "[unit][compress]") {
  using compress::round_sparsity;
  CHECK(round_sparsity(0.875, 3, 0) == 0.0);
  CHECK(round_sparsity(0.875, 3, 1) == Approx(0.5).epsilon(1e-12));  // 1 - 0.125^(1/3)
  CHECK(round_sparsity(0.875, 3, 2) == Approx(0.75).epsilon(1e-12));
  CHECK(round_sparsity(0.875, 3, 3) == 0.875);
  CHECK(round_sparsity(0.9, 4, 2) == Approx(1 - std::sqrt(0.1)).epsilon(1e-12));
  CHECK(round_sparsity(0.5, 1, 1) == 0.5);
}

TEST_CASE("lottery-ticket rounds rewind the surviving weights to step k and restart the optimizer",
          "[unit][compress]") {
  torch::manual_seed(5);
  auto gpt = tiny_gpt();
  const auto targets = compress::select_targets(*gpt, {});
  REQUIRE(targets.size() == 8);
  GradualPruner pruner(rounds(2), targets, 16, 0, gpt.get());
  for (int64_t s : {4, 8, 12}) CHECK(pruner.prunes_at(s));
  for (int64_t s : {0, 2, 3, 5, 16}) CHECK_FALSE(pruner.prunes_at(s));
  optim::OptimizerConfig oc;
  optim::Optimizer opt(named(*gpt), oc);
  Loop loop{*gpt, pruner, opt, {}};
  const auto linear = weight_names(targets);
  Weights at2;
  std::map<int64_t, Weights> before, masks;
  pruner.start(0, false);
  loop.run(
      0, 16,
      [&](int64_t step) {
        if (!pruner.prunes_at(step)) return;
        masks[step] = pruner.masks();
        for (auto& [k, v] : masks[step]) v = v.clone();
        CHECK(all_zero(opt));
      },
      [&](int64_t step) {
        if (step == 2) at2 = copy(*gpt);
        if (pruner.prunes_at(step)) before[step] = copy(*gpt);
      });
  CHECK(loop.resets == std::vector<int64_t>{4, 8, 12});
  REQUIRE(masks.size() == 3);
  int64_t round = 0;
  for (const auto& [step, m] : masks) {
    INFO("round ending at step " << step);
    ++round;
    // Each round's share of every target tensor (whose sizes are multiples of 8).
    for (const auto& [name, mask] : m)
      CHECK((mask == 0).sum().item<double>() / mask.numel() == compress::round_sparsity(0.875, 3, round));
    // Masks nest: what a round pruned stays pruned.
    if (round > 1)
      for (const auto& [name, mask] : m) CHECK(torch::equal(mask * masks.at(step - 4).at(name), mask));
  }
  // After the last round, and just after each pruning (checked on a second run below), the
  // weights trained since step 2 went back to their step-2 values; pruned ones are zero.
  CHECK(pruner.sparsity() == Approx(0.875));
  CHECK(pruner.round() == 3);
  CHECK_FALSE(torch::equal(before.at(4).at("transformer.h.0.mlp.c_fc.weight"), at2.at("transformer.h.0.mlp.c_fc.weight")));

  // Again, stopping just after each pruning: every parameter is its step-2 value (times the mask).
  torch::manual_seed(5);
  auto again = tiny_gpt();
  const auto targets2 = compress::select_targets(*again, {});
  GradualPruner p2(rounds(2), targets2, 16, 0, again.get());
  optim::Optimizer opt2(named(*again), oc);
  Loop loop2{*again, p2, opt2, {}};
  p2.start(0, false);
  int64_t checked = 0;
  loop2.run(0, 16, [&](int64_t step) {
    if (!p2.prunes_at(step)) return;
    for (const auto& p : again->named_parameters()) {
      const auto it = linear.find(p.key());
      const auto expected = it == linear.end() ? at2.at(p.key()) : at2.at(p.key()) * p2.masks().at(it->second);
      CHECK(torch::equal(p.value(), expected));
      ++checked;
    }
  });
  CHECK(checked == 3 * static_cast<int64_t>(again->named_parameters().size()));
  // The same run: the weights of both at the end are equal.
  for (const auto& [name, w] : copy(*again)) CHECK(torch::equal(w, gpt->named_parameters()[name]));
}

TEST_CASE("rewind weights come back from a checkpoint's state", "[unit][compress]") {
  torch::manual_seed(6);
  auto gpt = tiny_gpt();
  GradualPruner pruner(rounds(2), compress::select_targets(*gpt, {}), 16, 0, gpt.get());
  optim::Optimizer opt(named(*gpt), optim::OptimizerConfig{});
  Loop loop{*gpt, pruner, opt, {}};
  pruner.start(0, false);
  Weights at2;
  loop.run(0, 3, {}, [&](int64_t step) {
    if (step == 2) at2 = copy(*gpt);
  });
  const auto state = pruner.state();
  // A resumed run: other weights (as if loaded from the step-3 checkpoint), the state loaded.
  auto resumed = tiny_gpt();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : resumed->named_parameters()) p.value().copy_(gpt->named_parameters()[p.key()]);
  }
  const auto targets = compress::select_targets(*resumed, {});
  GradualPruner q(rounds(2), targets, 16, 0, resumed.get());
  q.load(state);
  q.start(3, true);
  CHECK(q.round() == 0);
  optim::Optimizer opt2(named(*resumed), optim::OptimizerConfig{});
  Loop loop2{*resumed, q, opt2, {}};
  loop2.run(3, 4);
  q.before_step(4);
  CHECK(q.round() == 1);
  const auto linear = weight_names(targets);
  for (const auto& p : resumed->named_parameters()) {
    INFO(p.key());
    const auto it = linear.find(p.key());
    CHECK(torch::equal(p.value(), it == linear.end() ? at2.at(p.key()) : at2.at(p.key()) * q.masks().at(it->second)));
  }
  // A checkpoint of step 3 without the step-2 weights is refused.
  models::NamedTensors masks_only;
  for (const auto& [name, t] : state)
    if (name.rfind("rewind/", 0) != 0) masks_only.emplace_back(name, t);
  REQUIRE(masks_only.size() < state.size());
  GradualPruner r(rounds(2), compress::select_targets(*resumed, {}), 16, 0, resumed.get());
  r.load(masks_only);
  CHECK_THROWS_AS(r.start(3, true), IoError);
  GradualPruner early(rounds(2), compress::select_targets(*resumed, {}), 16, 0, resumed.get());
  early.load(masks_only);
  CHECK_NOTHROW(early.start(1, true));  // before step 2 there is nothing to rewind to yet
}

TEST_CASE("prune-recover rounds keep training, and learning-rate rewinding keeps the weights", "[unit][compress]") {
  for (const bool lr_only : {false, true}) {
    INFO((lr_only ? "rewind: {to_step: 2, weights: false}" : "rewind: none"));
    torch::manual_seed(7);
    auto gpt = tiny_gpt();
    const auto targets = compress::select_targets(*gpt, {});
    GradualPruner pruner(lr_only ? rounds(2, false) : rounds(-1), targets, 16, 0, gpt.get());
    optim::Optimizer opt(named(*gpt), optim::OptimizerConfig{});
    Loop loop{*gpt, pruner, opt, {}};
    const auto linear = weight_names(targets);
    Weights before;
    pruner.start(0, false);
    loop.run(
        0, 16,
        [&](int64_t step) {
          if (!pruner.prunes_at(step)) return;
          for (const auto& p : gpt->named_parameters()) {
            const auto it = linear.find(p.key());
            CHECK(torch::equal(p.value(), it == linear.end() ? before.at(p.key())
                                                             : before.at(p.key()) * pruner.masks().at(it->second)));
          }
        },
        [&](int64_t step) { before = copy(*gpt); });
    CHECK(loop.resets == (lr_only ? std::vector<int64_t>{4, 8, 12} : std::vector<int64_t>{}));
    CHECK(pruner.sparsity() == Approx(0.875));
    for (const auto& [name, lin] : targets) CHECK(torch::equal(lin->weight == 0, pruner.masks().at(name) == 0));
  }
}

TEST_CASE("rounds that rewind restart the LR schedule at step k", "[unit][compress]") {
  auto gpt = tiny_gpt();
  const auto targets = compress::select_targets(*gpt, {});
  const auto at = [](const GradualPruner& p, int64_t step, int64_t max) {
    const auto pos = p.lr_position(step, max);
    return std::pair<int64_t, int64_t>{pos.step, pos.total};
  };
  GradualPruner k2(rounds(2), targets, 20, 0, gpt.get());
  // Round 1: the schedule over its 4 steps; rounds 2 and 3: positions 2..5 of a 6-step one;
  // the ticket after round 3 (steps 12..19): positions 2..9 of a 10-step one.
  CHECK(at(k2, 0, 20) == std::pair<int64_t, int64_t>{0, 4});
  CHECK(at(k2, 3, 20) == std::pair<int64_t, int64_t>{3, 4});
  CHECK(at(k2, 4, 20) == std::pair<int64_t, int64_t>{2, 6});
  CHECK(at(k2, 7, 20) == std::pair<int64_t, int64_t>{5, 6});
  CHECK(at(k2, 8, 20) == std::pair<int64_t, int64_t>{2, 6});
  CHECK(at(k2, 12, 20) == std::pair<int64_t, int64_t>{2, 10});
  CHECK(at(k2, 19, 20) == std::pair<int64_t, int64_t>{9, 10});
  GradualPruner init(rounds(0), targets, 16, 0, gpt.get());
  CHECK(at(init, 5, 16) == std::pair<int64_t, int64_t>{1, 4});
  CHECK(at(init, 15, 16) == std::pair<int64_t, int64_t>{3, 4});
  GradualPruner recover(rounds(-1), targets, 16, 0, gpt.get());
  CHECK(at(recover, 5, 16) == std::pair<int64_t, int64_t>{5, 16});
  CHECK_FALSE(recover.resets_optimizer(4));
}

TEST_CASE("rounds refuse a run too short to train the last round's model", "[unit][compress]") {
  const auto refused = [](const PruneConfig& c, int64_t max_steps) {
    try {
      compress::check_training_prune(c, max_steps);
    } catch (const ConfigError& e) {
      return std::string(e.what()).find("prune.round_steps") != std::string::npos;
    }
    return false;
  };
  CHECK_NOTHROW(compress::check_training_prune(rounds(2), 13));
  CHECK(refused(rounds(2), 12));
}

TEST_CASE("Optimizer::reset_state is a fresh optimizer", "[unit][compress]") {
  for (const std::string type : {"adamw", "sgd"}) {
    INFO(type);
    auto w = torch::ones({3, 2}).requires_grad_(true);
    optim::OptimizerConfig oc;
    oc.type = type;
    optim::Optimizer trained({{"w", w}}, oc);
    w.mutable_grad() = torch::full({3, 2}, 0.5);
    trained.step(0.1);
    CHECK_FALSE(all_zero(trained));
    trained.reset_state();
    CHECK(all_zero(trained));
    // From the same weights and gradient, its next step is a fresh optimizer's first.
    auto v = w.detach().clone().requires_grad_(true);
    optim::Optimizer fresh({{"w", v}}, oc);
    w.mutable_grad() = torch::full({3, 2}, 0.25);
    v.mutable_grad() = torch::full({3, 2}, 0.25);
    trained.step(0.1);
    fresh.step(0.1);
    CHECK(torch::equal(w, v));
  }
}
