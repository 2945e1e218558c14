// Work a recipe section asks of the training loop around its optimizer steps (the `prune:`
// section's masks, compress/gradual_pruner.h) without the loop knowing the section: it runs
// before the first step and after every step, its state goes into every checkpoint (one
// tensor file) and comes back on resume, and it adds fields to the training log records.
// Pruning in rounds may also start the optimizer afresh and restart the learning-rate schedule.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "ptm/models/model.h"

namespace ptm::train {

class StepHook {
 public:
  virtual ~StepHook() = default;
  // Once before the first step this process runs; `step` is the steps already done and
  // `resumed` says whether load() restored the state of that step.
  virtual void start(int64_t step, bool resumed) = 0;
  // After optimizer step number `step` (counting from 1), before its log record and checkpoint.
  virtual void after_step(int64_t step) = 0;
  // Before optimizer step number step + 1, after the evaluation and checkpoint of `step`: a
  // round of pruning that ends at `step` is evaluated and saved before it prunes.
  virtual void before_step(int64_t /*step*/) {}
  // The checkpoint file holding state() ("masks.safetensors"), read back by load().
  virtual std::string file() const = 0;
  virtual models::NamedTensors state() const = 0;
  virtual void load(const models::NamedTensors& state) = 0;  // IoError when it does not fit
  virtual void add_metrics(nlohmann::json& record) const = 0;

  // Whether the optimizer state (moments, step counts) starts from zero after before_step(step).
  virtual bool resets_optimizer(int64_t /*step*/) const { return false; }
  // The learning-rate schedule for optimizer step `step` (0-based, as Schedule::factor) of a
  // run of `max_steps`: the position to read and the length of the schedule read.
  struct LrPosition {
    int64_t step = 0, total = 0;
  };
  virtual LrPosition lr_position(int64_t step, int64_t max_steps) const { return {step, max_steps}; }
};

}  // namespace ptm::train
