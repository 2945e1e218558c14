// Gradual magnitude-style pruning inside the training loop.
#include "ptm/compress/gradual_pruner.h"

#include <cmath>
#include <cstdio>

#include "ptm/compress/criteria.h"
#include "ptm/compress/keep_masked.h"
#include "ptm/compress/unstructured.h"
#include "ptm/core/errors.h"
#include "ptm/core/log.h"

namespace ptm::compress {
namespace {

int64_t end_step(const PruneConfig& c, int64_t max_steps) { return c.end_step < 0 ? max_steps : c.end_step; }

}  // namespace

double cubic_sparsity(double initial, double final, int64_t start, int64_t end, int64_t step) {
  if (step <= start) return initial;
  if (step >= end) return final;
  const double left = 1.0 - static_cast<double>(step - start) / static_cast<double>(end - start);
  return final + (initial - final) * left * left * left;
}

void check_training_prune(const PruneConfig& c, int64_t max_steps) {
  std::vector<Diagnostic> problems;
  if (c.granularity == "structured")
    problems.push_back({c.origin, "prune.granularity",
                        "structured removes units from the model: run ptm prune, then train the smaller model; "
                        "pruning during training takes unstructured or nm (training from a ptm prune run's "
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
  if (c.granularity == "unstructured" && end > max_steps)
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

GradualPruner::GradualPruner(const PruneConfig& c, Targets targets, int64_t max_steps, uint64_t seed)
    : c_(c), targets_(std::move(targets)), end_(end_step(c, max_steps)), seed_(seed) {
  for (const auto& [name, lin] : targets_)
    masks_[name] = torch::ones_like(lin->weight, lin->weight.options().dtype(torch::kFloat).requires_grad(false));
  // Pruned weights get zero gradients (as if the forward read weight * mask): they take no
  // part in clipping, and the optimizer's moments for them decay.
  keep_masked(targets_, masks_);
}

bool GradualPruner::prunes_at(int64_t step) const {
  if (c_.granularity == "nm") return step == c_.start_step;
  return step >= c_.start_step && step <= end_ && ((step - c_.start_step) % c_.every == 0 || step == end_);
}

void GradualPruner::prune(int64_t step) {
  PruneConfig now = c_;
  if (c_.granularity != "nm")
    now.sparsity = cubic_sparsity(c_.initial_sparsity, c_.sparsity, c_.start_step, end_, step);
  // A criterion of its own per pruning step: a resumed run draws what the uninterrupted one drew.
  auto criterion = criteria().find(c_.criterion)->factory(seed_ + static_cast<uint64_t>(step));
  const auto fresh = prune_unstructured(now, *criterion, targets_, {}, &masks_);
  double kept = 0, all = 0;
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, mask] : masks_) {
      mask.copy_(fresh.at(name));
      kept += mask.sum().item<double>();
      all += static_cast<double>(mask.numel());
    }
  }
  sparsity_ = all > 0 ? 1.0 - kept / all : 0.0;
  char line[160];
  std::snprintf(line, sizeof(line), "prune at step %lld: target sparsity %.4f (%s)", static_cast<long long>(step),
                sparsity_,
                c_.granularity == "nm" ? (std::to_string(c_.n) + ":" + std::to_string(c_.m)).c_str()
                                       : ("schedule " + std::to_string(now.sparsity)).c_str());
  log::info(line);
}

void GradualPruner::start(int64_t step, bool resumed) {
  if (resumed) {
    apply_masks(targets_, masks_);
    double kept = 0, all = 0;
    for (const auto& [name, mask] : masks_) {
      kept += mask.sum().item<double>();
      all += static_cast<double>(mask.numel());
    }
    sparsity_ = all > 0 ? 1.0 - kept / all : 0.0;
  } else if (prunes_at(step)) {
    prune(step);
  }
}

void GradualPruner::after_step(int64_t step) {
  if (sparsity_ > 0) apply_masks(targets_, masks_);  // undoes what the optimizer moved
  if (prunes_at(step)) prune(step);
}

models::NamedTensors GradualPruner::state() const {
  models::NamedTensors out;
  for (const auto& [name, mask] : masks_) out.emplace_back(name, mask.to(torch::kCPU, torch::kBool));
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
}

void GradualPruner::add_metrics(nlohmann::json& record) const { record["sparsity"] = sparsity_; }

}  // namespace ptm::compress
