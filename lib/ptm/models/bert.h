// The BERT-style encoder (registry name `bert`): Hugging Face `BertModel` architecture and
// names (post-LayerNorm, learned positions, token types, exact erf GELU, pooler), with an
// optional head: MLM (tied to the word embeddings), sequence classification (pairs through
// token_type_ids), token classification or regression. Covers MiniLM, BERT-base and the
// compact grid (configs/models/). Weights in and out in the layout of the matching
// `transformers` class (head models prefix the encoder with `bert.`).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ptm/models/bert_layers.h"
#include "ptm/models/elastic.h"
#include "ptm/models/model.h"

namespace ptm::models {

class BertImpl : public ModelImpl {
 public:
  explicit BertImpl(const BertOptions& o);  // ConfigError when the options are inconsistent

  // input_ids [B, T]; attention_mask [B, T] (absent: all real); token_type_ids [B, T] (absent: 0).
  ModelOutput forward(const data::Batch& batch, const ForwardOptions& options = {}) override;
  // forward() that also hands out every layer's {query, key, value} projections [B, T, H]
  // (before the head split, without a prefix) for MiniLM relation distillation.
  ModelOutput forward_qkv(const data::Batch& batch, const ForwardOptions& options,
                          std::vector<std::array<torch::Tensor, 3>>* qkv);
  std::string arch() const override { return "bert"; }
  int64_t vocab_size() const override { return o_.vocab_size; }
  int64_t max_positions() const override { return o_.max_position_embeddings; }
  // FLOPs = 2 x MACs per example of T tokens (H hidden, A = heads x head size (H unless pruned),
  // I intermediate, V vocab, C labels; A and I of each layer):
  //   per layer  8*T*H*A (Q, K, V, output projections) + 4*T^2*A (scores and mixing) + 4*T*H*I (FFN)
  //   pooler     2*H^2;  heads: MLM 2*T*H^2 + 2*T*H*V, classification/regression 2*H*C,
  //   token classification 2*T*H*C. Embedding lookups, LayerNorm, softmax and GELU are not counted.
  double forward_flops(int64_t seq_len) const override;
  std::vector<BlockSummary> summary(int64_t seq_len) const override;
  torch::Tensor head_logits(const torch::Tensor& hidden) override;
  bool set_activation_checkpointing(bool on) override {
    encoder_->checkpointing = on;
    return true;
  }
  torch::Tensor input_embedding() const override { return embeddings_->word_weight(); }  // the MLM head; undefined for other heads
  nlohmann::json hf_config() const override;  // config.json of the matching transformers class
  NamedTensors hf_state_dict() const override;
  // Accepts BertModel names with or without `bert.`, legacy gamma/beta, and ignores the
  // position_ids/token_type_ids buffers, the tied MLM decoder and a pooler the model lacks.
  LoadReport load_hf_state_dict(const NamedTensors& tensors, bool strict = true) override;

  const BertOptions& options() const { return o_; }
  // Elastic sub-network (elastic.h): per layer the first heads and FFN neurons in use, a layer
  // with both 0 skipped; empty = the whole model. RuntimeError (check_subnet) for sizes outside
  // the model's.
  void set_subnet(const Subnet& subnet);
  const Subnet& subnet() const { return subnet_; }
  bool has_pooler() const { return !pooler_.is_empty(); }
  // The transformers class of this head: BertModel, BertForMaskedLM, ...
  std::string hf_architecture() const;
  // Whether a tensor (ptm name) belongs to the task head rather than the encoder.
  static bool is_head_tensor(const std::string& name);

 private:
  BertOptions o_;
  Subnet subnet_;
  BertEmbeddings embeddings_{nullptr};
  BertEncoder encoder_{nullptr};
  BertPooler pooler_{nullptr};             // none, classification, regression
  BertLMPredictionHead mlm_{nullptr};      // cls.predictions
  Linear classifier_{nullptr};             // classification, token_classification, regression
  torch::nn::Dropout classifier_dropout_{nullptr};
};
TORCH_MODULE(Bert);

// Reads the `model:` keys of type bert with range and consistency checks on each key.
void bind_bert(config::Section& s, BertOptions& o);
ModelFactory bert_factory();

// Loads a Hugging Face BERT directory (config.json + model.safetensors or a sharded index).
// `head` replaces the head that config.json's architectures name. The encoder must match
// exactly: every missing, unexpected or mis-shaped tensor is an IoError naming the tensor and
// both shapes. Head tensors may be missing (they keep their fresh initialisation) or left
// over (a checkpoint with another head); they are listed in `report`. Returned in eval mode.
std::shared_ptr<ModelImpl> load_hf_bert(const std::string& dir,
                                        const std::optional<BertHeadOptions>& head = std::nullopt,
                                        LoadReport* report = nullptr);

// Writes `model`'s config.json and model.safetensors into `dir` (created) for from_pretrained.
void save_hf_bert(const BertImpl& model, const std::string& dir);

}  // namespace ptm::models
