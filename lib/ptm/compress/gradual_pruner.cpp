// Gradual magnitude-style pruning inside the training loop.
#include "ptm/compress/gradual_pruner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "ptm/compress/criteria.h"
#include "ptm/compress/keep_masked.h"
#include "ptm/compress/unstructured.h"
#include "ptm/core/errors.h"
#include "ptm/core/log.h"

namespace ptm::compress {
namespace {

int64_t end_step(const PruneConfig& c, int64_t max_steps) { return c.end_step < 0 ? max_steps : c.end_step; }

// The prefix of the rewind weights in the checkpoint's masks file (mask names are module names).
const std::string kRewind = "rewind/";

}  // namespace

double cubic_sparsity(double initial, double final, int64_t start, int64_t end, int64_t step) {
  if (step <= start) return initial;
  if (step >= end) return final;
  const double left = 1.0 - static_cast<double>(step - start) / static_cast<double>(end - start);
  return final + (initial - final) * left * left * left;
}

double round_sparsity(double final, int64_t rounds, int64_t round) {
  if (round <= 0) return 0.0;
  if (round >= rounds) return final;
  return 1.0 - std::pow(1.0 - final, static_cast<double>(round) / static_cast<double>(rounds));
}

void check_training_prune(const PruneConfig& c, int64_t max_steps) {
  std::vector<Diagnostic> problems;
  if (c.granularity == "structured" || c.granularity == "layers")
    problems.push_back({c.origin, "prune.granularity",
                        c.granularity + " removes units from the model: run ptm prune, then train the smaller model; "
                        "pruning during training takes unstructured, nm or low_rank (TRP) (training from a ptm prune run's "
                        "config.yaml? drop its prune: section with ~prune)"});
  if (data_driven(c.criterion))
    problems.push_back({c.origin, "prune.criterion",
                        c.criterion + " scores on calibration batches, which pruning during training does not read: "
                                      "use magnitude, magnitude_l2 or random"});
  if (c.recover)
    problems.push_back(
        {c.origin, "prune.recover", "is ptm prune's fine-tune after pruning; a training run prunes as it trains"});
  const Origin& where = c.schedule_key.empty() ? c.origin : c.schedule_origin;
  const int64_t end = end_step(c, max_steps);
  if (c.rounds > 0 && c.rounds * c.round_steps >= max_steps)
    problems.push_back({where, "prune.round_steps",
                        std::to_string(c.rounds) + " rounds of " + std::to_string(c.round_steps) + " steps end at step " +
                            std::to_string(c.rounds * c.round_steps) + ", not before train.max_steps (" +
                            std::to_string(max_steps) + "): the model pruned by the last round would not train"});
  if (c.rounds > 0) {
    // The gradual schedule's checks do not apply.
  } else if (c.granularity == "unstructured" && end > max_steps)
    problems.push_back({where, "prune.end_step",
                        std::to_string(end) + " is after train.max_steps (" + std::to_string(max_steps) +
                            "): the run would stop before prune.sparsity is reached"});
  if (c.granularity == "unstructured" && c.end_step < 0 && end <= c.start_step)
    problems.push_back({where, "prune.start_step",
                        std::to_string(c.start_step) + " is not before the schedule's end, train.max_steps (" +
                            std::to_string(max_steps) + ")"});
  if (c.granularity == "nm" && c.start_step > max_steps)
    problems.push_back(
        {where, "prune.start_step",
         std::to_string(c.start_step) + " is after train.max_steps (" + std::to_string(max_steps) + ")"});
  if (!problems.empty()) throw ConfigError(problems);
}

GradualPruner::GradualPruner(const PruneConfig& c, Targets targets, int64_t max_steps, uint64_t seed,
                             models::ModelImpl* model)
    : c_(c), targets_(std::move(targets)), end_(end_step(c, max_steps)), seed_(seed) {
  if (c_.rounds > 0 && c_.rewind_step >= 0 && c_.rewind_weights) {
    if (!model) throw std::logic_error("GradualPruner: prune.rewind needs the model");
    rewind_ = std::make_unique<WeightSnapshot>(*model);
  }
  for (const auto& [name, lin] : targets_)
    masks_[name] = torch::ones_like(lin->weight, lin->weight.options().dtype(torch::kFloat).requires_grad(false));
  // Pruned weights get zero gradients (as if the forward read weight * mask): they take no
  // part in clipping, and the optimizer's moments for them decay.
  keep_masked(targets_, masks_);
}

bool GradualPruner::prunes_at(int64_t step) const {
  if (c_.granularity == "nm") return step == c_.start_step;
  if (c_.rounds > 0) return step > 0 && step % c_.round_steps == 0 && step / c_.round_steps <= c_.rounds;
  return step >= c_.start_step && step <= end_ && ((step - c_.start_step) % c_.every == 0 || step == end_);
}

void GradualPruner::prune(int64_t step) {
  PruneConfig now = c_;
  if (c_.rounds > 0) {
    round_ = step / c_.round_steps;
    now.sparsity = round_sparsity(c_.sparsity, c_.rounds, round_);
  } else if (c_.granularity != "nm") {
    now.sparsity = cubic_sparsity(c_.initial_sparsity, c_.sparsity, c_.start_step, end_, step);
  }
  // A criterion of its own per pruning step: a resumed run draws what the uninterrupted one drew.
  auto criterion = criteria().find(c_.criterion)->factory(seed_ + static_cast<uint64_t>(step));
  const auto fresh = prune_unstructured(now, *criterion, targets_, {}, &masks_);
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, mask] : masks_) mask.copy_(fresh.at(name));
  }
  measure();
  const std::string how = c_.granularity == "nm" ? std::to_string(c_.n) + ":" + std::to_string(c_.m)
                          : c_.rounds > 0 ? "round " + std::to_string(round_) + " of " + std::to_string(c_.rounds) +
                                                ", schedule " + std::to_string(now.sparsity)
                                          : "schedule " + std::to_string(now.sparsity);
  char line[200];
  std::snprintf(line, sizeof(line), "prune at step %lld: target sparsity %.4f (%s)", static_cast<long long>(step),
                sparsity_, how.c_str());
  log::info(line);
}

