// peft::apply (modules, freezing, counts), LoRA merging and adapter-only files.
#include "ptm/peft/peft.h"

#include <cstdio>
#include <filesystem>
#include <set>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"
#include "ptm/models/bert.h"
#include "ptm/models/low_rank.h"
#include "ptm/peft/hooks.h"

namespace fs = std::filesystem;

namespace ptm::peft {
namespace {

using LinearList = std::vector<std::pair<std::string, models::LinearImpl*>>;

LinearList linears(const models::ModelImpl& model) {
  LinearList out;
  for (const auto& item : model.named_modules("", /*include_self=*/false))
    if (auto* l = item.value()->as<models::Linear>()) out.emplace_back(item.key(), l);
  return out;
}

bool under(const std::string& name, const std::string& module) {
  return name == module || name.rfind(module + ".", 0) == 0;
}

bool matches_any(const std::string& name, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns)
    if (name_matches(name, p)) return true;
  return false;
}

std::vector<std::string> default_targets(const PeftConfig& c, const std::string& arch) {
  const bool encoder = arch == "bert" || arch == "vit";
  if (c.method == "lora") {
    if (encoder) return {"query", "value"};
    if (arch == "gpt") return {"c_attn"};
    return {};
  }
  std::vector<std::string> out;  // adapters: the output projections of attention and/or the MLP
  for (const auto& place : c.adapter_placement) {
    if (encoder)
      out.push_back(place == "attention" ? "re:(.*\\.)?attention\\.output\\.dense"
                                         : "re:(.*\\.)?layer\\.[0-9]+\\.output\\.dense");
    if (arch == "gpt") out.push_back(place == "attention" ? "attn.c_proj" : "mlp.c_proj");
  }
  return out;
}

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

// The modules matched by modules_to_save (outermost names).
std::vector<std::string> saved_modules(const PeftConfig& c, const models::ModelImpl& model) {
  std::vector<std::string> out;
  for (const auto& item : model.named_modules("", false)) {
    bool inside = false;
    for (const auto& s : out) inside = inside || under(item.key(), s);
    if (!inside && matches_any(item.key(), c.modules_to_save)) out.push_back(item.key());
  }
  return out;
}

void install_prefix(const PeftConfig& c, models::ModelImpl& model, PeftReport& r) {
  auto* bert = dynamic_cast<models::BertImpl*>(&model);
  if (!bert)
    throw ConfigError(Origin{}, "peft.method",
                      "prefix tuning is implemented for bert models; this model is " + model.arch());
  if (c.prefix_length == 0) return;  // no prefix: the model is unchanged
  const auto& o = bert->options();
  for (int64_t l = 0; l < o.num_hidden_layers; ++l)  // the prefixes are hidden_size wide
    if (o.heads_of(l) * o.head_dim() != o.hidden_size)
      throw ConfigError(Origin{}, "peft.method",
                        "prefix tuning needs attention as wide as hidden_size (" + std::to_string(o.hidden_size) +
                            "); layer " + std::to_string(l) + " of this pruned bert has " +
                            std::to_string(o.heads_of(l)) + " heads of " + std::to_string(o.head_dim()));
  std::vector<std::pair<std::string, models::BertSelfAttentionImpl*>> layers;
  for (const auto& item : model.named_modules("", false))
    if (auto* a = item.value()->as<models::BertSelfAttention>()) layers.emplace_back(item.key(), a);
  const int64_t hidden = bert->options().hidden_size;
  auto encoder = model.register_module(
      "prefix_encoder", PrefixEncoder(c.prefix_length, static_cast<int64_t>(layers.size()), hidden, c.prefix_hidden));
  encoder->to(bert->parameters().front().device());
  for (size_t i = 0; i < layers.size(); ++i) {
    layers[i].second->prefix = [encoder, i] { return encoder->prefix(static_cast<int64_t>(i)); };
    r.targets.push_back(layers[i].first);
  }
}

}  // namespace

