// Work a recipe section asks of the training loop around its optimizer steps (the `prune:`
// section's masks, compress/gradual_pruner.h) without the loop knowing the section: it runs
// before the first step and after every step, its state goes into every checkpoint (one
// tensor file) and comes back on resume, and it adds fields to the training log records.
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
  // The checkpoint file holding state() ("masks.safetensors"), read back by load().
  virtual std::string file() const = 0;
  virtual models::NamedTensors state() const = 0;
  virtual void load(const models::NamedTensors& state) = 0;  // IoError when it does not fit
  virtual void add_metrics(nlohmann::json& record) const = 0;
};

}  // namespace ptm::train
