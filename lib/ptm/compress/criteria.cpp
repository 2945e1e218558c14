// The registered pruning criteria.
#include "ptm/compress/criteria.h"

#include <ATen/CPUGeneratorImpl.h>

#include "ptm/core/errors.h"

namespace ptm::compress {
namespace {

class Magnitude : public Criterion {
 public:
  torch::Tensor scores(const torch::Tensor& w, const LayerStats&) override {
    return w.detach().abs().to(torch::kFloat);
  }
};

// W^2: the same order as |W| for single weights; summed over a unit it ranks units by their L2 norm.
class MagnitudeL2 : public Criterion {
 public:
  torch::Tensor scores(const torch::Tensor& w, const LayerStats&) override {
    return w.detach().to(torch::kFloat).pow(2);
  }
};

// Each layer draws from its own stream, seed + k for the k-th layer scored: the same run, the same masks.
class Random : public Criterion {
 public:
  explicit Random(uint64_t seed) : seed_(seed) {}
  torch::Tensor scores(const torch::Tensor& w, const LayerStats&) override {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed_ + calls_++);
    return torch::rand(w.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat)).to(w.device());
  }

 private:
  uint64_t seed_;
  uint64_t calls_ = 0;
};

class Wanda : public Criterion {
 public:
  bool needs_activations() const override { return true; }
  torch::Tensor scores(const torch::Tensor& w, const LayerStats& s) override {
    if (!s.input_sq.defined()) throw RuntimeError("wanda: no calibration activations were gathered for a layer");
    return w.detach().abs().to(torch::kFloat) * s.input_sq.to(torch::kFloat).sqrt().unsqueeze(0);  // [out, in]
  }
};

class Taylor : public Criterion {
 public:
  bool needs_gradients() const override { return true; }
  torch::Tensor scores(const torch::Tensor& w, const LayerStats& s) override {
    if (!s.grad.defined() || s.batches == 0)
      throw RuntimeError("taylor: no calibration gradients were gathered for a layer");
    return (w.detach().to(torch::kFloat) * s.grad.to(torch::kFloat) / static_cast<double>(s.batches)).abs();
  }
};

Registry<CriterionFactory> make_registry() {
  Registry<CriterionFactory> r("criteria");
  r.add("magnitude", "|W|: weights of small magnitude go (no data)",
        [](uint64_t) { return std::make_unique<Magnitude>(); });
  r.add("magnitude_l2", "W^2: as magnitude for single weights; heads and neurons ranked by their L2 norm (no data)",
        [](uint64_t) { return std::make_unique<MagnitudeL2>(); });
  r.add("random", "uniform random scores, seeded by run.seed: the baseline (no data)",
        [](uint64_t seed) { return std::make_unique<Random>(seed); });
  r.add("wanda", "|W| x ||X||_2 of each input feature over the calibration batches (Sun et al. 2023)",
        [](uint64_t) { return std::make_unique<Wanda>(); });
  r.add("taylor", "first-order Taylor |W x dL/dW|, the gradient averaged over the calibration batches",
        [](uint64_t) { return std::make_unique<Taylor>(); });
  return r;
}

}  // namespace

Registry<CriterionFactory>& criteria() {
  static Registry<CriterionFactory> r = make_registry();
  return r;
}

bool data_driven(const std::string& name) {
  const auto* e = criteria().find(name);
  if (!e) return false;
  const auto c = e->factory(0);
  return c->needs_activations() || c->needs_gradients();
}

}  // namespace ptm::compress
