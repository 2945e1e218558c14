// Loading initial weights with a report.
#include "ptm/recipes/init_from.h"

#include <filesystem>

#include "ptm/core/errors.h"
#include "ptm/core/log.h"

namespace fs = std::filesystem;

namespace ptm::recipes {

void bind(config::Section& s, InitFrom& c) {
  if (s.opt("hf", c.hf, "Hugging Face folder (config.json + safetensors)").ok() && !c.hf.empty() && !fs::exists(c.hf))
    s.problem("hf", "'" + c.hf + "' does not exist" + (c.hf.rfind("data/", 0) == 0 ? " (run scripts/get-data.sh)" : ""));
  if (s.opt("checkpoint", c.checkpoint, "ptm checkpoint folder").ok() && !c.checkpoint.empty() &&
      !fs::exists(c.checkpoint + "/model.safetensors"))
    s.problem("checkpoint", "'" + c.checkpoint + "' holds no model.safetensors");
  c.strict_given = s.node() && s.node()->find("strict");
  s.opt("strict", c.strict, "every model tensor must come from the checkpoint");
  if (!c.strict_given) c.strict = c.hf.empty();
  if (!c.hf.empty() && !c.checkpoint.empty()) s.problem("hf", "give either hf or checkpoint, not both");
  if (c.empty()) s.problem("hf", "init_from needs hf: or checkpoint:");
  s.finish();
}

void apply_init_from(const InitFrom& init, models::ModelImpl& model) {
  const std::string src = init.hf.empty() ? init.checkpoint + "/model.safetensors" : init.hf;
  const auto report = model.load_hf_state_dict(models::load_safetensors(src), /*strict=*/false);
  if (!report.mismatched.empty() || (init.strict && !report.ok()))
    throw IoError("init_from '" + src + "' does not fit the model:\n" + report.str());
  for (const auto& m : report.missing) log::warn("init_from: " + m + " not in " + src + "; keeps its initialisation");
  for (const auto& u : report.unexpected) log::info("init_from: " + u + " in " + src + " is not used by the model");
  log::info("init_from: weights loaded from " + src);
}

}  // namespace ptm::recipes
