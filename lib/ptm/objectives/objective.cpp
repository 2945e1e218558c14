// The causal_lm objective and the registry of every objective.
#include "ptm/objectives/objective.h"

#include "ptm/config/component.h"
#include "ptm/distill/distill.h"
#include "ptm/objectives/denoising.h"
#include "ptm/objectives/linear_cross_entropy.h"
#include "ptm/objectives/adversarial.h"
#include "ptm/objectives/supervised.h"

namespace ptm::objectives {
namespace {

constexpr int64_t kIgnore = -100;  // targets to skip (padding), as in PyTorch and HF

// Next-token prediction: cross entropy of logits [B,T,V] against targets [B,T]. With `fused`
// (the default) and a model whose head is a plain linear map (GPT), the head and the loss run
// as one chunked operation that never holds the [B*T, V] logits (linear_cross_entropy.h).
class CausalLm : public Objective {
 public:
  explicit CausalLm(const LinearCrossEntropyOptions& fused, bool use_fused) : fused_(fused), use_fused_(use_fused) {
    fused_.ignore_index = kIgnore;
  }
  LossParts loss(models::ModelImpl& model, const data::Batch& b, bool training) override {
    (void)training;
    const auto head = use_fused_ ? model.output_embedding() : torch::Tensor();
    if (!head.defined()) return compute(model.forward(b), b);
    models::ForwardOptions options;
    options.compute_logits = false;
    const auto out = model.forward(b, options);
    LossParts p;
    p.loss_sum = linear_cross_entropy_sum(out.last_hidden.flatten(0, 1), head, b.targets.flatten(), fused_);
    p.targets = count_targets(b);
    return p;
  }
  LossParts compute(const models::ModelOutput& out, const data::Batch& b) const override {
    const auto logits = out.logits.flatten(0, 1);  // [B*T, V]
    const auto targets = b.targets.flatten();
    LossParts p;
    p.loss_sum = torch::nn::functional::cross_entropy(
        logits.to(torch::kFloat32), targets,
        torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnore).reduction(torch::kSum));
    p.targets = count_targets(b);
    return p;
  }
  torch::Tensor count_targets(const data::Batch& b) const override { return (b.targets != kIgnore).sum(); }
  std::string name() const override { return "causal_lm"; }
  bool language_model() const override { return true; }

 private:
  LinearCrossEntropyOptions fused_;
  bool use_fused_;
};

ObjectiveFactory causal_lm_factory() {
  return [](config::Section& s) -> ObjectiveBuilder {
    bool fused = true;
    LinearCrossEntropyOptions o;
    s.opt("fused", fused, "fuse the LM head with the loss, in chunks of rows (no full [tokens, vocab] logits)");
    s.opt("chunk_rows", o.chunk_rows, "rows per chunk of the fused loss (0: ~4M logits and at least 512 rows on CPU, ~256M logits on CUDA)").min(0);
    s.finish();
    return [o, fused] { return std::make_unique<CausalLm>(o, fused); };
  };
}

}  // namespace

Registry<ObjectiveFactory>& objectives() {
  static Registry<ObjectiveFactory> registry = [] {
    Registry<ObjectiveFactory> r("objective");
    r.add("causal_lm", "next-token cross entropy (targets -100 ignored; fused, chunked LM head); reports perplexity",
        causal_lm_factory());
    register_supervised(r);
    register_adversarial(r);
    r.add("distill", "frozen-teacher KD: logits (KL/JS) + CE, hidden states, MiniLM relations", distill::distill_factory());
    r.add("denoising", "corruption engine: masked LM, spans, n-grams, whole words, prefix LM, UL2 mixtures (configs/objectives/)",
          denoising_factory());
    r.add("electra", "replaced-token detection: generator MLM + lambda x discriminator (model type electra)",
          electra_factory());
    r.add("position_prediction", "classify each token's position (bert without position embeddings)",
          position_prediction_factory());
    return r;
  }();
  return registry;
}

ObjectiveBuilder parse_objective(config::Section s, const std::string& default_type) {
  const auto* entry = config::component_entry(s, objectives(), default_type);
  if (!entry) {
    s.finish();
    return nullptr;
  }
  return entry->factory(s);
}

std::unique_ptr<Objective> make(const std::string& type) {
  config::BindContext ctx;
  const auto builder = parse_objective(config::Section(ctx, nullptr, "objective", Origin{}), type);
  ctx.throw_if_any();
  return builder();
}

}  // namespace ptm::objectives
