// Reading a model's config.json (Hugging Face or ptm's torchvision layout): typed values with a
// fallback, the architecture name, the label count, and one IoError listing every reason the
// options cannot build a model. Shared by the BERT, ViT and ResNet readers.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/core/errors.h"
#include "ptm/core/json_fields.h"

namespace ptm::models {

// The value of `key` as T, or `fallback` when the key is absent or null; IoError naming
// `source` and the key when it has another type.
template <class T>
T json_value(const nlohmann::json& j, const std::string& key, T fallback, const std::string& source) {
  return json_fields::Field(j, source).get<T>(key, std::move(fallback));
}

// The first name of "architectures", or `fallback`.
inline std::string hf_architecture_of(const nlohmann::json& j, const std::string& fallback) {
  const auto it = j.find("architectures");
  if (it != j.end() && it->is_array() && !it->empty() && (*it)[0].is_string()) return (*it)[0].get<std::string>();
  return fallback;
}

// "num_labels", else the size of "id2label", else `fallback` (transformers' PretrainedConfig).
inline int64_t hf_num_labels(const nlohmann::json& j, int64_t fallback, const std::string& source) {
  const auto labels = j.find("id2label");
  return json_value<int64_t>(j, "num_labels",
                             labels != j.end() && labels->is_object() ? static_cast<int64_t>(labels->size()) : fallback,
                             source);
}

// IoError "<source>: cannot build <what> from this config:" and one line per problem (key,
// message); nothing when there are none.
inline void check_buildable(const std::vector<std::pair<std::string, std::string>>& problems,
                            const std::string& source, const std::string& what) {
  if (problems.empty()) return;
  std::string msg = source + ": cannot build " + what + " from this config:";
  for (const auto& [key, message] : problems) msg += "\n  " + key + ": " + message;
  throw IoError(msg);
}

// The one head count and MLP width an encoder config (BertConfig, ViTConfig) holds for every
// layer, heads sized hidden_size / heads. ConfigError naming model.layer_heads, model.layer_inner
// or model.head_size when the options' per-layer sizes (a pruned model) differ from that.
//   config  the transformers class named in messages; mlp  what its MLP width is called
template <class Options>
std::pair<int64_t, int64_t> uniform_encoder_sizes(const Options& o, const std::string& config, const std::string& mlp) {
  const int64_t heads = o.heads_of(0), inner = o.inner_of(0);
  const auto n = [](int64_t v) { return std::to_string(v); };
  const std::string use_ptm = "; keep the ptm run instead (ptm eval --from, init_from.checkpoint)";
  for (int64_t l = 1; l < o.num_hidden_layers; ++l) {
    if (o.heads_of(l) != heads)
      throw ConfigError(Origin{}, "model.layer_heads",
                        "the layers have different head counts (layer 0: " + n(heads) + ", layer " + n(l) + ": " +
                            n(o.heads_of(l)) + "), which a Hugging Face " + config +
                            " (one num_attention_heads) cannot express" + use_ptm);
    if (o.inner_of(l) != inner)
      throw ConfigError(Origin{}, "model.layer_inner",
                        "the layers have different " + mlp + " widths (layer 0: " + n(inner) + ", layer " + n(l) +
                            ": " + n(o.inner_of(l)) + "), which a Hugging Face " + config +
                            " (one intermediate_size) cannot express" + use_ptm);
  }
  if (heads * o.head_dim() != o.hidden_size)
    throw ConfigError(Origin{}, o.layer_heads.empty() ? "model.head_size" : "model.layer_heads",
                      n(heads) + " heads of " + n(o.head_dim()) + " make attention " + n(heads * o.head_dim()) +
                          " wide, but a Hugging Face " + config +
                          " sizes heads as hidden_size / num_attention_heads, so its attention is always "
                          "hidden_size (" + n(o.hidden_size) + ") wide: removed heads cannot be expressed" + use_ptm);
  return {heads, inner};
}

}  // namespace ptm::models
