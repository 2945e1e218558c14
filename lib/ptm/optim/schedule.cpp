// Schedule implementations and their recipe bindings.
#include "ptm/optim/schedule.h"

#include <algorithm>
#include <cmath>

#include "ptm/config/component.h"

namespace ptm::optim {
namespace {

constexpr double kPi = 3.14159265358979323846;

int64_t warmup_of(int64_t steps, double fraction, int64_t total) {
  return steps > 0 ? steps : static_cast<int64_t>(std::llround(fraction * static_cast<double>(total)));
}

double warmup_factor(int64_t step, int64_t warmup) {
  return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup));
}

class WarmupDecay : public Schedule {
 public:
  enum class Shape { Constant, Linear, Cosine };
  WarmupDecay(Shape shape, const WarmupDecayOptions& o, int64_t total)
      : shape_(shape), warmup_(warmup_of(o.warmup_steps, o.warmup_fraction, total)), total_(total),
        final_(o.final_lr_fraction) {}

  double factor(int64_t step) const override {
    if (step < warmup_) return warmup_factor(step, warmup_);
    if (shape_ == Shape::Constant) return 1.0;
    const double progress = std::min(
        1.0, static_cast<double>(step - warmup_) / static_cast<double>(std::max<int64_t>(1, total_ - warmup_)));
    const double decay = shape_ == Shape::Linear ? 1.0 - progress : 0.5 * (1.0 + std::cos(kPi * progress));
    return std::max(0.0, final_ + (1.0 - final_) * decay);
  }

 private:
  Shape shape_;
  int64_t warmup_, total_;
  double final_;
};

class Wsd : public Schedule {
 public:
  Wsd(const WsdOptions& o, int64_t total)
      : warmup_(warmup_of(o.warmup_steps, o.warmup_fraction, total)),
        decay_steps_(static_cast<int64_t>(std::llround(o.decay_fraction * static_cast<double>(total)))),
        stable_end_(std::max(warmup_, total - decay_steps_)), decay_(o.decay), final_(o.final_lr_fraction) {}

  double factor(int64_t step) const override {
    // As Hugging Face's get_wsd_schedule: warmup rises from final_lr_fraction, not from 0.
    if (step < warmup_) return final_ + (1.0 - final_) * warmup_factor(step, warmup_);
    if (step < stable_end_) return 1.0;
    const double p = std::min(1.0, static_cast<double>(step - stable_end_) /
                                       static_cast<double>(std::max<int64_t>(1, decay_steps_)));
    double f = 0;
    if (decay_ == "linear") f = 1.0 - p;
    else if (decay_ == "cosine") f = 0.5 * (1.0 + std::cos(kPi * p));
    else f = 1.0 - std::sqrt(p);
    return std::max(0.0, final_ + (1.0 - final_) * f);
  }

 private:
  int64_t warmup_, decay_steps_, stable_end_;
  std::string decay_;
  double final_;
};

class Piecewise : public Schedule {
 public:
  Piecewise(const PiecewiseOptions& o, int64_t total) : points_(o.points), total_(total) {}

  double factor(int64_t step) const override {
    const double x = static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, total_));
    if (x <= points_.front().first) return points_.front().second;
    for (size_t i = 1; i < points_.size(); ++i) {
      const auto& [x1, y1] = points_[i];
      if (x <= x1) {
        const auto& [x0, y0] = points_[i - 1];
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
      }
    }
    return points_.back().second;
  }

 private:
  std::vector<std::pair<double, double>> points_;
  int64_t total_;
};

void bind_warmup(config::Section& s, int64_t& steps, double& fraction) {
  s.opt("warmup_steps", steps, "linear warmup steps").min(0);
  s.opt("warmup_fraction", fraction, "warmup as a fraction of training (when warmup_steps is 0)").min(0.0).max(1.0);
}

ScheduleFactory warmup_decay_factory(WarmupDecay::Shape shape) {
  return [shape](config::Section& s) -> ScheduleBuilder {
    WarmupDecayOptions o;
    bind_warmup(s, o.warmup_steps, o.warmup_fraction);
    if (shape != WarmupDecay::Shape::Constant)
      s.opt("final_lr_fraction", o.final_lr_fraction, "multiplier at the end").min(0.0).max(1.0);
    s.finish();
    return [shape, o](int64_t total) { return std::make_unique<WarmupDecay>(shape, o, total); };
  };
}

