// Freezing by role (backbone, embeddings), by layer index and by name pattern.
#include "ptm/train/freeze.h"

#include <regex>

#include "ptm/core/errors.h"
#include "ptm/core/log.h"

namespace ptm::train {

void bind(config::Section& s, FreezeConfig& c) {
  s.opt("backbone", c.backbone, "freeze everything but the task head (linear probe)");
  s.opt("embeddings", c.embeddings, "freeze the embeddings (ResNet: the stem)");
  s.opt("first_layers", c.first_layers, "freeze the first k layers").min(0);
  s.opt("patterns", c.patterns, "regular expressions; parameters whose name matches are frozen");
  for (size_t i = 0; i < c.patterns.size(); ++i) {
    try {
      std::regex re(c.patterns[i]);
    } catch (const std::regex_error& e) {
      s.problem("patterns", "'" + c.patterns[i] + "' is not a valid regular expression (" + e.what() + ")");
    }
  }
  s.finish();
}

bool is_head_parameter(const std::string& name) {
  for (const char* head : {"classifier.", "cls.", "lm_head.", "fc.", "head.", "score."})
    if (name.rfind(head, 0) == 0) return true;
  return false;
}

int64_t layer_of(const std::string& name) {
  // BERT/ViT encoder.layer.N., GPT transformer.h.N., ResNet layerS. (stages count from 1)
  static const std::regex transformer(R"((^|\.)(layer|h)\.(\d+)\.)"), stage(R"(^layer(\d+)\.)");
  std::smatch m;
  if (std::regex_search(name, m, transformer)) return std::stoll(m[3].str());
  if (std::regex_search(name, m, stage)) return std::stoll(m[1].str()) - 1;
  return -1;
}

bool is_embedding_parameter(const std::string& name) {
  return name.find("embeddings.") != std::string::npos || name.rfind("transformer.wte", 0) == 0 ||
         name.rfind("transformer.wpe", 0) == 0 || name.rfind("conv1.", 0) == 0 || name.rfind("bn1.", 0) == 0;
}

std::vector<std::string> apply_freeze(const FreezeConfig& c, models::ModelImpl& model) {
  std::vector<std::string> frozen;
  if (c.empty()) return frozen;
  std::vector<std::regex> patterns;
  for (const auto& p : c.patterns) patterns.emplace_back(p);
  std::vector<bool> used(patterns.size(), false);
  // Decide first, check, then apply: a refused configuration leaves the model untouched.
  std::vector<torch::Tensor> to_freeze;
  size_t total = 0;
  for (auto& p : model.named_parameters()) {
    ++total;
    const std::string& name = p.key();
    bool freeze = (c.backbone && !is_head_parameter(name)) || (c.embeddings && is_embedding_parameter(name));
    const int64_t layer = layer_of(name);
    if (c.first_layers > 0 && (is_embedding_parameter(name) || (layer >= 0 && layer < c.first_layers))) freeze = true;
    for (size_t i = 0; i < patterns.size(); ++i)
      if (std::regex_search(name, patterns[i])) freeze = used[i] = true;
    if (freeze) {
      to_freeze.push_back(p.value());
      frozen.push_back(name);
    }
  }
  for (size_t i = 0; i < patterns.size(); ++i)
    if (!used[i])
      throw ConfigError(Origin{}, "freeze.patterns",
                        "'" + c.patterns[i] + "' matches no parameter of the " + model.arch() + " model");
  if (frozen.size() == total)
    throw ConfigError(Origin{}, "freeze", "freezes every parameter of the model: nothing would train");
  for (auto& t : to_freeze) t.set_requires_grad(false);
  log::info("froze " + std::to_string(frozen.size()) + " of " + std::to_string(total) + " parameter tensors");
  return frozen;
}

}  // namespace ptm::train
