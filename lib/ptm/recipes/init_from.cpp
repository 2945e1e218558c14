// Loading initial weights with a report.
#include "ptm/recipes/init_from.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "ptm/core/errors.h"
#include "ptm/core/log.h"
#include "ptm/models/hf_auto.h"
#include "ptm/models/hf_contradictions.h"

namespace fs = std::filesystem;

namespace ptm::recipes {
namespace {

// Keeps the tensors of source layers `layers[j]` renamed to layer j (encoder.layer.N., h.N. or
// Llama's layers.N.).
models::NamedTensors select_layers(const models::NamedTensors& tensors, const std::vector<int64_t>& layers) {
  static const std::regex layer_re(R"((^|\.)(encoder\.layer|h|layers)\.(\d+)\.)");
  models::NamedTensors out;
  for (const auto& [name, t] : tensors) {
    std::smatch m;
    if (!std::regex_search(name, m, layer_re)) {
      out.emplace_back(name, t);
      continue;
    }
    const auto it = std::find(layers.begin(), layers.end(), std::stoll(m[3].str()));
    if (it == layers.end()) continue;
    out.emplace_back(m.prefix().str() + m[1].str() + m[2].str() + "." + std::to_string(it - layers.begin()) + "." +
                         m.suffix().str(),
                     t);
  }
  return out;
}

}  // namespace

void bind(config::Section& s, InitFrom& c) {
  if (s.opt("hf", c.hf, "Hugging Face folder (config.json + safetensors)").ok() && !c.hf.empty() && !fs::exists(c.hf))
    s.problem("hf", "'" + c.hf + "' does not exist" + (c.hf.rfind("data/", 0) == 0 ? " (run scripts/get-data.sh)" : ""));
  if (s.opt("checkpoint", c.checkpoint, "ptm checkpoint folder").ok() && !c.checkpoint.empty() &&
      !fs::exists(c.checkpoint + "/model.safetensors"))
    s.problem("checkpoint", "'" + c.checkpoint + "' holds no model.safetensors");
  s.opt("min_loaded", c.min_loaded, "share of the model's weights that must come from the file").min(0.0).max(1.0);
  s.opt("layers", c.layers, "source layer index for each model layer (e.g. every k-th: [0, 2, 4])");
  for (const auto l : c.layers)
    if (l < 0) s.problem("layers", "layer indices must be >= 0, got " + std::to_string(l));
  // The default depends on the source; set before binding, so config.yaml records the value
  // used (a re-check of the resolved recipe must not turn an hf init strict).
  c.strict_given = s.node() && s.node()->find("strict");
  if (!c.strict_given) c.strict = c.hf.empty();
  s.opt("strict", c.strict, "every model tensor must come from the checkpoint");
  if (!c.hf.empty() && !c.checkpoint.empty()) s.problem("hf", "give either hf or checkpoint, not both");
  if (c.empty()) s.problem("hf", "init_from needs hf: or checkpoint:");
  s.finish();
}

void apply_init_from(const InitFrom& init, models::ModelImpl& model) {
  const std::string src = init.hf.empty() ? init.checkpoint + "/model.safetensors" : init.hf;
  auto tensors = models::load_safetensors(src);
  if (!init.layers.empty()) tensors = select_layers(tensors, init.layers);
  const auto report = model.load_hf_state_dict(tensors, /*strict=*/false);
  if (!report.mismatched.empty() || (init.strict && !report.ok())) {
    // A model built from the folder's config.json: the key that contradicts the weights.
    std::string keys;
    const std::string config = init.hf + "/config.json";
    if (!init.hf.empty() && fs::exists(config)) keys = models::hf_config_contradictions(models::read_hf_config(init.hf), config, report.mismatched);
    throw IoError("init_from '" + src + "' does not fit the model:\n" + keys + report.str());
  }
  // Names that match nothing (another architecture, a prefix the loader does not know) load
  // nothing without a mismatch: a run would silently train from scratch.
  const double share = report.model_values > 0 ? double(report.loaded_values) / double(report.model_values) : 0.0;
  if (share < init.min_loaded) {
    char pct[32], min[32];
    std::snprintf(pct, sizeof(pct), "%.1f%%", 100.0 * share);
    std::snprintf(min, sizeof(min), "%g", init.min_loaded);
    throw IoError("init_from '" + src + "' loads " + pct + " of the " + model.arch() + " model's " +
                  std::to_string(report.model_values) + " weights (" + std::to_string(tensors.size()) +
                  " tensors in the file, " + std::to_string(report.missing.size()) + " model tensors not found, e.g. " +
                  (report.missing.empty() ? std::string("-") : report.missing.front()) + "; " +
                  std::to_string(report.unexpected.size()) + " file tensors unused, e.g. " +
                  (report.unexpected.empty() ? std::string("-") : report.unexpected.front()) +
                  "); init_from.min_loaded is " + min +
                  ": check that the file is for this model");
  }
  for (const auto& m : report.missing) log::warn("init_from: " + m + " not in " + src + "; keeps its initialisation");
  for (const auto& u : report.unexpected) log::info("init_from: " + u + " in " + src + " is not used by the model");
  log::info("init_from: weights loaded from " + src);
}

}  // namespace ptm::recipes
