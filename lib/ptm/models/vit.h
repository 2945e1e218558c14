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

#include "ptm/models/elastic.h"
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
  // Sizes that differ from the uniform ones, as a structurally pruned model or an exported
  // sub-network has them (ptm prune, ptm nas export): the size of one head (0 = hidden_size /
  // num_attention_heads), per-layer head counts and MLP widths (empty = the uniform ones).
  int64_t head_size = 0;
  std::vector<int64_t> layer_heads, layer_inner;

  int64_t num_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
  int64_t head_dim() const { return head_size > 0 ? head_size : hidden_size / num_attention_heads; }
  int64_t heads_of(int64_t layer) const { return layer_heads.empty() ? num_attention_heads : layer_heads[layer]; }
  int64_t inner_of(int64_t layer) const { return layer_inner.empty() ? intermediate_size : layer_inner[layer]; }
  std::vector<std::pair<std::string, std::string>> problems() const;  // (key, message)
  // From a ViT config.json (missing keys: transformers' defaults; head from `architectures`).
  static ViTOptions from_hf_config(const nlohmann::json& config, const std::string& source = "config.json");
  // Per-layer sizes are written as the uniform ones when every layer has the same and heads
  // are hidden_size / heads wide (what ViTConfig can say); otherwise ConfigError naming the key.
  nlohmann::json to_hf_config() const;
  std::string hf_architecture() const;  // ViTForImageClassification or ViTModel
};

// Parameters of a ViT with these options, without building it.
int64_t vit_parameter_count(const ViTOptions& o);

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
  ViTLayerImpl(const ViTOptions& o, int64_t layer);  // layer: its per-layer sizes
  // [B, T, H] -> [B, T, H]; `attention` (when not null) receives the probabilities [B, heads, T, T]
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attention = nullptr);
  // Elastic sub-network: only the first `heads` heads and `inner` MLP neurons run (slices of
  // the weights); 0 = all.
  void set_active(int64_t heads, int64_t inner);

 private:
  ViTOptions o_;
  int64_t heads_, inner_, active_heads_ = 0, active_inner_ = 0;
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
  //   patch embedding 2*N*C*P^2*H; per layer 8*T*H*A + 4*T^2*A + 4*T*H*I (A = heads x head size);
  //   pooler 2*H^2 (none) or classifier 2*H*labels. LayerNorm, softmax and GELU are not counted.
  double forward_flops(int64_t seq_len) const override;
  std::vector<BlockSummary> summary(int64_t seq_len) const override;
  nlohmann::json hf_config() const override { return o_.to_hf_config(); }
  NamedTensors hf_state_dict() const override;
  // Accepts names with or without `vit.`; ignores a pooler the model lacks and mask_token.
  LoadReport load_hf_state_dict(const NamedTensors& tensors, bool strict = true) override;
  const ViTOptions& options() const { return o_; }
  // Elastic sub-network (ptm nas): every later forward runs per layer the first `heads` heads
  // and `inner` MLP neurons, with both 0 skipped; empty = the whole model. RuntimeError
  // (check_subnet) for sizes outside the model's.
  void set_subnet(const Subnet& subnet);
  const Subnet& subnet() const { return subnet_; }

 private:
  ViTOptions o_;
  Subnet subnet_;
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
