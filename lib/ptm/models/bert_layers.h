// The blocks of the BERT encoder, registered under Hugging Face BertModel's names:
//   embeddings.{word_embeddings, position_embeddings, token_type_embeddings, LayerNorm}
//   encoder.layer.{i}.attention.self.{query, key, value}, .attention.output.{dense, LayerNorm},
//   .intermediate.dense, .output.{dense, LayerNorm}
//   pooler.dense;  cls.predictions.{transform.dense, transform.LayerNorm, bias} (MLM head).
// Post-LayerNorm residual blocks; attention through at::scaled_dot_product_attention, or an
// explicit softmax when the probabilities are wanted (distillation). Layers take their own
// sizes (BertOptions::heads_of, inner_of: pruned models), and run elastic sub-networks (ptm
// nas): the first heads and FFN neurons of a layer as slices of its weights, or none of it.
#pragma once
#include <torch/torch.h>

#include <array>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ptm/models/bert_options.h"
#include "ptm/models/linear.h"

namespace ptm::models {

// hidden_act applied to x: exact (erf) GELU, tanh GELU or ReLU.
torch::Tensor bert_activation(const std::string& act, const torch::Tensor& x);

class BertEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit BertEmbeddingsImpl(const BertOptions& o);
  // input_ids, token_type_ids [B, T] -> [B, T, H]; `word_delta` [B, T, H], when defined, is
  // added to the word embeddings (adversarial training on text).
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                        const torch::Tensor& word_delta = {});
  const torch::Tensor& word_weight() const { return word_embeddings_->weight; }  // [V, H]

 private:
  torch::nn::Embedding word_embeddings_{nullptr}, position_embeddings_{nullptr}, token_type_embeddings_{nullptr};
  torch::nn::LayerNorm layer_norm_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(BertEmbeddings);

class BertSelfAttentionImpl : public torch::nn::Module {
 public:
  // `heads` heads of o.head_dim(): query, key and value are [heads * head_dim, hidden_size].
  BertSelfAttentionImpl(const BertOptions& o, int64_t heads);
  // x [B, T, H] -> [B, T, A] (A = heads x head_dim, H unless pruned); keep [B, 1, 1, T] bool
  // (true = attend) or undefined (attend everywhere). With `probs`, the explicit path runs and
  // stores the softmax [B, heads, T, T] (before dropout); `qkv` receives the query, key and
  // value projections [B, T, A] (distillation relations).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& keep, torch::Tensor* probs = nullptr,
                        std::array<torch::Tensor, 3>* qkv = nullptr);

  // Prefix tuning (set by ptm::peft): learned key and value prefixes [P, A] each, put before
  // every example's keys and values and always attended to (probs then [B, heads, T, P + T]).
  std::function<std::pair<torch::Tensor, torch::Tensor>()> prefix;
  // Elastic sub-network: only the first `active_heads` heads run (rows of query, key and value);
  // 0 = all.
  int64_t active_heads = 0;

 private:
  Linear query_{nullptr}, key_{nullptr}, value_{nullptr};
  int64_t heads_, head_dim_;
  double dropout_p_;
};
TORCH_MODULE(BertSelfAttention);

// dense (in -> H), dropout, residual add, LayerNorm: BertSelfOutput and BertOutput alike.
class BertResidualOutputImpl : public torch::nn::Module {
 public:
  BertResidualOutputImpl(int64_t in_features, const BertOptions& o);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);  // [B, T, in], [B, T, H] -> [B, T, H]
  // Elastic sub-network: x holds only the first `active_in` input features; 0 = all.
  int64_t active_in = 0;

 private:
  Linear dense_{nullptr};
  torch::nn::LayerNorm layer_norm_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(BertResidualOutput);

class BertLayerImpl : public torch::nn::Module {
 public:
  // Layer `layer` of the encoder, with that layer's head count and FFN width.
  BertLayerImpl(const BertOptions& o, int64_t layer);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& keep, torch::Tensor* probs = nullptr,
                        std::array<torch::Tensor, 3>* qkv = nullptr);  // [B, T, H]
  // Elastic sub-network: the first `heads` heads and `inner` FFN neurons run (0, 0: all).
  void set_active(int64_t heads, int64_t inner);

 private:
  std::string act_;
  int64_t head_dim_, inner_, active_inner_ = 0;
  BertSelfAttention self_{nullptr};               // attention.self
  BertResidualOutput attention_output_{nullptr};  // attention.output
  Linear intermediate_{nullptr};                 // intermediate.dense
  BertResidualOutput output_{nullptr};            // output
};
TORCH_MODULE(BertLayer);

class BertEncoderImpl : public torch::nn::Module {
 public:
  explicit BertEncoderImpl(const BertOptions& o);
  // x [B, T, H] -> [B, T, H]; appends every layer's output to `hidden` and its attention
  // probabilities to `attentions` and its {query, key, value} projections to `qkv` when those are non-null.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& keep, std::vector<torch::Tensor>* hidden,
                        std::vector<torch::Tensor>* attentions,
                        std::vector<std::array<torch::Tensor, 3>>* qkv = nullptr);
  size_t size() const { return layer_->size(); }
  const torch::nn::ModuleList& layers() const { return layer_; }
  // Elastic depth: layers marked true are skipped (the hidden states pass through unchanged and
  // no entry is appended for them); empty = none.
  std::vector<bool> skipped;
  // Activation checkpointing of each layer while training (not when attentions or projections
  // are asked for).
  bool checkpointing = false;

 private:
  torch::nn::ModuleList layer_{nullptr};
};
TORCH_MODULE(BertEncoder);

class BertPoolerImpl : public torch::nn::Module {
 public:
  explicit BertPoolerImpl(const BertOptions& o);
  torch::Tensor forward(const torch::Tensor& x);  // [B, T, H] -> tanh(dense(x[:, 0])) [B, H]

 private:
  Linear dense_{nullptr};
};
TORCH_MODULE(BertPooler);

// cls.predictions: transform (dense, act, LayerNorm), then the word embeddings as decoder + bias.
class BertLMPredictionHeadImpl : public torch::nn::Module {
 public:
  explicit BertLMPredictionHeadImpl(const BertOptions& o);
  // x [B, T, H], word embeddings [V, H] -> logits [B, T, V]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& word_weight);

 private:
  std::string act_;
  Linear dense_{nullptr};
  torch::nn::LayerNorm layer_norm_{nullptr};
  torch::Tensor bias_;  // [V]
};
TORCH_MODULE(BertLMPredictionHead);

// Transformers' initialisation of every submodule of m: weights N(0, std), biases 0, LayerNorm 1/0,
// the padding row 0, the MLM bias 0.
void init_bert_weights(torch::nn::Module& m, double std = 0.02);

}  // namespace ptm::models
