// Rebuilding a run's model, HF export and evaluation.
#include "ptm/recipes/run_model.h"

#include <filesystem>

#include "ptm/config/load.h"
#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"
#include "ptm/models/low_rank.h"
#include "ptm/models/hf_folder.h"
#include "ptm/recipes/hf_export_files.h"
#include "ptm/peft/peft.h"
#include "ptm/train/checkpoint.h"
#include "ptm/train/trainer.h"

namespace fs = std::filesystem;

namespace ptm::recipes {
namespace {

// The recipe at `config` with `overrides`, and its model built (random weights, CPU).
RunModel build_from_recipe(const std::string& config, const std::vector<std::string>& overrides) {
  RunModel r;
  RecipeSource src;
  src.path = config;
  src.overrides = overrides;
  r.recipe = load(src);
  if (!r.recipe.model) throw ConfigError(Origin{config}, "model", "missing: the recipe has no model: section");
  r.model = r.recipe.model();
  return r;
}

}  // namespace

RunModel load_run_model(const std::string& from, const std::vector<std::string>& overrides) {
  RunModel r;
  if (!fs::exists(from)) throw IoError("'" + from + "' does not exist (expected a run directory or a checkpoint)");
  if (fs::exists(fs::path(from) / "DONE")) {
    r.checkpoint = fs::canonical(from).string();
    r.run_dir = fs::path(r.checkpoint).parent_path().parent_path().string();
  } else {
    r.run_dir = from;
    const auto latest = train::latest_checkpoint(from);
    if (!latest) throw IoError("'" + from + "' holds no complete checkpoint (checkpoints/step_*/DONE)");
    r.checkpoint = *latest;
  }
  const std::string config = r.run_dir + "/config.yaml";
  if (!fs::exists(config)) throw IoError("'" + config + "' not found: '" + from + "' is not inside a ptm run directory");
  // The weights come from the checkpoint: config.json of the init_from.hf the run started from
  // does not shape the model when config.yaml describes it whole (a pruned run keeps the
  // folder it was pruned from). init_from stays in the recipe (ptm merge compares it).
  const config::Node given = config::load_recipe(config);
  const auto* model = given.find("model");
  const auto* init = given.find("init_from");
  const bool whole = model && model->is_map() && model->find("type") && init && init->is_map() && init->find("hf");
  auto more = overrides;
  if (whole) more.push_back("~init_from");
  auto built = build_from_recipe(config, more);
  if (whole) {
    const auto* hf = init->find("hf");
    if (hf->is_scalar()) built.recipe.init_from.hf = hf->text();
  }
  r.recipe = std::move(built.recipe);
  r.model = std::move(built.model);
  if (r.recipe.peft) peft::apply(*r.recipe.peft, *r.model);  // the checkpoint holds the PEFT tensors too
  train::load_checkpoint(r.checkpoint, *r.model, nullptr);
  r.model->eval();
  log::info("loaded " + r.checkpoint);
  return r;
}

RunModel load_recipe_model(const std::string& config, const std::vector<std::string>& overrides) {
  RunModel r = build_from_recipe(config, overrides);
  if (r.recipe.init_from.empty())
    throw ConfigError(Origin{config}, "init_from",
                      "missing: ptm eval --config needs the weights to evaluate, e.g. init_from.hf=merged/ "
                      "(or evaluate a run with --from RUN)");
  apply_init_from(r.recipe.init_from, *r.model);
  r.model->eval();
  return r;
}

void export_hf(const RunModel& run, const std::string& out, bool overwrite, size_t max_shard_bytes) {
  if (fs::exists(out) && !fs::is_empty(out) && !overwrite)
    throw ConfigError(Origin{out}, "--out", "exists and is not empty; pass --overwrite to replace it");
  models::require_unfactorised(*run.model);  // low_rank.h: transformers has no two-factor Linear
  run.model->hf_config();  // refuses models without an HF twin (naming why) before writing anything
  peft::merge_lora(*run.model);  // a LoRA run exports its merged weights
  if (const auto left = peft::unmergeable_modules(*run.model); !left.empty())
    throw ConfigError(Origin{run.checkpoint}, "--from",
                      "holds PEFT modules that plain Hugging Face weights cannot express (" + left.front() +
                          "); use the run's adapter/ folder with its base model");
  const std::string tmp = out + ".partial";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  models::save_hf_folder_sharded(*run.model, tmp, max_shard_bytes);
  // The tokenizer and label names of the run's data, and the generation settings.
  write_hf_extras(tmp, data_extras(run.recipe.resolved));
  fs::remove_all(out);
  if (!fs::path(out).parent_path().empty()) fs::create_directories(fs::path(out).parent_path());
  fs::rename(tmp, out);
}

nlohmann::json evaluate_recipe(const Recipe& recipe, models::ModelImpl& model, const std::string& device,
                               int64_t max_batches, const std::string& split) {
  if (!recipe.data) throw ConfigError(Origin{}, "data", "missing: evaluation needs a data: section");
  const auto objective = recipe.objective ? recipe.objective() : objectives::make("causal_lm");
  data::StreamOptions o;
  o.batch_size = recipe.train.batch_size;
  o.split = split;
  o.train = false;
  o.seed = recipe.run.seed;
  auto stream = recipe.data(o);
  if (!stream) throw ConfigError(Origin{}, "--split", "the data set has no '" + split + "' split (set data.test)");
  model.to(torch::Device(device));
  objective->attach(model, torch::Device(device));
  auto result = train::evaluate(model, *objective, *stream, torch::Device(device),
                                max_batches > 0 ? max_batches : INT64_MAX, recipe.train.precision);
  result["objective"] = objective->name();
  result["split"] = split;
  return result;
}

}  // namespace ptm::recipes
