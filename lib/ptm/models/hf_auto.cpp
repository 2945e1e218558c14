// Picking the model of a Hugging Face folder from its config.json (hf_auto.h).
#include "ptm/models/hf_auto.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <functional>
#include <set>

#include "ptm/core/errors.h"
#include "ptm/models/bert.h"
#include "ptm/models/config_json.h"
#include "ptm/models/gpt.h"
#include "ptm/models/gpt_bind.h"
#include "ptm/models/gpt_llama.h"
#include "ptm/models/resnet.h"
#include "ptm/models/vit.h"

namespace ptm::models {
namespace {

struct Known {
  const char* family;
  const char* model_type;
};

const std::map<std::string, Known>& architectures() {
  static const std::map<std::string, Known> m = {
      {"GPT2LMHeadModel", {"gpt", "gpt2"}},
      {"LlamaForCausalLM", {"gpt", "llama"}},
      {"MistralForCausalLM", {"gpt", "mistral"}},
      {"BertModel", {"bert", "bert"}},
      {"BertForMaskedLM", {"bert", "bert"}},
      {"BertForPreTraining", {"bert", "bert"}},
      {"BertForSequenceClassification", {"bert", "bert"}},
      {"BertForTokenClassification", {"bert", "bert"}},
      {"ViTModel", {"vit", "vit"}},
      {"ViTForImageClassification", {"vit", "vit"}},
  };
  return m;
}

const std::map<std::string, std::string>& model_types() {
  static const std::map<std::string, std::string> m = {{"gpt2", "gpt"},    {"llama", "gpt"},
                                                       {"mistral", "gpt"}, {"bert", "bert"},
                                                       {"vit", "vit"},     {"torchvision_resnet", "resnet"}};
  return m;
}

template <class Map>
std::string list_keys(const Map& m) {
  std::string s;
  for (const auto& [k, v] : m) s += (s.empty() ? "" : ", ") + k;
  return s;
}

GptOptions gpt_options(const nlohmann::json& config, const std::string& path) {
  const auto type = json_value<std::string>(config, "model_type", "gpt2", path);
  if (type == "llama" || type == "mistral") return llama_options_from_hf(config, path);
  try {
    return GptOptions::from_hf_config(config);
  } catch (const IoError& e) {
    throw IoError(path + ": " + e.what());
  }
}

// A size or layout that the weights of a config.json fix: the recipe's key, config.json's
// key, and the effective value (per-layer sizes spelled out, so a pruned run's layer_heads
// equal to an export's uniform heads are the same; one number when every layer has it).
template <class O>
struct Fixed {
  std::string key, hf_key;
  std::function<std::string(const O&)> value;
};

template <class O>
std::string per_layer(const O& o, int64_t layers, int64_t (O::*of)(int64_t) const) {
  std::string s;
  bool uniform = true;
  for (int64_t l = 0; l < layers; ++l) {
    s += (l ? "," : "") + std::to_string((o.*of)(l));
    uniform = uniform && (o.*of)(l) == (o.*of)(0);
  }
  return uniform && layers > 0 ? std::to_string((o.*of)(0)) : s;
}

std::string text(int64_t v) { return std::to_string(v); }
std::string text(bool v) { return v ? "true" : "false"; }

// Binds `s` over the options config.json gives; each fixed value the recipe changes is a
// problem on its key (keys the recipe does not give change only through one that it does).
template <class O>
bool overlay(config::Section& s, O& o, const std::vector<Fixed<O>>& fixed, const std::string& path,
             const std::function<void(config::Section&, O&)>& bind) {
  const O file = o;
  const size_t before = s.context().problems().size();
  bind(s, o);  // may report sizes that do not fit each other: told alongside what changed them
  for (const auto& f : fixed) {
    const auto a = f.value(file), b = f.value(o);
    if (a == b || !s.node() || !s.node()->find(f.key)) continue;
    s.problem(f.key, b + " contradicts " + path + " (" + f.hf_key + ": " + a +
                         "), the shape of init_from.hf's weights; model: may change the head (head, num_labels), "
                         "dropout and activations, not the architecture (leave the key out to take config.json's)");
  }
  return s.context().problems().size() == before;
}

ModelBuilder gpt_overlay(config::Section& s, const nlohmann::json& config, const std::string& path,
                         bool layers_selected) {
  GptOptions o = gpt_options(config, path);
  const bool gpt2 = json_value<std::string>(config, "model_type", "gpt2", path) == "gpt2";
  const std::string arch = hf_architecture_of(config, gpt2 ? "GPT2LMHeadModel" : "LlamaForCausalLM");
  using F = Fixed<GptOptions>;
  std::vector<F> fixed = {
      {"vocab_size", "vocab_size", [](const GptOptions& x) { return text(x.vocab_size); }},
      {"n_positions", gpt2 ? "n_positions" : "max_position_embeddings",
       [](const GptOptions& x) { return text(x.n_positions); }},
      {"n_embd", gpt2 ? "n_embd" : "hidden_size", [](const GptOptions& x) { return text(x.n_embd); }},
      {"n_kv_head", gpt2 ? "n_head" : "num_key_value_heads", [](const GptOptions& x) { return text(x.kv_heads()); }},
      {"head_size", gpt2 ? "n_embd / n_head" : "head_dim", [](const GptOptions& x) { return text(x.head_dim()); }},
      {"norm", arch + " norm", [](const GptOptions& x) { return x.norm; }},
      {"position", arch + " position", [](const GptOptions& x) { return x.position; }},
      {"mlp", arch + " mlp", [](const GptOptions& x) { return x.mlp; }},
      {"bias", arch + " bias", [](const GptOptions& x) { return text(x.bias); }},
      {"tie_word_embeddings", "tie_word_embeddings", [](const GptOptions& x) { return text(x.tie_word_embeddings); }},
  };
  if (!layers_selected) {
    fixed.push_back({"n_layer", gpt2 ? "n_layer" : "num_hidden_layers", [](const GptOptions& x) { return text(x.n_layer); }});
    fixed.push_back({"n_head", gpt2 ? "n_head" : "num_attention_heads",
                     [](const GptOptions& x) { return per_layer(x, x.n_layer, &GptOptions::heads_of); }});
    fixed.push_back({"layer_heads", gpt2 ? "n_head" : "num_attention_heads",
                     [](const GptOptions& x) { return per_layer(x, x.n_layer, &GptOptions::heads_of); }});
    fixed.push_back({"n_inner", gpt2 ? "n_inner" : "intermediate_size",
                     [](const GptOptions& x) { return per_layer(x, x.n_layer, &GptOptions::inner_of); }});
    fixed.push_back({"layer_inner", gpt2 ? "n_inner" : "intermediate_size",
                     [](const GptOptions& x) { return per_layer(x, x.n_layer, &GptOptions::inner_of); }});
  } else {  // the first layer's sizes: every selected layer has the file's
    fixed.push_back({"n_head", gpt2 ? "n_head" : "num_attention_heads", [](const GptOptions& x) { return text(x.heads_of(0)); }});
    fixed.push_back({"n_inner", gpt2 ? "n_inner" : "intermediate_size", [](const GptOptions& x) { return text(x.inner_of(0)); }});
  }
  const std::function<void(config::Section&, GptOptions&)> bind = [](config::Section& sec, GptOptions& x) {
    bind_gpt(sec, x);
    for (const auto& [key, message] : x.problems()) sec.problem(key, message);
    sec.finish();
  };
  if (!overlay(s, o, fixed, path, bind)) return nullptr;
  return [o]() -> std::shared_ptr<ModelImpl> { return Gpt(o).ptr(); };
}

// BERT and ViT: the encoder's sizes (their options share the names).
template <class O>
std::vector<Fixed<O>> encoder_fixed(bool layers_selected) {
  using F = Fixed<O>;
  std::vector<F> fixed = {
      {"hidden_size", "hidden_size", [](const O& x) { return text(x.hidden_size); }},
      {"head_size", "hidden_size / num_attention_heads", [](const O& x) { return text(x.head_dim()); }},
  };
  if (!layers_selected) {
    fixed.push_back({"num_hidden_layers", "num_hidden_layers", [](const O& x) { return text(x.num_hidden_layers); }});
    for (const char* key : {"num_attention_heads", "layer_heads"})
      fixed.push_back({key, "num_attention_heads", [](const O& x) { return per_layer(x, x.num_hidden_layers, &O::heads_of); }});
    for (const char* key : {"intermediate_size", "layer_inner"})
      fixed.push_back({key, "intermediate_size", [](const O& x) { return per_layer(x, x.num_hidden_layers, &O::inner_of); }});
  } else {
    fixed.push_back({"num_attention_heads", "num_attention_heads", [](const O& x) { return text(x.heads_of(0)); }});
    fixed.push_back({"intermediate_size", "intermediate_size", [](const O& x) { return text(x.inner_of(0)); }});
  }
  return fixed;
}

ModelBuilder bert_overlay(config::Section& s, const nlohmann::json& config, const std::string& path,
                          bool layers_selected) {
  BertOptions o = BertOptions::from_hf_config(config, path);
  auto fixed = encoder_fixed<BertOptions>(layers_selected);
  fixed.push_back({"vocab_size", "vocab_size", [](const BertOptions& x) { return text(x.vocab_size); }});
  fixed.push_back({"max_position_embeddings", "max_position_embeddings",
                   [](const BertOptions& x) { return text(x.max_position_embeddings); }});
  fixed.push_back({"type_vocab_size", "type_vocab_size", [](const BertOptions& x) { return text(x.type_vocab_size); }});
  fixed.push_back({"position_embeddings", "position_embedding_type",
                   [](const BertOptions& x) { return text(x.position_embeddings); }});
  if (!overlay<BertOptions>(s, o, fixed, path, bind_bert)) return nullptr;
  return [o]() -> std::shared_ptr<ModelImpl> { return std::make_shared<BertImpl>(o); };
}

ModelBuilder vit_overlay(config::Section& s, const nlohmann::json& config, const std::string& path,
                         bool layers_selected) {
  ViTOptions o = ViTOptions::from_hf_config(config, path);
  auto fixed = encoder_fixed<ViTOptions>(layers_selected);
  fixed.push_back({"image_size", "image_size", [](const ViTOptions& x) { return text(x.image_size); }});
  fixed.push_back({"patch_size", "patch_size", [](const ViTOptions& x) { return text(x.patch_size); }});
  fixed.push_back({"num_channels", "num_channels", [](const ViTOptions& x) { return text(x.num_channels); }});
  fixed.push_back({"qkv_bias", "qkv_bias", [](const ViTOptions& x) { return text(x.qkv_bias); }});
  if (!overlay<ViTOptions>(s, o, fixed, path, bind_vit)) return nullptr;
  return [o]() -> std::shared_ptr<ModelImpl> { return std::make_shared<ViTImpl>(o); };
}

}  // namespace

nlohmann::json read_hf_config(const std::string& dir) {
  const std::string path = dir + "/config.json";
  if (!std::filesystem::is_directory(dir))
    throw IoError("'" + dir + "' is not a folder (expected a save_pretrained folder)");
  std::ifstream in(path);
  if (!in) throw IoError("'" + dir + "' has no config.json (expected a save_pretrained folder)");
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw IoError(path + ": not valid JSON (" + e.what() + ")");
  }
}

