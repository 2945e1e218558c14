// PGD-K adversarial training and robust evaluation for image classifiers.
#include "ptm/objectives/adversarial.h"

#include "ptm/core/errors.h"

namespace ptm::objectives {
namespace {

namespace F = torch::nn::functional;

// Per-example L2 norms of [B, ...] as [B, 1, 1, ...] for broadcasting.
torch::Tensor l2_norms(const torch::Tensor& t) {
  std::vector<int64_t> shape(static_cast<size_t>(t.dim()), 1);
  shape[0] = t.size(0);
  return t.flatten(1).norm(2, 1).clamp_min(1e-12).view(shape);
}

torch::Tensor project(const torch::Tensor& delta, const PgdOptions& o) {
  if (o.norm == "linf") return delta.clamp(-o.epsilon, o.epsilon);
  return delta * (o.epsilon / l2_norms(delta)).clamp_max(1.0);
}

class Adversarial : public Objective {
 public:
  explicit Adversarial(PgdOptions o) : o_(std::move(o)), clean_(make("classification")) {}

  void attach(models::ModelImpl& model, const torch::Device& device) override { clean_->attach(model, device); }

  LossParts loss(models::ModelImpl& model, const data::Batch& batch, bool training) override {
    if (!batch.images.defined())
      throw ConfigError(Origin{}, "objective.type", "adversarial perturbs images: the data set must yield images");
    if (!training) return evaluate(model, batch);
    auto adv = batch;
    adv.images = (batch.images + pgd_perturbation(model, batch, o_, o_.steps)).detach();
    LossParts parts = clean_->compute(model.forward(adv), adv);
    parts.sums["adversarial_accuracy"] = parts.sums["accuracy"];
    if (o_.adv_weight < 1.0) {
      const LossParts clean = clean_->compute(model.forward(batch), batch);
      parts.loss_sum = (1.0 - o_.adv_weight) * clean.loss_sum + o_.adv_weight * parts.loss_sum;
      parts.sums["accuracy"] = clean.sums.at("accuracy");
    }
    return parts;
  }

  LossParts compute(const models::ModelOutput& out, const data::Batch& batch) const override {
    return clean_->compute(out, batch);
  }
  torch::Tensor count_targets(const data::Batch& batch) const override { return clean_->count_targets(batch); }
  std::string name() const override { return "adversarial"; }
  std::vector<std::string> metric_names() const override {
    auto names = clean_->metric_names();
    names.push_back("robust_accuracy");
    return names;
  }

 private:
  // Clean metrics, plus accuracy under a fixed-seed PGD attack (comparable across evaluations).
  LossParts evaluate(models::ModelImpl& model, const data::Batch& batch) {
    LossParts parts = clean_->compute(model.forward(batch), batch);
    if (o_.eval_steps > 0) {
      auto gen = at::detail::createCPUGenerator(1234 + static_cast<uint64_t>(eval_batches_++));
      auto adv = batch;
      adv.images = batch.images + pgd_perturbation(model, batch, o_, o_.eval_steps, gen);
      torch::NoGradGuard no_grad;
      const auto logits = model.forward(adv).logits;
      parts.sums["robust_accuracy"] = (logits.argmax(-1) == batch.labels).sum();
    }
    return parts;
  }

  PgdOptions o_;
  std::unique_ptr<Objective> clean_;
  int64_t eval_batches_ = 0;
};

}  // namespace

torch::Tensor pgd_perturbation(models::ModelImpl& model, const data::Batch& batch, const PgdOptions& o, int64_t steps,
                               torch::Generator gen) {
  const auto& x = batch.images;
  torch::Tensor delta = torch::zeros_like(x);
  if (o.random_start) {
    // Uniform in the L-inf cube; for L2, a random direction scaled into the ball.
    const auto u = torch::rand(x.sizes(), gen, x.options().device(torch::kCPU)).to(x.device());
    delta = (2 * u - 1) * o.epsilon;
    if (o.norm == "l2") delta = project(delta, o);
  }
  const bool was_training = model.is_training();
  model.eval();
  torch::AutoGradMode grad_on(true);
  for (int64_t k = 0; k < steps; ++k) {
    delta.requires_grad_(true);
    auto adv = batch;
    adv.images = x.detach() + delta;
    const auto logits = model.forward(adv).logits.to(torch::kFloat32);
    const auto loss = F::cross_entropy(logits, batch.labels, F::CrossEntropyFuncOptions().reduction(torch::kSum));
    const auto g = torch::autograd::grad({loss}, {delta})[0];
    torch::NoGradGuard no_grad;
    delta = o.norm == "linf" ? delta + o.step_size * g.sign() : delta + o.step_size * g / l2_norms(g);
    delta = project(delta, o).detach();
  }
  model.train(was_training);
  return delta.detach();
}

void register_adversarial(Registry<ObjectiveFactory>& r) {
  r.add("adversarial",
        "classification on PGD-K adversarial images (epsilon, step_size, steps, norm linf|l2, adv_weight); "
        "reports robust_accuracy",
        [](config::Section& s) -> ObjectiveBuilder {
          PgdOptions o;
          s.opt("epsilon", o.epsilon, "perturbation radius in normalised input units").above(0.0);
          s.opt("step_size", o.step_size, "PGD step size").above(0.0);
          s.opt("steps", o.steps, "PGD steps per training batch").min(1);
          s.opt("eval_steps", o.eval_steps, "PGD steps for robust_accuracy in evaluations (0 = off)").min(0);
          s.opt("random_start", o.random_start, "start from a random point in the ball");
          s.opt("norm", o.norm, "ball").one_of({"linf", "l2"});
          s.opt("adv_weight", o.adv_weight, "weight of the adversarial loss (the rest: clean)").min(0.0).max(1.0);
          s.finish();
          return [o] { return std::make_unique<Adversarial>(o); };
        });
}

}  // namespace ptm::objectives
