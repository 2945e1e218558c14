// Learning-rate schedules: a multiplier on the optimizer's base learning rate per step,
// with the same conventions as Hugging Face's get_*_schedule_with_warmup (step 0 is the
// first optimizer step; warmup rises linearly from 0).
//
//   constant    warmup, then 1
//   linear      warmup, then linear decay to final_lr_fraction at total_steps
//   cosine      warmup, then half-cosine decay to final_lr_fraction at total_steps
//   wsd         warmup-stable-decay: warmup, hold 1, decay (linear|cosine|1-sqrt) over the last steps
//   piecewise   linear interpolation through [fraction_of_training, multiplier] breakpoints
//               (e.g. the "slow start, fast decay" shape)
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ptm/config/binder.h"
#include "ptm/core/registry.h"

namespace ptm::optim {

class Schedule {
 public:
  virtual ~Schedule() = default;
  // Multiplier for optimizer step `step` (0-based).
  virtual double factor(int64_t step) const = 0;
};

struct WarmupDecayOptions {
  int64_t warmup_steps = 0;
  double warmup_fraction = 0.0;     // used when warmup_steps is 0
  double final_lr_fraction = 0.0;   // multiplier reached at the end of the decay
};

struct WsdOptions {
  int64_t warmup_steps = 0;
  double warmup_fraction = 0.0;
  double decay_fraction = 0.1;      // last fraction of training spent decaying
  std::string decay = "1-sqrt";     // linear | cosine | 1-sqrt
  double final_lr_fraction = 0.0;
};

struct PiecewiseOptions {
  // [fraction of total steps in 0..1, multiplier]; fractions strictly increasing.
  std::vector<std::pair<double, double>> points;
};

std::unique_ptr<Schedule> make_constant(const WarmupDecayOptions& o, int64_t total_steps);
std::unique_ptr<Schedule> make_linear(const WarmupDecayOptions& o, int64_t total_steps);
std::unique_ptr<Schedule> make_cosine(const WarmupDecayOptions& o, int64_t total_steps);
std::unique_ptr<Schedule> make_wsd(const WsdOptions& o, int64_t total_steps);
std::unique_ptr<Schedule> make_piecewise(const PiecewiseOptions& o, int64_t total_steps);

// A parsed schedule waiting for the run's length.
using ScheduleBuilder = std::function<std::unique_ptr<Schedule>(int64_t total_steps)>;
// Binds a schedule's options from its recipe section (the factory stored in the registry).
using ScheduleFactory = std::function<ScheduleBuilder(config::Section&)>;

Registry<ScheduleFactory>& schedules();

// Reads `schedule:` (default type: constant). Returns null and records problems on error.
ScheduleBuilder parse_schedule(config::Section s);

}  // namespace ptm::optim
