// ViT options (checks, recipe binding, config.json in and out) and weights in Hugging Face
// layouts: ViTForImageClassification prefixes the encoder with `vit.`; import accepts either.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "ptm/config/binder.h"
#include "ptm/core/errors.h"
#include "ptm/models/config_json.h"
#include "ptm/models/hf_contradictions.h"
#include "ptm/models/layer_sizes.h"
#include "ptm/models/vit.h"

namespace ptm::models {
namespace {

using config::value_text;

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }


const std::vector<std::string> kActs = {"gelu", "gelu_new", "gelu_pytorch_tanh", "relu"};
const std::vector<std::string> kHeads = {"classification", "none"};

bool is_head_tensor(const std::string& name) { return starts_with(name, "classifier."); }

}  // namespace

std::vector<std::pair<std::string, std::string>> ViTOptions::problems() const {
  std::vector<std::pair<std::string, std::string>> out;
  const auto at_least = [&](const std::string& key, int64_t v, int64_t lo) {
    if (v < lo) out.emplace_back(key, "must be >= " + value_text(lo) + ", got " + value_text(v));
  };
  const auto probability = [&](const std::string& key, double v) {
    if (v < 0.0 || v >= 1.0) out.emplace_back(key, "must be in [0, 1), got " + value_text(v));
  };
  const auto choice = [&](const std::string& key, const std::string& v, const std::vector<std::string>& choices) {
    if (std::find(choices.begin(), choices.end(), v) != choices.end()) return;
    std::string msg = "'" + v + "' is not one of: ";
    for (size_t i = 0; i < choices.size(); ++i) msg += (i ? ", " : "") + choices[i];
    out.emplace_back(key, msg + config::suggestion(v, choices));
  };
  at_least("image_size", image_size, 1);
  at_least("patch_size", patch_size, 1);
  if (image_size >= 1 && patch_size >= 1 && image_size % patch_size != 0)
    out.emplace_back("patch_size",
                     "must divide image_size (" + value_text(image_size) + "), got " + value_text(patch_size));
  at_least("num_channels", num_channels, 1);
  at_least("hidden_size", hidden_size, 1);
  at_least("num_hidden_layers", num_hidden_layers, 1);
  at_least("num_attention_heads", num_attention_heads, 1);
  if (head_size == 0 && hidden_size >= 1 && num_attention_heads >= 1 && hidden_size % num_attention_heads != 0)
    out.emplace_back("num_attention_heads", "must divide hidden_size (" + value_text(hidden_size) + "), got " +
                                                value_text(num_attention_heads));
  at_least("intermediate_size", intermediate_size, 1);
  at_least("head_size", head_size, 0);
  add_layer_size_problems(layer_heads, layer_inner, num_hidden_layers, "num_hidden_layers", out);
  choice("hidden_act", hidden_act, kActs);
  probability("hidden_dropout_prob", hidden_dropout_prob);
  probability("attention_probs_dropout_prob", attention_probs_dropout_prob);
  if (!(layer_norm_eps > 0.0)) out.emplace_back("layer_norm_eps", "must be > 0, got " + value_text(layer_norm_eps));
  choice("head", head, kHeads);
  at_least("num_labels", num_labels, 1);
  return out;
}

std::string ViTOptions::hf_architecture() const { return head == "none" ? "ViTModel" : "ViTForImageClassification"; }

ViTOptions ViTOptions::from_hf_config(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw IoError(source + ": not a JSON object");
  const auto model_type = json_value<std::string>(j, "model_type", "vit", source);
  if (model_type != "vit")
    throw IoError(source + ": model_type '" + model_type + "' is not a ViT config (expected vit)");
  ViTOptions o;
  o.image_size = json_value(j, "image_size", int64_t{224}, source);
  o.patch_size = json_value(j, "patch_size", int64_t{16}, source);
  o.num_channels = json_value(j, "num_channels", int64_t{3}, source);
  o.hidden_size = json_value(j, "hidden_size", o.hidden_size, source);
  o.num_hidden_layers = json_value(j, "num_hidden_layers", o.num_hidden_layers, source);
  o.num_attention_heads = json_value(j, "num_attention_heads", o.num_attention_heads, source);
  o.intermediate_size = json_value(j, "intermediate_size", o.intermediate_size, source);
  o.hidden_act = json_value(j, "hidden_act", o.hidden_act, source);
  o.hidden_dropout_prob = json_value(j, "hidden_dropout_prob", o.hidden_dropout_prob, source);
  o.attention_probs_dropout_prob =
      json_value(j, "attention_probs_dropout_prob", o.attention_probs_dropout_prob, source);
  o.layer_norm_eps = json_value(j, "layer_norm_eps", o.layer_norm_eps, source);
  o.qkv_bias = json_value(j, "qkv_bias", o.qkv_bias, source);
  if (json_value<int64_t>(j, "pooler_output_size", o.hidden_size, source) != o.hidden_size ||
      json_value<std::string>(j, "pooler_act", "tanh", source) != "tanh")
    throw IoError(source + ": only pooler_output_size = hidden_size and pooler_act tanh are supported");
  o.head = hf_architecture_of(j, "ViTModel") == "ViTForImageClassification" ? "classification" : "none";
  o.num_labels = hf_num_labels(j, 2, source);
  check_buildable(o.problems(), source, "a ViT");
  return o;
}

