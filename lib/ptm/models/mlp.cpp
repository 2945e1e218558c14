// MLP forward, FLOPs and binding.
#include "ptm/models/mlp.h"

namespace ptm::models {

MlpImpl::MlpImpl(const MlpOptions& o) : o_(o) {
  int64_t width = o.in_features;
  if (o.vocab_size > 0) {
    embed_ = register_module("embed", torch::nn::Embedding(o.vocab_size, o.hidden));
    width = o.hidden;
  }
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers; ++i) {
    layers_->push_back(torch::nn::Linear(width, o.hidden));
    width = o.hidden;
  }
  head_ = register_module("head", torch::nn::Linear(width, o.num_classes));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
}

ModelOutput MlpImpl::forward(const data::Batch& batch, const ForwardOptions& options) {
  torch::Tensor x;
  if (o_.vocab_size > 0) {
    x = embed_->forward(batch.input_ids);  // [B, T, H]
    if (!o_.lm) {
      const auto mask = batch.attention_mask.defined() ? batch.attention_mask.unsqueeze(-1).to(x.dtype())
                                                       : torch::ones_like(x.select(-1, 0)).unsqueeze(-1);
      x = (x * mask).sum(1) / mask.sum(1).clamp_min(1.0);  // [B, H]
    }
  } else {
    x = batch.images.flatten(1);  // [B, C*H*W]
  }
  ModelOutput out;
  if (options.output_hidden_states) out.hidden_states.push_back(x);
  for (const auto& layer : *layers_) {
    x = dropout_->forward(torch::relu(layer->as<torch::nn::Linear>()->forward(x)));
    if (options.output_hidden_states) out.hidden_states.push_back(x);
  }
  out.last_hidden = x;
  out.logits = head_->forward(x);
  return out;
}

double MlpImpl::forward_flops(int64_t seq_len) const {
  double macs = 0;
  for (const auto& p : named_parameters())
    if (p.value().dim() == 2 && p.key().rfind("embed", 0) != 0) macs += p.value().numel();
  return 2.0 * macs * (o_.vocab_size > 0 && o_.lm ? seq_len : 1);
}

std::vector<BlockSummary> MlpImpl::summary(int64_t seq_len) const {
  std::vector<BlockSummary> out;
  const double per = o_.vocab_size > 0 && o_.lm ? seq_len : 1;
  if (embed_) out.push_back({"embed", embed_->weight.numel(), 0});
  for (size_t i = 0; i < layers_->size(); ++i) {
    const auto& w = layers_->ptr(i)->as<torch::nn::Linear>()->weight;
    out.push_back({"layers." + std::to_string(i), w.numel() + w.size(0), 2.0 * w.numel() * per});
  }
  out.push_back({"head", head_->weight.numel() + head_->bias.numel(), 2.0 * head_->weight.numel() * per});
  return out;
}

nlohmann::json MlpImpl::hf_config() const {
  return {{"model_type", "ptm_mlp"}, {"in_features", o_.in_features}, {"vocab_size", o_.vocab_size},
          {"hidden", o_.hidden}, {"layers", o_.layers}, {"num_classes", o_.num_classes}, {"lm", o_.lm}};
}

ModelFactory mlp_factory() {
  return [](config::Section& s) -> ModelBuilder {
    MlpOptions o;
    s.opt("in_features", o.in_features, "flattened input size").min(1);
    s.opt("vocab_size", o.vocab_size, "token inputs when > 0").min(0);
    s.opt("hidden", o.hidden, "hidden width").min(1);
    s.opt("layers", o.layers, "hidden layers").min(0);
    s.opt("num_classes", o.num_classes, "outputs").min(1);
    s.opt("lm", o.lm, "next-token logits per position");
    s.opt("dropout", o.dropout, "dropout").min(0.0).max(1.0);
    s.finish();
    return [o] { return std::make_shared<MlpImpl>(o); };
  };
}

}  // namespace ptm::models
