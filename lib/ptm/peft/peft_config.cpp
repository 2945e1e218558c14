// The `peft:` section: binding with per-method key checks, JSON for adapter_config.json, and
// module-name patterns.
#include "ptm/peft/peft_config.h"

#include <fnmatch.h>

#include <map>
#include <regex>

#include "ptm/core/errors.h"

namespace ptm::peft {
namespace {

// Keys that belong to one method only.
const std::map<std::string, std::string>& method_of_key() {
  static const std::map<std::string, std::string> m = {
      {"rank", "lora"},
      {"alpha", "lora"},
      {"dropout", "lora"},
      {"adapter_size", "adapter"},
      {"adapter_placement", "adapter"},
      {"adapter_mode", "adapter"},
      {"adapter_scale", "adapter"},
      {"adapter_activation", "adapter"},
      {"prefix_length", "prefix"},
      {"prefix_hidden", "prefix"},
  };
  return m;
}

// What is wrong with a `re:` pattern ("" when it compiles or is not a regular expression).
std::string regex_problem(const std::string& pattern) {
  if (pattern.rfind("re:", 0) != 0) return "";
  try {
    std::regex check(pattern.substr(3));
  } catch (const std::regex_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

bool name_matches(const std::string& name, const std::string& pattern) {
  if (pattern.rfind("re:", 0) == 0) {
    try {
      return std::regex_match(name, std::regex(pattern.substr(3)));
    } catch (const std::regex_error&) {
      return false;
    }
  }
  if (pattern.find_first_of("*?[") != std::string::npos) return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
  return name == pattern ||
         (name.size() > pattern.size() && name.compare(name.size() - pattern.size(), pattern.size(), pattern) == 0 &&
          name[name.size() - pattern.size() - 1] == '.');
}

void bind(config::Section& s, PeftConfig& c) {
  s.opt("method", c.method, "lora | adapter | prefix | bitfit").one_of({"lora", "adapter", "prefix", "bitfit"});
  // Only the chosen method's keys are read (and filled in as defaults); another method's key is an error.
  const auto mine = [&](const std::string& key) {
    const auto it = method_of_key().find(key);
    const bool used = key == "target_modules" ? (c.method == "lora" || c.method == "adapter")
                                              : it == method_of_key().end() || it->second == c.method;
    if (used) return true;
    s.allow(key);
    if (s.node() && s.node()->find(key))
      s.problem(key, key == "target_modules"
                         ? "not used with method: " + c.method
                         : "only used with method: " + it->second + " (this section has method: " + c.method + ")");
    return false;
  };
  if (mine("target_modules"))
    s.opt("target_modules", c.target_modules,
          "module-name patterns (name, suffix .name, glob, re:regex); default: the architecture's "
          "(bert/vit query,value; gpt c_attn; adapters: from adapter_placement)");
  if (mine("rank")) s.opt("rank", c.rank, "lora rank r").min(1);
  if (mine("alpha")) s.opt("alpha", c.alpha, "lora alpha: the update is scaled by alpha / rank").above(0.0);
  if (mine("dropout")) s.opt("dropout", c.dropout, "lora dropout on the layer input").min(0.0).max(1.0);
  if (mine("adapter_size")) s.opt("adapter_size", c.adapter_size, "adapter bottleneck width").min(1);
  if (mine("adapter_placement"))
    s.opt("adapter_placement", c.adapter_placement, "where adapters go: attention and/or mlp (output projections)");
  if (mine("adapter_mode"))
    s.opt("adapter_mode", c.adapter_mode, "sequential | parallel").one_of({"sequential", "parallel"});
  if (mine("adapter_scale")) s.opt("adapter_scale", c.adapter_scale, "parallel adapter output scale s").above(0.0);
  if (mine("adapter_activation"))
    s.opt("adapter_activation", c.adapter_activation, "relu | gelu | tanh").one_of({"relu", "gelu", "tanh"});
  if (mine("prefix_length")) s.opt("prefix_length", c.prefix_length, "prefix tokens per layer (0: none)").min(0);
  if (mine("prefix_hidden"))
    s.opt("prefix_hidden", c.prefix_hidden, "reparameterisation MLP width (0: prefixes learned directly)").min(0);
  s.opt("modules_to_save", c.modules_to_save, "modules trained in full and saved with the adapter (task head)");
  if (c.method == "adapter") {
    for (const auto& p : c.adapter_placement)
      if (p != "attention" && p != "mlp") s.problem("adapter_placement", "'" + p + "' is not one of: attention, mlp");
    if (c.adapter_placement.empty() && c.target_modules.empty())
      s.problem("adapter_placement", "empty: name attention and/or mlp (or give target_modules)");
  }
  for (const auto* key : {"target_modules", "modules_to_save"})
    for (const auto& pattern : std::string(key) == "target_modules" ? c.target_modules : c.modules_to_save) {
      const std::string why = regex_problem(pattern);
      if (!why.empty()) s.problem(key, "'" + pattern + "' is not a valid regular expression (" + why + ")");
    }
  s.finish();
}

nlohmann::json PeftConfig::to_json() const {
  return {{"method", method},
          {"target_modules", target_modules},
          {"rank", rank},
          {"alpha", alpha},
          {"dropout", dropout},
          {"adapter_size", adapter_size},
          {"adapter_placement", adapter_placement},
          {"adapter_mode", adapter_mode},
          {"adapter_scale", adapter_scale},
          {"adapter_activation", adapter_activation},
          {"prefix_length", prefix_length},
          {"prefix_hidden", prefix_hidden},
          {"modules_to_save", modules_to_save}};
}

PeftConfig PeftConfig::from_json(const nlohmann::json& j, const std::string& where) {
  PeftConfig c;
  try {
    c.method = j.at("method").get<std::string>();
    c.target_modules = j.at("target_modules").get<std::vector<std::string>>();
    c.rank = j.at("rank").get<int64_t>();
    c.alpha = j.at("alpha").get<double>();
    c.dropout = j.at("dropout").get<double>();
    c.adapter_size = j.at("adapter_size").get<int64_t>();
    c.adapter_placement = j.at("adapter_placement").get<std::vector<std::string>>();
    c.adapter_mode = j.at("adapter_mode").get<std::string>();
    c.adapter_scale = j.at("adapter_scale").get<double>();
    c.adapter_activation = j.at("adapter_activation").get<std::string>();
    c.prefix_length = j.at("prefix_length").get<int64_t>();
    c.prefix_hidden = j.at("prefix_hidden").get<int64_t>();
    c.modules_to_save = j.at("modules_to_save").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw IoError(where + ": not a ptm PEFT configuration (" + e.what() + ")");
  }
  if (c.rank < 1 || c.adapter_size < 1 || c.prefix_length < 0 || c.prefix_hidden < 0)
    throw IoError(where + ": rank, adapter_size must be >= 1 and prefix sizes >= 0");
  return c;
}

}  // namespace ptm::peft
