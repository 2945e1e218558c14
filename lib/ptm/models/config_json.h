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

}  // namespace ptm::models
