// Options of the BERT-style encoder and its head, their consistency checks, and the mapping to
// and from a Hugging Face BERT config.json. Keys are config.json's names, so a recipe's
// `model:` section and config.json read alike.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ptm::models {

struct BertHeadOptions {
  std::string type = "none";       // none | mlm | classification | token_classification | regression
  int64_t num_labels = 2;          // classes (outputs for regression, where 1 gives logits [B])
  double classifier_dropout = -1;  // dropout before the classifier; < 0: hidden_dropout_prob
};

struct BertOptions {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  std::string hidden_act = "gelu";  // gelu (exact, erf) | gelu_new / gelu_pytorch_tanh (tanh) | relu
  int64_t pad_token_id = 0;
  bool position_embeddings = true;  // false: no position embeddings (position prediction pretraining)
  BertHeadOptions head;
  // Sizes that differ from the uniform ones, as a structurally pruned model or an exported
  // sub-network has them (ptm prune, ptm nas export): the size of one head (0 = hidden_size /
  // num_attention_heads), and per-layer head counts and FFN widths (empty = num_attention_heads
  // and intermediate_size in every layer).
  int64_t head_size = 0;
  std::vector<int64_t> layer_heads, layer_inner;

  int64_t head_dim() const { return head_size > 0 ? head_size : hidden_size / num_attention_heads; }
  int64_t heads_of(int64_t layer) const { return layer_heads.empty() ? num_attention_heads : layer_heads[layer]; }
  int64_t inner_of(int64_t layer) const { return layer_inner.empty() ? intermediate_size : layer_inner[layer]; }
  double effective_classifier_dropout() const {
    return head.classifier_dropout < 0 ? hidden_dropout_prob : head.classifier_dropout;
  }
  // The pooler exists where transformers builds one: BertModel and sequence classification.
  bool has_pooler() const { return head.type == "none" || head.type == "classification" || head.type == "regression"; }

  // (key, message) for every out-of-range or inconsistent field; empty when usable.
  std::vector<std::pair<std::string, std::string>> problems() const;

  // From a BERT config.json (missing keys take transformers' defaults; the head follows
  // `architectures`). IoError naming `source` and the key for what ptm cannot represent.
  static BertOptions from_hf_config(const nlohmann::json& config, const std::string& source = "config.json");
  // config.json for the matching transformers class (model_type bert, architectures per head).
  // Per-layer sizes are written as the uniform ones when every layer has the same and the heads
  // are hidden_size / heads wide (what BertConfig can say); otherwise ConfigError naming the
  // key (model.layer_heads, model.layer_inner) and why.
  nlohmann::json to_hf_config() const;
  // BertModel, BertForMaskedLM, BertForSequenceClassification or BertForTokenClassification.
  std::string hf_architecture() const;
};

// Parameters of a BERT with these options, without building it.
int64_t bert_parameter_count(const BertOptions& o);

const std::vector<std::string>& bert_head_types();   // the values of `head`
const std::vector<std::string>& bert_activations();  // the values of `hidden_act`

}  // namespace ptm::models
