// ELECTRA's objective: mask, generate, replace, discriminate.
#include "ptm/objectives/electra_objective.h"

#include "ptm/core/errors.h"

namespace ptm::objectives {
namespace {
namespace F = torch::nn::functional;
}

ElectraObjective::ElectraObjective(const ElectraObjectiveOptions& o) : o_(o), masking_(o.masking) {}

void ElectraObjective::attach(models::ModelImpl& model, const torch::Device& device) {
  (void)device;
  if (!dynamic_cast<models::ElectraImpl*>(&model))
    throw ConfigError(Origin{}, "objective.type", "electra needs model type electra (generator + discriminator), got " +
                                                      model.arch());
}

ElectraStep ElectraObjective::step(models::ElectraImpl& model, const data::Batch& batch, bool training) {
  ElectraStep s;
  s.masked = masking_.prepared(batch, training);
  s.original = batch.input_ids.to(torch::kLong);
  s.real = batch.attention_mask.defined() ? batch.attention_mask.to(torch::kBool)
                                          : torch::ones_like(s.original, torch::kBool);
  // Only masked positions have targets; the generator's head scores those rows alone.
  s.masked_rows = (s.masked.targets.flatten() != kIgnoreIndex).nonzero().flatten();  // [M]
  s.generator_logits = model.generator_logits(s.masked, s.masked_rows);               // [M, V]
  {
    torch::NoGradGuard no_grad;
    // Gumbel-max sampling from the generator at the masked positions.
    const auto& where = s.masked_rows;
    const auto logits = s.generator_logits.detach().to(torch::kFloat32) / o_.temperature;  // [M, V]
    torch::Tensor u;
    if (training) {
      u = torch::rand(logits.sizes(), logits.options());
    } else {
      auto gen = at::detail::createCPUGenerator(batch_seed(o_.masking.eval_seed + 1, batch.input_ids));
      u = torch::rand(logits.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat32)).to(logits.device());
    }
    const auto gumbel = -torch::log(-torch::log(u.clamp(1e-9, 1.0 - 1e-7)));
    const auto sampled = (logits + gumbel).argmax(-1);  // [M]
    s.replaced_input = s.original.flatten().index_copy(0, where, sampled).view_as(s.original);
  }
  s.labels = ((s.replaced_input != s.original) & s.real).to(torch::kFloat32);
  data::Batch disc = batch;
  disc.input_ids = s.replaced_input;
  s.disc_logits = model.forward(disc).logits;  // [B, T]
  return s;
}

LossParts ElectraObjective::score(const ElectraStep& s) const {
  LossParts p;
  const auto targets = s.masked.targets.flatten().index_select(0, s.masked_rows);  // [M], none ignored
  const auto logits = s.generator_logits.to(torch::kFloat32);                      // [M, V]
  const auto mlm = F::cross_entropy(logits, targets, F::CrossEntropyFuncOptions().reduction(torch::kSum));
  const auto real = s.real.to(torch::kFloat32);
  const auto disc = (F::binary_cross_entropy_with_logits(s.disc_logits.to(torch::kFloat32), s.labels,
                                                         F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone)) *
                     real).sum();
  const auto n_masked = torch::full({}, targets.size(0), targets.options());
  // Per masked token: mean MLM loss + lambda x mean discriminator loss over real tokens.
  const auto scale = n_masked.to(torch::kFloat32) / real.sum().clamp_min(1.0);
  p.loss_sum = mlm + o_.discriminator_weight * disc * scale;
  p.targets = n_masked;
  p.sums["mlm_accuracy"] = (logits.argmax(-1) == targets).sum();
  p.sums["generator_loss"] = mlm.detach();
  p.sums["discriminator_loss"] = (disc * scale).detach();
  const auto correct = (((s.disc_logits > 0).to(torch::kFloat32) == s.labels).to(torch::kFloat32) * real).sum();
  p.sums["discriminator_accuracy"] = correct * scale;
  p.sums["replaced_fraction"] = (s.labels * real).sum() * scale;
  return p;
}

LossParts ElectraObjective::loss(models::ModelImpl& model, const data::Batch& batch, bool training) {
  return score(step(static_cast<models::ElectraImpl&>(model), batch, training));
}

LossParts ElectraObjective::compute(const models::ModelOutput& out, const data::Batch& batch) const {
  (void)out;
  (void)batch;
  throw RuntimeError("electra: the loss needs the generator; call loss()");
}

torch::Tensor ElectraObjective::count_targets(const data::Batch& batch) const {
  return masking_.count_targets(batch);
}

ObjectiveFactory electra_factory() {
  return [](config::Section& s) -> ObjectiveBuilder {
    ElectraObjectiveOptions o;
    s.opt("discriminator_weight", o.discriminator_weight, "lambda: weight of the discriminator loss").min(0.0);
    s.opt("temperature", o.temperature, "generator sampling temperature").above(0.0);
    bind_denoising(s, o.masking);
    if (o.masking.denoisers.size() > 1 || (!o.masking.denoisers.empty() && o.masking.denoisers[0].corruption.mode != "masked"))
      s.problem("mode", "electra masks tokens (mode masked, no denoisers list)");
    return [o] { return std::make_unique<ElectraObjective>(o); };
  };
}

}  // namespace ptm::objectives