ScheduleBuilder wsd_factory(config::Section& s) {
  WsdOptions o;
  bind_warmup(s, o.warmup_steps, o.warmup_fraction);
  s.opt("decay_fraction", o.decay_fraction, "last fraction of training spent decaying").min(0.0).max(1.0);
  s.opt("decay", o.decay, "decay shape").one_of({"linear", "cosine", "1-sqrt"});
  s.opt("final_lr_fraction", o.final_lr_fraction, "multiplier at the end").min(0.0).max(1.0);
  s.finish();
  return [o](int64_t total) { return std::make_unique<Wsd>(o, total); };
}

ScheduleBuilder piecewise_factory(config::Section& s) {
  PiecewiseOptions o;
  std::vector<std::vector<double>> raw;
  const bool ok = s.req("points", raw, "[[fraction, multiplier], ...] breakpoints").ok();
  s.finish();
  if (!ok) return nullptr;
  double last_x = -1.0;
  for (size_t i = 0; i < raw.size(); ++i) {
    const std::string at = "point " + std::to_string(i);
    if (raw[i].size() != 2) {
      s.problem("points", at + " must be [fraction, multiplier]");
      return nullptr;
    }
    const double x = raw[i][0], y = raw[i][1];
    if (x < 0.0 || x > 1.0) s.problem("points", at + ": fraction must lie in [0, 1]");
    if (x <= last_x) s.problem("points", at + ": fractions must increase strictly");
    if (y < 0.0) s.problem("points", at + ": multiplier must be >= 0");
    last_x = x;
    o.points.emplace_back(x, y);
  }
  if (o.points.size() < 2) s.problem("points", "needs at least 2 breakpoints");
  return [o](int64_t total) { return std::make_unique<Piecewise>(o, total); };
}

}  // namespace

std::unique_ptr<Schedule> make_constant(const WarmupDecayOptions& o, int64_t total) {
  return std::make_unique<WarmupDecay>(WarmupDecay::Shape::Constant, o, total);
}
std::unique_ptr<Schedule> make_linear(const WarmupDecayOptions& o, int64_t total) {
  return std::make_unique<WarmupDecay>(WarmupDecay::Shape::Linear, o, total);
}
std::unique_ptr<Schedule> make_cosine(const WarmupDecayOptions& o, int64_t total) {
  return std::make_unique<WarmupDecay>(WarmupDecay::Shape::Cosine, o, total);
}
std::unique_ptr<Schedule> make_wsd(const WsdOptions& o, int64_t total) { return std::make_unique<Wsd>(o, total); }
std::unique_ptr<Schedule> make_piecewise(const PiecewiseOptions& o, int64_t total) {
  return std::make_unique<Piecewise>(o, total);
}

Registry<ScheduleFactory>& schedules() {
  static Registry<ScheduleFactory> registry = [] {
    Registry<ScheduleFactory> r("schedule");
    r.add("constant", "linear warmup, then a constant learning rate", warmup_decay_factory(WarmupDecay::Shape::Constant));
    r.add("linear", "linear warmup, then linear decay to final_lr_fraction", warmup_decay_factory(WarmupDecay::Shape::Linear));
    r.add("cosine", "linear warmup, then cosine decay to final_lr_fraction", warmup_decay_factory(WarmupDecay::Shape::Cosine));
    r.add("wsd", "warmup-stable-decay (linear, cosine or 1-sqrt decay over the last steps)", wsd_factory);
    r.add("piecewise", "linear interpolation through [fraction, multiplier] breakpoints", piecewise_factory);
    return r;
  }();
  return registry;
}

ScheduleBuilder parse_schedule(config::Section s) {
  const auto* entry = config::component_entry(s, schedules(), "constant");
  if (!entry) {
    s.finish();
    return nullptr;
  }
  return entry->factory(s);
}

}  // namespace ptm::optim
