// classification, token_classification and regression.
#include "ptm/objectives/supervised.h"

#include "ptm/core/errors.h"

namespace ptm::objectives {
namespace {

namespace F = torch::nn::functional;
constexpr int64_t kIgnore = -100;

torch::Tensor count_of(int64_t n, const torch::Tensor& like) {
  return torch::scalar_tensor(n, torch::TensorOptions().dtype(torch::kInt64).device(like.device()));
}

void check_logits(const models::ModelOutput& out, const char* objective, int64_t dims) {
  if (!out.logits.defined() || out.logits.dim() != dims)
    throw ConfigError(Origin{}, "objective.type",
                      std::string(objective) + " needs a model head that outputs " +
                          (dims == 2 ? "[batch, classes]" : dims == 3 ? "[batch, tokens, classes]" : "[batch]") +
                          " logits; set the model's head accordingly");
}

// Sequence, pair or image classification: cross entropy of logits [B,C] against labels [B].
class Classification : public Objective {
 public:
  LossParts compute(const models::ModelOutput& out, const data::Batch& b) const override {
    check_logits(out, "classification", 2);
    LossParts p;
    const auto logits = out.logits.to(torch::kFloat32);  // [B, C]
    p.loss_sum = F::cross_entropy(logits, b.labels, F::CrossEntropyFuncOptions().reduction(torch::kSum));
    p.targets = count_targets(b);
    const auto predicted = logits.argmax(-1);
    p.sums["accuracy"] = (predicted == b.labels).sum();
    if (logits.size(1) > 5) {
      const auto top5 = std::get<1>(logits.topk(5, -1));  // [B, 5]
      p.sums["top5_accuracy"] = (top5 == b.labels.unsqueeze(1)).any(1).sum();
    }
    p.predictions = predicted;
    p.references = b.labels;
    p.probabilities = logits.softmax(-1);
    return p;
  }
  torch::Tensor count_targets(const data::Batch& b) const override { return count_of(b.labels.size(0), b.labels); }
  std::string name() const override { return "classification"; }
  std::vector<std::string> metric_names() const override {
    return {"accuracy", "top5_accuracy", "macro_f1", "mcc", "precision", "recall", "f1"};
  }
};

// Per-token classes: logits [B,T,C] against labels [B,T]; -100 marks positions to skip.
class TokenClassification : public Objective {
 public:
  LossParts compute(const models::ModelOutput& out, const data::Batch& b) const override {
    check_logits(out, "token_classification", 3);
    LossParts p;
    const auto logits = out.logits.to(torch::kFloat32).flatten(0, 1);  // [B*T, C]
    const auto labels = b.labels.flatten();                            // [B*T]
    p.loss_sum = F::cross_entropy(logits, labels,
                                  F::CrossEntropyFuncOptions().ignore_index(kIgnore).reduction(torch::kSum));
    p.targets = count_targets(b);
    const auto keep = labels != kIgnore;
    const auto predicted = logits.argmax(-1);
    p.sums["accuracy"] = ((predicted == labels) & keep).sum();
    p.predictions = predicted.masked_select(keep);
    p.references = labels.masked_select(keep);
    return p;
  }
  torch::Tensor count_targets(const data::Batch& b) const override { return (b.labels != kIgnore).sum(); }
  std::string name() const override { return "token_classification"; }
  std::vector<std::string> metric_names() const override { return {"accuracy", "macro_f1", "mcc", "precision", "recall", "f1"}; }
};

// Real-valued targets: squared error of predictions [B] (or [B,1]) against labels [B].
class Regression : public Objective {
 public:
  LossParts compute(const models::ModelOutput& out, const data::Batch& b) const override {
    if (!out.logits.defined()) check_logits(out, "regression", 1);
    LossParts p;
    const auto predicted = out.logits.to(torch::kFloat32).reshape({-1});  // [B]
    const auto gold = b.labels.to(torch::kFloat32).reshape({-1});
    if (predicted.size(0) != gold.size(0))
      throw ConfigError(Origin{}, "objective.type", "regression needs one output per example; set the model head to regression");
    p.loss_sum = (predicted - gold).pow(2).sum();
    p.targets = count_targets(b);
    p.predictions = predicted;
    p.references = gold;
    return p;
  }
  torch::Tensor count_targets(const data::Batch& b) const override { return count_of(b.labels.size(0), b.labels); }
  std::string name() const override { return "regression"; }
  std::vector<std::string> metric_names() const override { return {"mse", "pearson", "spearman"}; }
};

template <class T>
ObjectiveFactory simple() {
  return [](config::Section& s) -> ObjectiveBuilder {
    s.finish();
    return [] { return std::make_unique<T>(); };
  };
}

}  // namespace

void register_supervised(Registry<ObjectiveFactory>& r) {
  r.add("classification",
        "cross entropy on class labels; reports accuracy, macro-F1, MCC (binary: precision, recall), top-5",
        simple<Classification>());
  r.add("token_classification", "per-token cross entropy (labels -100 skipped); reports accuracy, macro-F1, MCC",
        simple<TokenClassification>());
  r.add("regression", "mean squared error on real-valued labels; reports MSE, Pearson, Spearman",
        simple<Regression>());
}

}  // namespace ptm::objectives
