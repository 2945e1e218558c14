// A small MLP (registry name `mlp`) for tests and quick experiments: images are flattened,
// token inputs are embedded and mean-pooled over the attention mask; the head gives class
// logits [B, C] (or next-token logits [B, T, V] with `lm: true`, position-wise).
#pragma once
#include "ptm/models/model.h"

namespace ptm::models {

struct MlpOptions {
  int64_t in_features = 784;  // flattened image size (ignored when vocab_size > 0)
  int64_t vocab_size = 0;     // > 0: token inputs through an embedding of `hidden` dims
  int64_t hidden = 128;
  int64_t layers = 2;         // hidden layers
  int64_t num_classes = 10;   // outputs (the vocabulary size for lm)
  bool lm = false;            // position-wise next-token logits instead of pooled classes
  double dropout = 0.0;
};

class MlpImpl : public ModelImpl {
 public:
  explicit MlpImpl(const MlpOptions& o);
  ModelOutput forward(const data::Batch& batch, const ForwardOptions& options = {}) override;
  std::string arch() const override { return "mlp"; }
  double forward_flops(int64_t seq_len) const override;
  std::vector<BlockSummary> summary(int64_t seq_len) const override;
  nlohmann::json hf_config() const override;

 private:
  MlpOptions o_;
  torch::nn::Embedding embed_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  torch::nn::Linear head_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};

ModelFactory mlp_factory();

}  // namespace ptm::models
