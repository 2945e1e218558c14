// PGD-K adversarial training and robust evaluation for image and text classifiers.
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

bool perturbs_images(const data::Batch& batch) { return batch.images.defined(); }

// The model on the batch with `delta` added to its images or to its word embeddings.
models::ModelOutput perturbed_forward(models::ModelImpl& model, const data::Batch& batch, const torch::Tensor& delta) {
  if (perturbs_images(batch)) {
    auto adv = batch;
    adv.images = batch.images.detach() + delta;
    return model.forward(adv);
  }
  models::ForwardOptions options;
  options.embedding_delta = delta;
  return model.forward(batch, options);
}

// Zeros shaped like the perturbation, and the mask of what may change (undefined: all of it).
std::pair<torch::Tensor, torch::Tensor> perturbation_space(models::ModelImpl& model, const data::Batch& batch) {
  if (perturbs_images(batch)) return {torch::zeros_like(batch.images), torch::Tensor()};
  const auto table = model.input_embedding();  // [V, H]
  if (!batch.input_ids.defined() || !table.defined())
    throw ConfigError(Origin{}, "objective.type",
                      "adversarial perturbs images, or the word embeddings of a bert or gpt model: this data set "
                      "or model (" + model.arch() + ") has neither");
  const auto zeros = torch::zeros({batch.input_ids.size(0), batch.input_ids.size(1), table.size(1)},
                                  table.options().dtype(torch::kFloat32));
  if (!batch.attention_mask.defined()) return {zeros, torch::Tensor()};
  return {zeros, batch.attention_mask.to(torch::kFloat32).unsqueeze(2)};  // padding stays as it is
}

class Adversarial : public Objective {
 public:
  explicit Adversarial(PgdOptions o) : o_(std::move(o)), clean_(make("classification")) {}

  void attach(models::ModelImpl& model, const torch::Device& device) override { clean_->attach(model, device); }

  LossParts loss(models::ModelImpl& model, const data::Batch& batch, bool training) override {
    if (!training) return evaluate(model, batch);
    const auto delta = pgd_perturbation(model, batch, o_, o_.steps);
    LossParts parts = clean_->compute(perturbed_forward(model, batch, delta), batch);
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
      const auto delta = pgd_perturbation(model, batch, o_, o_.eval_steps, gen);
      torch::NoGradGuard no_grad;
      const auto logits = perturbed_forward(model, batch, delta).logits;
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
  auto [delta, mask] = perturbation_space(model, batch);
  const auto keep = [&](const torch::Tensor& d) { return mask.defined() ? d * mask : d; };
  if (o.random_start) {
    // Uniform in the L-inf cube; for L2, a random direction scaled into the ball.
    const auto u = torch::rand(delta.sizes(), gen, delta.options().device(torch::kCPU)).to(delta.device());
    delta = keep((2 * u - 1) * o.epsilon);
    if (o.norm == "l2") delta = project(delta, o);
  }
  const bool was_training = model.is_training();
  model.eval();
  torch::AutoGradMode grad_on(true);
  for (int64_t k = 0; k < steps; ++k) {
    delta.requires_grad_(true);
    const auto logits = perturbed_forward(model, batch, delta).logits.to(torch::kFloat32);
    const auto loss = F::cross_entropy(logits, batch.labels, F::CrossEntropyFuncOptions().reduction(torch::kSum));
    const auto g = keep(torch::autograd::grad({loss}, {delta})[0]);
    torch::NoGradGuard no_grad;
    delta = o.norm == "linf" ? delta + o.step_size * g.sign() : delta + o.step_size * g / l2_norms(g);
    delta = project(delta, o).detach();
  }
  model.train(was_training);
  return delta.detach();
}

void register_adversarial(Registry<ObjectiveFactory>& r) {
  r.add("adversarial",
        "classification on PGD-K adversarial images or word embeddings (epsilon, step_size, steps, norm linf|l2, "
        "adv_weight); "
        "reports robust_accuracy",
        [](config::Section& s) -> ObjectiveBuilder {
          PgdOptions o;
          s.opt("epsilon", o.epsilon, "ball radius (images: normalised pixel units; text: embedding units)").above(0.0);
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