HfModelKind hf_model_kind(const nlohmann::json& c, const std::string& path) {
  if (!c.is_object()) throw IoError(path + ": not a JSON object");
  const auto model_type = json_value<std::string>(c, "model_type", "", path);
  if (model_type == "torchvision_resnet") return {"resnet", model_type};  // architectures: the torchvision constructor
  const std::string arch = hf_architecture_of(c, "");
  if (!arch.empty()) {
    const auto it = architectures().find(arch);
    if (it == architectures().end())
      throw IoError(path + ": architectures: '" + arch + "' is not supported; ptm builds " +
                    list_keys(architectures()) + " (and model_type torchvision_resnet)");
    if (!model_type.empty() && model_type != it->second.model_type)
      throw IoError(path + ": model_type: '" + model_type + "' contradicts architectures '" + arch + "' (expected '" +
                    it->second.model_type + "')");
    return {it->second.family, arch};
  }
  if (model_type.empty())
    throw IoError(path + ": architectures: missing, and so is model_type; one of them names the model (" +
                  list_keys(model_types()) + ")");
  const auto it = model_types().find(model_type);
  if (it == model_types().end())
    throw IoError(path + ": model_type: '" + model_type + "' is not supported; ptm builds " + list_keys(model_types()));
  return {it->second, model_type};
}

