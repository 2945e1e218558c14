// `ptm info`: versions, CUDA/cuDNN, devices, threads, build options.
// `ptm info --model configs/models/<preset>.yaml`: the model's per-block summary instead.
// `ptm info --hf DIR`: the model a Hugging Face folder's config.json builds, and its summary.
#include <iostream>
#include <memory>

#include "commands.h"
#include "ptm/core/environment.h"
#include "ptm/core/errors.h"
#include "ptm/models/hf_auto.h"
#include "ptm/models/model_summary.h"
#include "ptm/recipes/recipe.h"

namespace ptm::cli {
namespace {

struct InfoArgs {
  bool json = false;
  std::string model, hf;
  int64_t seq_len = 0;
  std::vector<std::string> overrides;
};

int run_info(const InfoArgs& a) {
  const int64_t T = a.seq_len > 0 ? a.seq_len : 1024;
  if (!a.hf.empty()) {
    if (!a.model.empty()) throw ConfigError(Origin{"command line"}, "--hf", "give either --hf or --model, not both");
    models::HfModelKind kind;
    const auto model = models::hf_model_builder(a.hf, &kind)();
    std::cout << a.hf << "/config.json: " << kind.architecture << " -> ptm model " << kind.family << "\n";
    std::cout << models::summary_table(*model, T);
    return 0;
  }
  if (a.model.empty()) {
    const auto env = environment();
    std::cout << (a.json ? env.dump(2) + "\n" : environment_report(env));
    return 0;
  }
  recipes::RecipeSource src;
  src.path = a.model;
  src.overrides = a.overrides;
  const auto recipe = recipes::load(src);
  if (!recipe.model) throw ConfigError(Origin{a.model}, "model", "missing: --model needs a file with a model: section");
  const auto model = recipe.model();
  std::cout << models::summary_table(*model, T);
  return 0;
}

}  // namespace

void add_info(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("info", "Show ptm, LibTorch, CUDA and device information, or a model's summary");
  auto a = std::make_shared<InfoArgs>();
  sub->add_flag("--json", a->json, "print the fingerprint as JSON");
  sub->add_option("--model", a->model, "a model preset (configs/models/*.yaml): per-block parameters and FLOPs");
  sub->add_option("--hf", a->hf,
                  "a Hugging Face folder: the model its config.json builds (architectures / model_type)");
  sub->add_option("--seq-len", a->seq_len, "sequence length for the FLOP count (default 1024)");
  sub->add_option("overrides", a->overrides, "key.path=value overrides of the preset (model.n_layer=6)");
  sub->callback([&action, a] { action = [a] { return run_info(*a); }; });
}

}  // namespace ptm::cli
