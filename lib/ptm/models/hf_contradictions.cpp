// The config.json keys behind mis-shaped tensors (hf_contradictions.h).
#include "ptm/models/hf_contradictions.h"

#include <regex>
#include <sstream>

namespace ptm::models {
namespace {

std::vector<int64_t> dims(const std::string& list) {
  std::vector<int64_t> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoll(item));
  return out;
}

}  // namespace

std::string hf_config_contradictions(const nlohmann::json& config, const std::string& config_path,
                                     const std::vector<std::string>& mismatched) {
  static const std::regex line_re(R"(^(.*): checkpoint \[([0-9, ]*)\] vs model \[([0-9, ]*)\]$)");
  std::string out;
  for (const auto& line : mismatched) {
    std::smatch m;
    if (!std::regex_match(line, m, line_re)) continue;
    const auto file = dims(m[2].str()), model = dims(m[3].str());
    // The sizes config.json gave the model where the weights differ; the keys holding them
    // (ids like pad_token_id are sizes of nothing).
    std::string keys;
    int64_t value = 0;
    for (size_t i = 0; i < model.size() && keys.empty(); ++i) {
      if (i < file.size() && file[i] == model[i]) continue;
      for (const auto& [key, v] : config.items())
        if (v.is_number_integer() && v.get<int64_t>() == model[i] && key.find("token_id") == std::string::npos) {
          keys += (keys.empty() ? "" : " and ") + key;
          value = model[i];
        }
    }
    if (keys.empty()) continue;
    out += config_path + ": " + keys + " is " + std::to_string(value) + ", but the weights' " + m[1].str() + " is [" +
           m[2].str() + "] (config.json makes it [" + m[3].str() + "])\n";
  }
  return out;
}

}  // namespace ptm::models
