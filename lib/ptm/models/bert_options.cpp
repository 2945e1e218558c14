// BertOptions: consistency checks, the recipe binding, and config.json in and out.
#include "ptm/models/bert_options.h"

#include <algorithm>

#include "ptm/config/binder.h"
#include "ptm/core/errors.h"
#include "ptm/models/config_json.h"
#include "ptm/models/layer_sizes.h"
#include "ptm/models/bert.h"

namespace ptm::models {
namespace {

using config::value_text;

std::string choice_problem(const std::string& value, const std::vector<std::string>& choices) {
  std::string msg = "'" + value + "' is not one of: ";
  for (size_t i = 0; i < choices.size(); ++i) msg += (i ? ", " : "") + choices[i];
  return msg + config::suggestion(value, choices);
}


}  // namespace

int64_t bert_parameter_count(const BertOptions& o) {
  const int64_t H = o.hidden_size, norm = 2 * H;
  int64_t n = o.vocab_size * H + o.type_vocab_size * H + norm;  // embeddings
  if (o.position_embeddings) n += o.max_position_embeddings * H;
  for (int64_t l = 0; l < o.num_hidden_layers; ++l) {
    const int64_t A = o.heads_of(l) * o.head_dim(), I = o.inner_of(l);
    n += 3 * (H * A + A) + A * H + H + norm;  // query, key, value; attention.output
    n += H * I + I + I * H + H + norm;        // intermediate; output
  }
  if (o.has_pooler()) n += H * H + H;
  if (o.head.type == "mlm") n += H * H + H + norm + o.vocab_size;  // transform and bias; decoder tied
  else if (o.head.type != "none") n += H * o.head.num_labels + o.head.num_labels;
  return n;
}

const std::vector<std::string>& bert_head_types() {
  static const std::vector<std::string> heads{"none", "mlm", "classification", "token_classification", "regression"};
  return heads;
}

const std::vector<std::string>& bert_activations() {
  static const std::vector<std::string> acts{"gelu", "gelu_new", "gelu_pytorch_tanh", "relu"};
  return acts;
}

std::vector<std::pair<std::string, std::string>> BertOptions::problems() const {
  std::vector<std::pair<std::string, std::string>> out;
  const auto at_least = [&](const std::string& key, int64_t v, int64_t lo) {
    if (v < lo) out.emplace_back(key, "must be >= " + value_text(lo) + ", got " + value_text(v));
  };
  const auto probability = [&](const std::string& key, double v) {
    if (v < 0.0 || v >= 1.0) out.emplace_back(key, "must be in [0, 1), got " + value_text(v));
  };
  const auto choice = [&](const std::string& key, const std::string& v, const std::vector<std::string>& choices) {
    if (std::find(choices.begin(), choices.end(), v) == choices.end())
      out.emplace_back(key, choice_problem(v, choices));
  };
  at_least("vocab_size", vocab_size, 1);
  at_least("hidden_size", hidden_size, 1);
  at_least("num_hidden_layers", num_hidden_layers, 1);
  at_least("num_attention_heads", num_attention_heads, 1);
  if (head_size == 0 && hidden_size >= 1 && num_attention_heads >= 1 && hidden_size % num_attention_heads != 0)
    out.emplace_back("num_attention_heads", "must divide hidden_size (" + value_text(hidden_size) + "), got " +
                                                value_text(num_attention_heads));
  at_least("intermediate_size", intermediate_size, 1);
  at_least("head_size", head_size, 0);
  add_layer_size_problems(layer_heads, layer_inner, num_hidden_layers, "num_hidden_layers", out);
  at_least("max_position_embeddings", max_position_embeddings, 1);
  at_least("type_vocab_size", type_vocab_size, 1);
  if (!(layer_norm_eps > 0.0)) out.emplace_back("layer_norm_eps", "must be > 0, got " + value_text(layer_norm_eps));
  probability("hidden_dropout_prob", hidden_dropout_prob);
  probability("attention_probs_dropout_prob", attention_probs_dropout_prob);
  choice("hidden_act", hidden_act, bert_activations());
  if (pad_token_id < 0 || (vocab_size >= 1 && pad_token_id >= vocab_size))
    out.emplace_back("pad_token_id",
                     "must lie in [0, vocab_size " + value_text(vocab_size) + "), got " + value_text(pad_token_id));
  choice("head", head.type, bert_head_types());
  at_least("num_labels", head.num_labels, 1);
  if (head.classifier_dropout >= 1.0)
    out.emplace_back("classifier_dropout",
                     "must be < 1 (negative: hidden_dropout_prob), got " + value_text(head.classifier_dropout));
  return out;
}

std::string BertOptions::hf_architecture() const {
  if (head.type == "mlm") return "BertForMaskedLM";
  if (head.type == "classification" || head.type == "regression") return "BertForSequenceClassification";
  if (head.type == "token_classification") return "BertForTokenClassification";
  return "BertModel";
}

BertOptions BertOptions::from_hf_config(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw IoError(source + ": not a JSON object");
  const auto model_type = json_value<std::string>(j, "model_type", "bert", source);
  if (model_type != "bert")
    throw IoError(source + ": model_type '" + model_type + "' is not a BERT config (expected bert)");
  const auto positions = json_value<std::string>(j, "position_embedding_type", "absolute", source);
  if (positions != "absolute" && positions != "none")
    throw IoError(source + ": position_embedding_type '" + positions + "' is not supported (only absolute or none)");
  if (json_value<bool>(j, "is_decoder", false, source) || json_value<bool>(j, "add_cross_attention", false, source))
    throw IoError(source + ": decoder BERT (is_decoder / add_cross_attention) is not supported");
  BertOptions o;
  o.vocab_size = json_value(j, "vocab_size", o.vocab_size, source);
  o.hidden_size = json_value(j, "hidden_size", o.hidden_size, source);
  o.num_hidden_layers = json_value(j, "num_hidden_layers", o.num_hidden_layers, source);
  o.num_attention_heads = json_value(j, "num_attention_heads", o.num_attention_heads, source);
  o.intermediate_size = json_value(j, "intermediate_size", o.intermediate_size, source);
  o.max_position_embeddings = json_value(j, "max_position_embeddings", o.max_position_embeddings, source);
  o.type_vocab_size = json_value(j, "type_vocab_size", o.type_vocab_size, source);
  o.layer_norm_eps = json_value(j, "layer_norm_eps", o.layer_norm_eps, source);
  o.hidden_dropout_prob = json_value(j, "hidden_dropout_prob", o.hidden_dropout_prob, source);
  o.attention_probs_dropout_prob =
      json_value(j, "attention_probs_dropout_prob", o.attention_probs_dropout_prob, source);
  o.hidden_act = json_value(j, "hidden_act", o.hidden_act, source);
  o.pad_token_id = json_value(j, "pad_token_id", o.pad_token_id, source);
  o.position_embeddings = positions == "absolute";
  o.head.classifier_dropout = json_value(j, "classifier_dropout", o.head.classifier_dropout, source);

  const std::string arch = hf_architecture_of(j, "BertModel");
  const int64_t given_labels = hf_num_labels(j, 0, source);
  const bool regression = json_value<std::string>(j, "problem_type", "", source) == "regression" || given_labels == 1;
  if (arch == "BertForMaskedLM" || arch == "BertForPreTraining")
    o.head.type = "mlm";
  else if (arch == "BertForSequenceClassification")
    o.head.type = regression ? "regression" : "classification";
  else if (arch == "BertForTokenClassification")
    o.head.type = "token_classification";
  o.head.num_labels = given_labels > 0 ? given_labels : (o.head.type == "regression" ? 1 : 2);

  check_buildable(o.problems(), source, "a BERT model");
  return o;
}

nlohmann::json BertOptions::to_hf_config() const {
  const auto [heads, inner] = uniform_encoder_sizes(*this, "BertConfig", "FFN");
  nlohmann::json j = {{"architectures", {hf_architecture()}},
                      {"model_type", "bert"},
                      {"vocab_size", vocab_size},
                      {"hidden_size", hidden_size},
                      {"num_hidden_layers", num_hidden_layers},
                      {"num_attention_heads", heads},
                      {"intermediate_size", inner},
                      {"hidden_act", hidden_act},
                      {"hidden_dropout_prob", hidden_dropout_prob},
                      {"attention_probs_dropout_prob", attention_probs_dropout_prob},
                      {"max_position_embeddings", max_position_embeddings},
                      {"type_vocab_size", type_vocab_size},
                      {"layer_norm_eps", layer_norm_eps},
                      {"pad_token_id", pad_token_id},
                      {"position_embedding_type", position_embeddings ? "absolute" : "none"},
                      {"initializer_range", 0.02},
                      {"tie_word_embeddings", true},
                      {"classifier_dropout", nullptr}};
  if (head.classifier_dropout >= 0) j["classifier_dropout"] = head.classifier_dropout;
  if (head.type == "classification" || head.type == "token_classification" || head.type == "regression") {
    nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
    for (int64_t i = 0; i < head.num_labels; ++i) {
      id2label[std::to_string(i)] = "LABEL_" + std::to_string(i);
      label2id["LABEL_" + std::to_string(i)] = i;
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
    if (head.type == "regression") j["problem_type"] = "regression";
  }
  return j;
}

void bind_bert(config::Section& s, BertOptions& o) {
  std::vector<std::string> malformed;  // reported by the binder already
  const auto read = [&](const std::string& key, auto& value, const std::string& help) {
    if (!s.opt(key, value, help).ok()) malformed.push_back(key);
  };
  read("vocab_size", o.vocab_size, "vocabulary size (rows of the word embeddings)");
  read("hidden_size", o.hidden_size, "model width H");
  read("num_hidden_layers", o.num_hidden_layers, "encoder layers L");
  read("num_attention_heads", o.num_attention_heads, "attention heads (must divide hidden_size)");
  read("intermediate_size", o.intermediate_size, "feed-forward width (usually 4H)");
  read("max_position_embeddings", o.max_position_embeddings, "longest input in tokens");
  read("type_vocab_size", o.type_vocab_size, "token types (2: sentence pairs)");
  read("layer_norm_eps", o.layer_norm_eps, "LayerNorm epsilon");
  read("hidden_dropout_prob", o.hidden_dropout_prob, "dropout on embeddings and block outputs");
  read("attention_probs_dropout_prob", o.attention_probs_dropout_prob, "dropout on attention probabilities");
  read("hidden_act", o.hidden_act, "gelu (exact) | gelu_new | gelu_pytorch_tanh | relu");
  read("pad_token_id", o.pad_token_id, "padding token id (its embedding row starts at 0)");
  read("position_embeddings", o.position_embeddings, "learned absolute positions (false: none, for position prediction)");
  read("head", o.head.type, "task head: none | mlm | classification | token_classification | regression");
  if (o.head.type == "regression") o.head.num_labels = 1;  // the default for regression: logits [B]
  read("num_labels", o.head.num_labels, "classes (regression: outputs)");
  read("classifier_dropout", o.head.classifier_dropout, "dropout before the classifier; < 0: hidden_dropout_prob");
  // Written by ptm prune and ptm nas export; read only when present, so other runs' config.yaml
  // does not list them.
  const auto present = [&](const char* key) {
    if (s.node() && s.node()->find(key)) return true;
    s.allow(key);
    return false;
  };
  if (present("head_size")) read("head_size", o.head_size, "size of one attention head; 0 = hidden_size / num_attention_heads");
  if (present("layer_heads")) read("layer_heads", o.layer_heads, "attention heads of each layer (pruned models)");
  if (present("layer_inner")) read("layer_inner", o.layer_inner, "FFN width of each layer (pruned models)");
  s.finish();
  for (const auto& [key, what] : o.problems())
    if (std::find(malformed.begin(), malformed.end(), key) == malformed.end()) s.problem(key, what);
}

}  // namespace ptm::models