nlohmann::json ViTOptions::to_hf_config() const {
  const auto [heads, inner] = uniform_encoder_sizes(*this, "ViTConfig", "MLP");
  nlohmann::json j = {{"architectures", {hf_architecture()}},
                      {"model_type", "vit"},
                      {"image_size", image_size},
                      {"patch_size", patch_size},
                      {"num_channels", num_channels},
                      {"hidden_size", hidden_size},
                      {"num_hidden_layers", num_hidden_layers},
                      {"num_attention_heads", heads},
                      {"intermediate_size", inner},
                      {"hidden_act", hidden_act},
                      {"hidden_dropout_prob", hidden_dropout_prob},
                      {"attention_probs_dropout_prob", attention_probs_dropout_prob},
                      {"layer_norm_eps", layer_norm_eps},
                      {"qkv_bias", qkv_bias},
                      {"initializer_range", 0.02},
                      {"pooler_act", "tanh"},
                      {"pooler_output_size", hidden_size},
                      {"encoder_stride", patch_size}};
  if (head == "classification") {
    nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
    for (int64_t i = 0; i < num_labels; ++i) {
      id2label[std::to_string(i)] = "LABEL_" + std::to_string(i);
      label2id["LABEL_" + std::to_string(i)] = i;
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
  }
  return j;
}

void bind_vit(config::Section& s, ViTOptions& o) {
  std::vector<std::string> malformed;  // reported by the binder already
  const auto read = [&](const std::string& key, auto& value, const std::string& help) {
    if (!s.opt(key, value, help).ok()) malformed.push_back(key);
  };
  read("image_size", o.image_size, "input height = width in pixels");
  read("patch_size", o.patch_size, "patch height = width (must divide image_size)");
  read("num_channels", o.num_channels, "image channels (1 for grey images)");
  read("hidden_size", o.hidden_size, "model width H");
  read("num_hidden_layers", o.num_hidden_layers, "encoder layers L");
  read("num_attention_heads", o.num_attention_heads, "attention heads (must divide hidden_size)");
  read("intermediate_size", o.intermediate_size, "feed-forward width (usually 4H)");
  read("hidden_act", o.hidden_act, "gelu (exact) | gelu_new | gelu_pytorch_tanh | relu");
  read("hidden_dropout_prob", o.hidden_dropout_prob, "dropout on embeddings and block outputs");
  read("attention_probs_dropout_prob", o.attention_probs_dropout_prob, "dropout on attention probabilities");
  read("layer_norm_eps", o.layer_norm_eps, "LayerNorm epsilon");
  read("qkv_bias", o.qkv_bias, "biases on query/key/value");
  read("head", o.head, "classification (ViTForImageClassification) | none (ViTModel with pooler)");
  read("num_labels", o.num_labels, "classes of the classifier");
  // Written by ptm prune and ptm nas export; read only when present, so other runs' config.yaml
  // does not list them.
  const auto present = [&](const char* key) {
    if (s.node() && s.node()->find(key)) return true;
    s.allow(key);
    return false;
  };
  if (present("head_size")) read("head_size", o.head_size, "size of one attention head; 0 = hidden_size / num_attention_heads");
  if (present("layer_heads")) read("layer_heads", o.layer_heads, "attention heads of each layer (pruned models)");
  if (present("layer_inner")) read("layer_inner", o.layer_inner, "MLP width of each layer (pruned models)");
  s.finish();
  for (const auto& [key, what] : o.problems())
    if (std::find(malformed.begin(), malformed.end(), key) == malformed.end()) s.problem(key, what);
}

NamedTensors ViTImpl::hf_state_dict() const {
  const bool prefixed = o_.head != "none";
  NamedTensors out;
  for (const auto& p : named_parameters())
    out.emplace_back(prefixed && !is_head_tensor(p.key()) ? "vit." + p.key() : p.key(), p.value().detach());
  return out;
}

LoadReport ViTImpl::load_hf_state_dict(const NamedTensors& tensors, bool strict) {
  std::map<std::string, torch::Tensor> own;
  for (const auto& p : named_parameters()) own[p.key()] = p.value();
  const bool prefixed = o_.head != "none";
  LoadReport r;
  std::map<std::string, std::pair<std::string, torch::Tensor>> given;  // ptm name -> (checkpoint name, tensor)
  for (const auto& [name, t] : tensors) {
    const std::string n = starts_with(name, "vit.") ? name.substr(4) : name;
    if (n == "embeddings.mask_token") continue;                     // masked-image-modeling only
    if (pooler_.is_empty() && starts_with(n, "pooler.")) continue;  // transformers drops it too
    if (!given.emplace(n, std::make_pair(name, t)).second)
      r.unexpected.push_back(name + " (a second tensor for " + n + ")");
  }
  match_and_copy(own, given, strict, r,
                 [&](const std::string& name) { return prefixed && !is_head_tensor(name) ? "vit." + name : name; });
  return r;
}

std::shared_ptr<ViTImpl> load_hf_vit(const std::string& dir) {
  const std::string config_path = dir + "/config.json";
  std::ifstream in(config_path);
  if (!in) throw IoError(config_path + ": cannot be read (a Hugging Face ViT folder needs config.json)");
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw IoError(config_path + ": not valid JSON (" + e.what() + ")");
  }
  const auto options = ViTOptions::from_hf_config(config, config_path);
  auto model = std::make_shared<ViTImpl>(options);
  const LoadReport r = model->load_hf_state_dict(load_safetensors(dir), /*strict=*/true);
  if (!r.ok())
    throw IoError(dir + ": the weights do not fit the " + options.hf_architecture() + " that config.json describes:\n" +
                  hf_config_contradictions(config, config_path, r.mismatched) + r.str());
  model->eval();
  return model;
}

void save_hf_vit(const ViTImpl& model, const std::string& dir) { save_hf_folder(model, dir); }

}  // namespace ptm::models
