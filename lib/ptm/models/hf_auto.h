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

#include "ptm/config/binder.h"
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
// The same with a recipe's model: section laid over config.json, as from_pretrained(dir,
// num_labels=..., hidden_dropout_prob=...) does: keys that leave the weights' shapes alone
// (head, num_labels, dropout, activations, ...) apply; a key that changes one (width, depth,
// heads, vocabulary, positions, the GPT/Llama layout) is a problem on that key naming the
// recipe's value, config.json and its value, and so is a model.type other than config.json's.
// `layers_selected` (init_from.layers picks the source layers): the depth may differ. A ResNet
// folder's model: section builds as it is (parse_model). Null when problems were recorded.
ModelBuilder hf_model_builder(const std::string& dir, config::Section& model, bool layers_selected,
                              HfModelKind* kind = nullptr);
// The model with its weights (load_hf_gpt, load_hf_bert, load_hf_vit, load_hf_resnet).
std::shared_ptr<ModelImpl> load_hf_model(const std::string& dir);

}  // namespace ptm::models
