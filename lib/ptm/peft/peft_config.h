// The `peft:` recipe section: which parameter-efficient method, where it goes, its sizes, and
// which modules stay fully trainable. Torch-free (recipe.h includes it).
//   peft:
//     method: lora                  # lora | adapter | prefix | bitfit
//     target_modules: [query, value]  # module-name patterns (default per architecture)
//     rank: 8                       # lora: r, alpha (scale alpha/r), dropout on the input
//     alpha: 16
//     dropout: 0.1
//     modules_to_save: [classifier] # trainable in full and saved with the adapter
// Patterns: `name` matches a module called `name` or ending in `.name` (Hugging Face PEFT's
// list semantics); a pattern with * ? [ is a glob over the whole dotted name; `re:...` is a
// regular expression over the whole name.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/config/binder.h"

namespace ptm::peft {

struct PeftConfig {
  std::string method = "lora";              // lora | adapter | prefix | bitfit
  std::vector<std::string> target_modules;  // empty: the architecture's defaults
  // lora: y = W x + b + (alpha / rank) B A dropout(x), B zero at the start
  int64_t rank = 8;
  double alpha = 16.0;
  double dropout = 0.0;
  // adapter: bottleneck down -> act -> up; sequential y + up(act(down(y))) or parallel
  // y + scale up(act(down(x))), on the attention output and/or the MLP output projection
  int64_t adapter_size = 64;
  std::vector<std::string> adapter_placement = {"attention", "mlp"};
  std::string adapter_mode = "sequential";  // sequential | parallel
  double adapter_scale = 1.0;               // parallel only
  std::string adapter_activation = "relu";  // relu | gelu | tanh
  // prefix: learned key/value prefixes per layer; prefix_hidden > 0 reparameterises them
  // through an MLP (embedding [P, H] -> tanh hidden -> [P, layers * 2 * H])
  int64_t prefix_length = 10;
  int64_t prefix_hidden = 0;
  // Modules trained in full and saved with the adapter (the task head); patterns as above. A
  // pattern that matches nothing is logged (a GPT has no `classifier`), not an error.
  std::vector<std::string> modules_to_save = {"classifier"};

  double lora_scale() const { return alpha / static_cast<double>(rank); }
  nlohmann::json to_json() const;
  // IoError naming `where` on a missing or malformed field.
  static PeftConfig from_json(const nlohmann::json& j, const std::string& where);
};

// Reads a `peft:` section; keys of another method are reported ("only used with method: x").
void bind(config::Section& s, PeftConfig& c);

// Whether a module name matches one pattern (see the header comment).
bool name_matches(const std::string& name, const std::string& pattern);

}  // namespace ptm::peft