ModelBuilder hf_model_builder(const std::string& dir, HfModelKind* kind_out) {
  const auto config = read_hf_config(dir);
  const std::string path = dir + "/config.json";
  const auto kind = hf_model_kind(config, path);
  if (kind_out) *kind_out = kind;
  if (kind.family == "gpt") {
    const auto o = gpt_options(config, path);
    return [o]() -> std::shared_ptr<ModelImpl> { return Gpt(o).ptr(); };
  }
  if (kind.family == "bert") {
    const auto o = BertOptions::from_hf_config(config, path);
    return [o]() -> std::shared_ptr<ModelImpl> { return std::make_shared<BertImpl>(o); };
  }
  if (kind.family == "vit") {
    const auto o = ViTOptions::from_hf_config(config, path);
    return [o]() -> std::shared_ptr<ModelImpl> { return std::make_shared<ViTImpl>(o); };
  }
  const auto o = ResNetOptions::from_hf_config(config, path);
  return [o]() -> std::shared_ptr<ModelImpl> { return std::make_shared<ResNetImpl>(o); };
}

ModelBuilder hf_model_builder(const std::string& dir, config::Section& model, bool layers_selected,
                              HfModelKind* kind_out) {
  const auto config = read_hf_config(dir);
  const std::string path = dir + "/config.json";
  const auto kind = hf_model_kind(config, path);
  if (kind_out) *kind_out = kind;
  const auto* type = model.node() ? model.node()->find("type") : nullptr;
  if (kind.family == "resnet") return parse_model(model);
  if (type && type->is_scalar() && type->text() != kind.family) {
    model.problem("type", "'" + type->text() + "' contradicts " + path + " (" + kind.architecture + ", a " +
                              kind.family + " model), whose weights init_from.hf loads (leave type out to take it)");
    return nullptr;
  }
  std::string family = kind.family;  // recorded in config.yaml when the recipe leaves it out
  model.opt("type", family, "the model type (config.json's)");
  try {
    if (kind.family == "gpt") return gpt_overlay(model, config, path, layers_selected);
    if (kind.family == "bert") return bert_overlay(model, config, path, layers_selected);
    return vit_overlay(model, config, path, layers_selected);
  } catch (const Error& e) {  // config.json itself: what ptm cannot build
    model.problem("type", e.what());
    return nullptr;
  }
}

std::shared_ptr<ModelImpl> load_hf_model(const std::string& dir) {
  const auto kind = hf_model_kind(read_hf_config(dir), dir + "/config.json");
  if (kind.family == "gpt") return load_hf_gpt(dir);
  if (kind.family == "bert") return load_hf_bert(dir);
  if (kind.family == "vit") return load_hf_vit(dir);
  return load_hf_resnet(dir);
}

}  // namespace ptm::models