std::string PeftReport::str() const {
  char pct[32];
  std::snprintf(pct, sizeof(pct), "%.3f%%", percent());
  return with_commas(trainable) + " trainable of " + with_commas(total) + " parameters (" + pct + "), " +
         std::to_string(targets.size()) + " target module" + (targets.size() == 1 ? "" : "s");
}

std::vector<std::string> trainable_names(const PeftConfig& c, const models::ModelImpl& model) {
  const auto saved = saved_modules(c, model);
  std::vector<std::string> out;
  for (const auto& p : model.named_parameters()) {
    const auto& n = p.key();
    bool keep = n.find(".lora_A.") != std::string::npos || n.find(".lora_B.") != std::string::npos ||
                n.find(".adapter_down.") != std::string::npos || n.find(".adapter_up.") != std::string::npos ||
                n.rfind("prefix_encoder.", 0) == 0;
    for (const auto& s : saved) keep = keep || under(n, s);
    if (c.method == "bitfit") keep = keep || n == "bias" || (n.size() > 5 && n.compare(n.size() - 5, 5, ".bias") == 0);
    if (keep) out.push_back(n);
  }
  return out;
}

PeftReport apply(const PeftConfig& c, models::ModelImpl& model) {
  PeftReport r;
  const std::string arch = model.arch();
  r.saved = saved_modules(c, model);
  for (const auto& pattern : c.modules_to_save) {
    bool found = false;
    for (const auto& item : model.named_modules("", false)) found = found || name_matches(item.key(), pattern);
    if (!found) log::info("peft: modules_to_save '" + pattern + "' matches no module of the " + arch + " model");
  }
  if (c.method == "lora" || c.method == "adapter") {
    const auto patterns = c.target_modules.empty() ? default_targets(c, arch) : c.target_modules;
    if (patterns.empty())
      throw ConfigError(Origin{}, "peft.target_modules", "no default for a " + arch + " model: name the layers");
    const auto all = linears(model);
    for (const auto& pattern : patterns) {
      bool found = false;
      for (const auto& [name, lin] : all) found = found || name_matches(name, pattern);
      if (!found) {
        std::string some;
        for (size_t i = 0; i < all.size() && i < 6; ++i) some += (i ? ", " : "") + all[i].first;
        throw ConfigError(Origin{}, "peft.target_modules",
                          "'" + pattern + "' matches no linear layer of the " + arch + " model (its layers: " + some +
                              (all.size() > 6 ? ", ..." : "") + ")");
      }
    }
    for (const auto& [name, lin] : all) {
      bool saved = false;
      for (const auto& s : r.saved) saved = saved || under(name, s);
      if (saved || !matches_any(name, patterns)) continue;
      const int64_t in = lin->options.in_features(), out = lin->options.out_features();
      if (c.method == "lora")
        lin->add_hook(std::make_shared<LoraHook>(in, out, c.rank, c.alpha, c.dropout));
      else
        lin->add_hook(std::make_shared<AdapterHook>(in, out, c.adapter_size, c.adapter_mode == "parallel",
                                                    c.adapter_scale, c.adapter_activation));
      lin->to(lin->parameters().front().device());  // a factorised layer (low_rank.h) has no weight
      r.targets.push_back(name);
    }
  } else if (c.method == "prefix") {
    install_prefix(c, model, r);
  }
  const auto names = trainable_names(c, model);
  const std::set<std::string> keep(names.begin(), names.end());
  for (auto& p : model.named_parameters()) p.value().set_requires_grad(keep.count(p.key()) > 0);
  r.total = models::count_parameters(model);
  r.trainable = models::count_parameters(model, /*trainable_only=*/true);
  log::info("peft " + c.method + ": " + r.str());
  return r;
}

models::NamedTensors adapter_state(const models::ModelImpl& model, const PeftConfig& c) {
  std::set<const void*> keep;
  const auto params = model.named_parameters();
  for (const auto& n : trainable_names(c, model)) keep.insert(params[n].data_ptr());
  models::NamedTensors out;
  for (auto& [name, t] : model.hf_state_dict())
    if (keep.count(t.data_ptr())) out.emplace_back(name, t);
  return out;
}

