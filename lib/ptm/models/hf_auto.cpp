// Picking the model of a Hugging Face folder from its config.json (hf_auto.h).
#include "ptm/models/hf_auto.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "ptm/core/errors.h"
#include "ptm/models/bert.h"
#include "ptm/models/config_json.h"
#include "ptm/models/gpt.h"
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

std::shared_ptr<ModelImpl> load_hf_model(const std::string& dir) {
  const auto kind = hf_model_kind(read_hf_config(dir), dir + "/config.json");
  if (kind.family == "gpt") return load_hf_gpt(dir);
  if (kind.family == "bert") return load_hf_bert(dir);
  if (kind.family == "vit") return load_hf_vit(dir);
  return load_hf_resnet(dir);
}

}  // namespace ptm::models
