// The Vision Transformer (registry name `vit`): Hugging Face `ViTModel` architecture and
// checkpoint names (patch embedding as a strided Conv2d, CLS token, learned positions, pre-
// LayerNorm blocks, exact GELU, SDPA attention, final LayerNorm), with head `classification`
// (ViTForImageClassification: `classifier` on the CLS token; the encoder exported under `vit.`)
// or `none` (ViTModel with its tanh pooler). Options use config.json's names.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ptm/models/linear.h"
#include "ptm/models/model.h"

namespace ptm::models {

struct ViTOptions {
  int64_t image_size = 224;
  int64_t patch_size = 16;
  int64_t num_channels = 3;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";  // gelu (exact) | gelu_new / gelu_pytorch_tanh | relu
  double hidden_dropout_prob = 0.0;
  double attention_probs_dropout_prob = 0.0;
  double layer_norm_eps = 1e-12;
  bool qkv_bias = true;
  std::string head = "classification";  // classification (ViTForImageClassification) | none (ViTModel)
  int64_t num_labels = 1000;

  int64_t num_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  std::vector<std::pair<std::string, std::string>> problems() const;  // (key, message)
  // From a ViT config.json (missing keys: transformers' defaults; head from `architectures`).
  static ViTOptions from_hf_config(const nlohmann::json& config, const std::string& source = "config.json");
  nlohmann::json to_hf_config() const;
  std::string hf_architecture() const;  // ViTForImageClassification or ViTModel
};

// cls_token [1, 1, H], position_embeddings [1, N+1, H], patch_embeddings.projection (Conv2d).
class ViTEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ViTEmbeddingsImpl(const ViTOptions& o);
  torch::Tensor forward(const torch::Tensor& images);  // [B, C, S, S] -> [B, N+1, H]

  torch::Tensor cls_token, position_embeddings;
  torch::nn::Conv2d projection{nullptr};

 private:
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(ViTEmbeddings);

// x + attention(layernorm_before(x)), then h + output(act(intermediate(layernorm_after(h)))).
class ViTLayerImpl : public torch::nn::Module {
 public:
  explicit ViTLayerImpl(const ViTOptions& o);
  // [B, T, H] -> [B, T, H]; `attention` (when not null) receives the probabilities [B, heads, T, T]
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attention = nullptr);

 private:
  ViTOptions o_;
  torch::nn::LayerNorm layernorm_before_{nullptr}, layernorm_after_{nullptr};
  Linear query_{nullptr}, key_{nullptr}, value_{nullptr}, attn_out_{nullptr};
  Linear intermediate_{nullptr}, output_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(ViTLayer);

class ViTImpl : public ModelImpl {
 public:
  explicit ViTImpl(const ViTOptions& o);  // ConfigError when the options are inconsistent

  // images [B, C, S, S] -> last_hidden [B, N+1, H]; pooled [B, H] (classification: the
  // normalised CLS token, none: the tanh pooler); logits [B, num_labels] (classification).
  ModelOutput forward(const data::Batch& batch, const ForwardOptions& options = {}) override;
  std::string arch() const override { return "vit"; }
  // FLOPs = 2 x MACs per image (N patches, T = N+1 tokens, P patch, C channels):
  //   patch embedding 2*N*C*P^2*H; per layer 8*T*H^2 + 4*T^2*H + 4*T*H*I;
  //   pooler 2*H^2 (none) or classifier 2*H*labels. LayerNorm, softmax and GELU are not counted.
  double forward_flops(int64_t seq_len) const override;
  std::vector<BlockSummary> summary(int64_t seq_len) const override;
  nlohmann::json hf_config() const override { return o_.to_hf_config(); }
  NamedTensors hf_state_dict() const override;
  // Accepts names with or without `vit.`; ignores a pooler the model lacks and mask_token.
  LoadReport load_hf_state_dict(const NamedTensors& tensors, bool strict = true) override;
  const ViTOptions& options() const { return o_; }

 private:
  ViTOptions o_;
  ViTEmbeddings embeddings_{nullptr};
  torch::nn::ModuleList layers_{nullptr};  // encoder.layer
  torch::nn::LayerNorm layernorm_{nullptr};
  Linear pooler_{nullptr};                 // pooler.dense (head none)
  Linear classifier_{nullptr};             // head classification
};
TORCH_MODULE(ViT);

void bind_vit(config::Section& s, ViTOptions& o);
ModelFactory vit_factory();

// A Hugging Face ViT folder (config.json + safetensors); every missing, unexpected or
// mis-shaped tensor is an IoError naming it and both shapes. Returned in eval mode.
std::shared_ptr<ViTImpl> load_hf_vit(const std::string& dir);
// config.json + model.safetensors that transformers' from_pretrained loads.
void save_hf_vit(const ViTImpl& model, const std::string& dir);

}  // namespace ptm::models