void save_adapter(const models::ModelImpl& model, const PeftConfig& c, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(dir + ": cannot create the folder (" + ec.message() + ")");
  const auto tensors = adapter_state(model, c);
  int64_t n = 0;
  for (const auto& [name, t] : tensors) n += t.numel();
  nlohmann::json j = {{"peft_type", c.method == "prefix"    ? "PREFIX_TUNING"
                                    : c.method == "lora"    ? "LORA"
                                    : c.method == "adapter" ? "ADAPTER"
                                                            : "BITFIT"},
                      {"base_arch", model.arch()},
                      {"adapter_parameters", n},
                      {"ptm", c.to_json()}};
  if (c.method == "lora") {
    j["r"] = c.rank;
    j["lora_alpha"] = c.alpha;
    j["lora_dropout"] = c.dropout;
  }
  try {
    j["base_config"] = model.hf_config();
  } catch (const std::exception&) {  // a model without a Hugging Face twin
  }
  fs_util::write_file_atomic(dir + "/adapter_config.json", j.dump(2) + "\n");
  models::save_safetensors(dir + "/adapter_model.safetensors", tensors, {{"format", "pt"}});
}

PeftConfig load_adapter(const std::string& dir, models::ModelImpl& base) {
  const std::string config_path = dir + "/adapter_config.json", weights = dir + "/adapter_model.safetensors";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(fs_util::read_file(config_path));
  } catch (const nlohmann::json::exception& e) {
    throw IoError(config_path + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.contains("ptm")) throw IoError(config_path + ": not a ptm adapter (no \"ptm\" section)");
  const auto c = PeftConfig::from_json(j["ptm"], config_path);
  const std::string arch = j.value("base_arch", "");
  if (arch != base.arch())
    throw IoError(config_path + ": the adapter was trained on a " + arch + " model, the base is " + base.arch());
  apply(c, base);
  std::set<std::string> expected;
  for (const auto& [name, t] : adapter_state(base, c)) expected.insert(name);
  const auto tensors = models::load_safetensors(weights);
  std::string problems;
  std::set<std::string> given;
  for (const auto& [name, t] : tensors) {
    given.insert(name);
    if (!expected.count(name)) problems += "not part of this adapter's base: " + name + "\n";
  }
  for (const auto& name : expected)
    if (!given.count(name)) problems += "missing from the adapter: " + name + "\n";
  const auto report = base.load_hf_state_dict(tensors, /*strict=*/false);
  for (const auto& m : report.mismatched) problems += "shape mismatch: " + m + "\n";
  if (!problems.empty()) throw IoError(weights + " does not fit the base model:\n" + problems);
  return c;
}

size_t merge_lora(models::ModelImpl& model) {
  torch::NoGradGuard no_grad;
  size_t n = 0;
  for (auto& [name, lin] : linears(model)) {
    bool any = false;
    for (const auto& h : lin->hooks())
      if (auto* lora = dynamic_cast<LoraHook*>(h.get())) {
        if (models::is_factorised(*lin))
          throw RuntimeError("peft: the LoRA of " + name +
                             " cannot be merged: the layer is factorised into two low-rank factors and has no "
                             "weight to add it to");
        lin->weight.add_(lora->delta_weight().to(lin->weight.dtype()));
        any = true;
      }
    if (any) n += lin->remove_hooks("lora") > 0 ? 1 : 0;
  }
  return n;
}

std::vector<std::string> unmergeable_modules(const models::ModelImpl& model) {
  std::vector<std::string> out;
  for (const auto& [name, lin] : linears(model))
    for (const auto& h : lin->hooks())
      if (h->kind() != "lora") out.push_back(name + " (" + h->kind() + ")");
  if (model.named_children().contains("prefix_encoder")) out.push_back("prefix_encoder (prefix)");
  return out;
}

}  // namespace ptm::peft