void GradualPruner::measure() {
  double kept = 0, all = 0;
  for (const auto& [name, mask] : masks_) {
    kept += mask.sum().item<double>();
    all += static_cast<double>(mask.numel());
  }
  sparsity_ = all > 0 ? 1.0 - kept / all : 0.0;
}

void GradualPruner::start(int64_t step, bool resumed) {
  if (resumed) {
    apply_masks(targets_, masks_);
    measure();
    // The checkpoint of a round's last step was written before that round's pruning.
    if (c_.rounds > 0) round_ = step > 0 ? std::min((step - 1) / c_.round_steps, c_.rounds) : 0;
    if (rewind_ && step >= c_.rewind_step && !rewind_->taken())
      throw IoError(file() + ": no rewind weights in the checkpoint of step " + std::to_string(step) +
                    " (prune.rewind.to_step " + std::to_string(c_.rewind_step) +
                    "; the checkpoint was written by another prune: section)");
    return;
  }
  if (rewind_ && step == c_.rewind_step) rewind_->take();
  if (c_.rounds == 0 && prunes_at(step)) prune(step);
}

void GradualPruner::after_step(int64_t step) {
  if (sparsity_ > 0) apply_masks(targets_, masks_);  // undoes what the optimizer moved
  if (rewind_ && step == c_.rewind_step) rewind_->take();
  if (c_.rounds == 0 && prunes_at(step)) prune(step);
}

void GradualPruner::before_step(int64_t step) {
  if (c_.rounds == 0 || !prunes_at(step)) return;
  prune(step);
  if (rewind_) {
    rewind_->restore();
    apply_masks(targets_, masks_);
    log::info("rewound the surviving weights to their values at step " + std::to_string(c_.rewind_step));
  }
}

bool GradualPruner::resets_optimizer(int64_t step) const {
  return c_.rounds > 0 && c_.rewind_step >= 0 && prunes_at(step);
}

train::StepHook::LrPosition GradualPruner::lr_position(int64_t step, int64_t max_steps) const {
  if (c_.rounds == 0 || c_.rewind_step < 0) return {step, max_steps};
  const int64_t round = std::min(step / c_.round_steps, c_.rounds);  // rounds ended before this step
  if (round == 0) return {step, c_.round_steps};
  const int64_t begin = round * c_.round_steps;
  const int64_t end = round < c_.rounds ? begin + c_.round_steps : max_steps;
  return {c_.rewind_step + step - begin, c_.rewind_step + end - begin};
}

models::NamedTensors GradualPruner::state() const {
  models::NamedTensors out;
  for (const auto& [name, mask] : masks_) out.emplace_back(name, mask.to(torch::kCPU, torch::kBool));
  if (rewind_)
    for (auto& entry : rewind_->state(kRewind)) out.push_back(std::move(entry));
  return out;
}

void GradualPruner::load(const models::NamedTensors& state) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  torch::NoGradGuard no_grad;
  for (auto& [name, mask] : masks_) {
    const auto it = by_name.find(name);
    if (it == by_name.end() || !it->second.sizes().equals(mask.sizes()))
      throw IoError(std::string(file()) + ": " + (it == by_name.end() ? "no mask for " : "the mask does not fit ") +
                    name + " (the checkpoint was written by another prune: section or model)");
    mask.copy_(it->second);
  }
  if (rewind_) rewind_->load(state, kRewind, file());
}

void GradualPruner::add_metrics(nlohmann::json& record) const {
  record["sparsity"] = sparsity_;
  if (c_.rounds > 0) record["prune_round"] = round_;
}

}  // namespace ptm::compress
