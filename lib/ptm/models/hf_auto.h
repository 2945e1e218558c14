// A Hugging Face folder as it comes: config.json's `architectures` (else `model_type`) picks
// the ptm model that builds it, as transformers' AutoModel does.
//   GPT2LMHeadModel, LlamaForCausalLM, MistralForCausalLM         gpt
//   BertModel, BertFor{MaskedLM,PreTraining,SequenceClassification,TokenClassification}  bert
//   ViTModel, ViTForImageClassification                            vit
//   model_type torchvision_resnet (ptm's ResNet export)             resnet
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ptm/models/model.h"

namespace ptm::models {

struct HfModelKind {
  std::string family;        // gpt | bert | vit | resnet: the ptm model type
  std::string architecture;  // as config.json names it (architectures[0], else model_type)
};

// `dir`/config.json parsed; IoError naming the file when it is absent or not JSON.
nlohmann::json read_hf_config(const std::string& dir);
// IoError naming `config_path` and the key (architectures or model_type) for an architecture
// ptm does not have, listing the ones it has; also when the two keys contradict each other.
HfModelKind hf_model_kind(const nlohmann::json& config, const std::string& config_path);
// Builds (freshly initialised, no weights read) the model config.json describes; the options
// are read now, so errors surface before any builder call. `kind` receives what it builds.
ModelBuilder hf_model_builder(const std::string& dir, HfModelKind* kind = nullptr);
// The model with its weights (load_hf_gpt, load_hf_bert, load_hf_vit, load_hf_resnet).
std::shared_ptr<ModelImpl> load_hf_model(const std::string& dir);

}  // namespace ptm::models
