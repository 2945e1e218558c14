// The model zoo's common interface (registry "models"). Every model is a LibTorch module
// whose registered submodule names are its checkpoint format: Hugging Face names (BertModel,
// GPT2Model, ViTModel) or torchvision names (ResNet), so weights map one to one.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/config/binder.h"
#include "ptm/core/registry.h"
#include "ptm/data/dataset.h"
#include "ptm/models/safetensors.h"

namespace ptm::models {

struct ForwardOptions {
  bool output_hidden_states = false;  // fill ModelOutput::hidden_states
  bool output_attentions = false;     // fill ModelOutput::attentions (explicit softmax path, for distillation)
  // false: models whose head is token-wise (LM, MLM) leave ModelOutput::logits undefined, for
  // losses that apply it themselves through head_logits() or output_embedding(): to the rows
  // that have targets only, or fused with the loss.
  bool compute_logits = true;
  // [B, T, H] added to the word embeddings (models with an input_embedding()): adversarial
  // perturbations of text in embedding space.
  torch::Tensor embedding_delta;
};

struct ModelOutput {
  torch::Tensor logits;       // head output: LM/MLM [B,T,V], sequence classes [B,C], token classes [B,T,C],
                              // regression [B], image classes [B,C]; undefined for head "none"
  torch::Tensor last_hidden;  // final hidden states [B,T,H] (images: [B,N,H] or pooled features)
  torch::Tensor pooled;       // [B,H] pooler / CLS / global-average output, when the model has one
  std::vector<torch::Tensor> hidden_states;  // embeddings output, then every layer's output
  std::vector<torch::Tensor> attentions;     // every layer's attention probabilities [B,heads,T,T]
};

// One row of `ptm info --model`: a block's parameters and forward FLOPs per example.
struct BlockSummary {
  std::string name;
  int64_t params = 0;
  double flops = 0;  // 2 x multiply-accumulates, per example
};

// What loading a state dict found wrong; empty lists mean a perfect match.
struct LoadReport {
  std::vector<std::string> missing;     // model tensors absent from the checkpoint
  std::vector<std::string> unexpected;  // checkpoint tensors the model does not have
  std::vector<std::string> mismatched;  // "name: checkpoint [a, b] vs model [c, d]"
  int64_t model_values = 0, loaded_values = 0;  // elements of the model's tensors, and of those loaded
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::string str() const;  // one line per problem
};

// Checkpoint tensors already renamed to the model's names: model name -> (name in the
// checkpoint, tensor).
using RenamedTensors = std::map<std::string, std::pair<std::string, torch::Tensor>>;

// The one matching step every load_hf_state_dict ends with: records missing (shown through
// `shown_name` when given), unexpected and mis-shaped tensors in `report`, then copies the
// matching tensors into `own` unless `strict` and the report is not ok.
void match_and_copy(std::map<std::string, torch::Tensor>& own, const RenamedTensors& given, bool strict,
                    LoadReport& report, const std::function<std::string(const std::string&)>& shown_name = nullptr);

class ModelImpl : public torch::nn::Module {
 public:
  virtual ModelOutput forward(const data::Batch& batch, const ForwardOptions& options = {}) = 0;
  virtual std::string arch() const = 0;  // "gpt", "bert", "vit", "resnet", "mlp"
  // The token ids the model embeds and the longest input its positions cover (0: no such
  // limit, e.g. images or rotary positions); data are checked against them before training.
  virtual int64_t vocab_size() const { return 0; }
  virtual int64_t max_positions() const { return 0; }
  // Analytic forward FLOPs per example for inputs of `seq_len` tokens (ignored by image models).
  virtual double forward_flops(int64_t seq_len) const = 0;
  virtual std::vector<BlockSummary> summary(int64_t seq_len) const = 0;
  // The output layer's weight [V, H] when the head is exactly logits = last_hidden W^T (a
  // bias-free linear map, no hooks); undefined otherwise. Losses may then fuse the head.
  virtual torch::Tensor output_embedding() const { return {}; }
  // The word embedding table [V, H] of token models that honour ForwardOptions::embedding_delta;
  // undefined otherwise.
  virtual torch::Tensor input_embedding() const { return {}; }
  // The token-wise head (LM, MLM) applied to hidden rows [M, H] -> logits [M, V]; undefined for
  // models without one. forward() with compute_logits = false skips exactly this step.
  virtual torch::Tensor head_logits(const torch::Tensor& hidden) {
    (void)hidden;
    return {};
  }
  // Activation checkpointing of the transformer blocks (train.activation_checkpointing): each
  // block's activations are recomputed in the backward pass (activation_checkpoint.h). Models
  // that support it (gpt, bert) return true; the others false.
  virtual bool set_activation_checkpointing(bool on) { return !on; }
  // config.json for export (loads with transformers' from_pretrained / torchvision).
  virtual nlohmann::json hf_config() const = 0;
  // The state dict in the exported naming; default: parameters and persistent buffers as named.
  virtual NamedTensors hf_state_dict() const;
  // Copies tensors in the exported naming into the model; maps legacy names (gamma/beta),
  // transposes GPT-2 Conv1D weights, etc. Nothing is copied unless the report is ok() or
  // `strict` is false (then matching tensors are copied and the rest reported).
  virtual LoadReport load_hf_state_dict(const NamedTensors& tensors, bool strict = true);
};

int64_t count_parameters(const torch::nn::Module& m, bool trainable_only = false);

// Writes `dir`/config.json (hf_config) and `dir`/model.safetensors (hf_state_dict): the folder
// `from_pretrained` reads. Creates `dir`; IoError naming the file on failure.
void save_hf_folder(const ModelImpl& model, const std::string& dir);

using ModelBuilder = std::function<std::shared_ptr<ModelImpl>()>;
using ModelFactory = std::function<ModelBuilder(config::Section&)>;

Registry<ModelFactory>& model_registry();

// Reads a `model:` section (type required). Null builder + recorded problems on error.
ModelBuilder parse_model(config::Section s);

}  // namespace ptm::models
