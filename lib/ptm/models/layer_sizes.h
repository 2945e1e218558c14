// Per-layer sizes of a structurally pruned model or an exported sub-network (ptm prune, ptm nas
// export): the checks every architecture makes of its `layer_heads` / `layer_inner` options, and
// the uniform sizes an encoder's Hugging Face config can hold.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ptm/core/errors.h"

namespace ptm::models {

// (key, message) for per-layer lists that are not one entry per layer or hold entries below 1.
//   layers_key  the option counting the layers (n_layer, num_hidden_layers), named in messages
inline void add_layer_size_problems(const std::vector<int64_t>& layer_heads, const std::vector<int64_t>& layer_inner,
                                    int64_t layers, const std::string& layers_key,
                                    std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& [key, sizes] : {std::pair<std::string, const std::vector<int64_t>*>{"layer_heads", &layer_heads},
                                   {"layer_inner", &layer_inner}}) {
    if (!sizes->empty() && static_cast<int64_t>(sizes->size()) != layers)
      out.emplace_back(key, "needs one entry per layer (" + layers_key + " " + std::to_string(layers) + "), got " +
                                std::to_string(sizes->size()));
    for (const auto v : *sizes)
      if (v < 1) out.emplace_back(key, "entries must be >= 1, got " + std::to_string(v));
  }
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
