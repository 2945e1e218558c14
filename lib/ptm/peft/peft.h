// Applying a parameter-efficient method to a model, folding LoRA back into the weights, and
// adapter-only files.
//   auto report = peft::apply(config, model);  // adds modules, freezes the rest, logs "trainable x of y (z%)"
//   peft::save_adapter(model, config, dir);     // adapter_model.safetensors + adapter_config.json
//   peft::load_adapter(dir, base);              // the same modules and tensors onto a fresh base
//   peft::merge_lora(model);                    // W += (alpha/r) B A; the hooks are removed
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ptm/models/model.h"
#include "ptm/peft/peft_config.h"

namespace ptm::peft {

struct PeftReport {
  int64_t trainable = 0, total = 0;  // parameters, after the modules were added
  std::vector<std::string> targets;  // modules that received a hook (prefix: attention layers)
  std::vector<std::string> saved;    // modules_to_save that matched
  double percent() const { return total ? 100.0 * static_cast<double>(trainable) / static_cast<double>(total) : 0; }
  std::string str() const;  // "lora: 74,498 trainable of 22,788,482 parameters (0.33%), 12 layers"
};

// Adds the method's modules to `model`, sets requires_grad false on everything except them,
// the modules_to_save and (bitfit) the biases, and logs the counts. ConfigError (key
// peft.target_modules) when a target pattern matches no linear layer, or (peft.method) when
// the method does not fit the architecture (prefix: bert only).
PeftReport apply(const PeftConfig& config, models::ModelImpl& model);

// The model's parameter names (ptm naming) that `config` trains, for a model it was applied to.
std::vector<std::string> trainable_names(const PeftConfig& config, const models::ModelImpl& model);

// Only the tensors `config` trains (PEFT modules + modules_to_save; bitfit: biases), in the
// model's exported (hf_state_dict) naming.
models::NamedTensors adapter_state(const models::ModelImpl& model, const PeftConfig& config);

// `dir`/adapter_model.safetensors (adapter_state) + `dir`/adapter_config.json (the config,
// method, the base's architecture and config.json when it has one).
void save_adapter(const models::ModelImpl& model, const PeftConfig& config, const std::string& dir);

// Reads adapter_config.json, applies it to `base` (built without PEFT) and loads the adapter
// tensors; IoError naming the file when the architecture differs or a tensor is missing,
// unexpected or mis-shaped. Returns the config.
PeftConfig load_adapter(const std::string& dir, models::ModelImpl& base);

// Folds every LoRA update into its layer's weight (W += scale B A) and removes the LoRA
// modules; returns how many layers were merged.
size_t merge_lora(models::ModelImpl& model);

// Whether the model still holds PEFT modules that have no plain-weights form (adapters, prefixes).
std::vector<std::string> unmergeable_modules(const models::ModelImpl& model);

}  // namespace ptm::peft
