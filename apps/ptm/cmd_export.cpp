// `ptm export --format hf --from RUN|CHECKPOINT --out DIR`: weights for Hugging Face.
// `ptm eval --from RUN|CHECKPOINT | --config R`: metrics on the validation split as JSON.
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.h"
#include "ptm/core/environment.h"
#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/recipes/run_model.h"

namespace ptm::cli {

void add_export(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("export", "Write a run's weights as a Hugging Face folder (config.json + safetensors)");
  struct Args {
    std::string format = "hf", from, out;
    bool overwrite = false;
    double max_shard_mb = 5120;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--format", a->format, "hf (the only format so far)")->check(CLI::IsMember({"hf"}));
  sub->add_option("--from", a->from, "run directory (newest checkpoint) or checkpoint folder")->required();
  sub->add_option("--out", a->out, "output folder")->required();
  sub->add_flag("--overwrite", a->overwrite, "replace an existing output folder");
  sub->add_option("--max-shard-mb", a->max_shard_mb,
                  "weights above this size (MiB) go into shards + model.safetensors.index.json (default 5120)")
      ->check(CLI::PositiveNumber);
  sub->callback([&action, a] {
    action = [a] {
      const auto run = recipes::load_run_model(a->from);
      recipes::export_hf(run, a->out, a->overwrite, static_cast<size_t>(a->max_shard_mb * 1024 * 1024));
      std::cout << "exported " << run.checkpoint << " -> " << a->out << "\n";
      return 0;
    };
  });
}

void add_eval(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("eval", "Evaluate a run's model on its validation (or test) split; prints JSON");
  struct Args {
    std::string from, config, device = "auto", out, split = "val";
    int64_t batches = 0;
    std::vector<std::string> overrides;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("overrides", a->overrides,
                  "key.path=value changes to the run's recipe, e.g. data.val=other.tsv or objective.type=adversarial");
  auto* from = sub->add_option("--from", a->from, "run directory (newest checkpoint) or checkpoint folder");
  auto* config = sub->add_option("--config", a->config,
                                 "or: a recipe whose init_from: names the weights (e.g. a ptm merge output)");
  from->excludes(config);
  sub->add_option("--device", a->device, "auto, cpu, cuda or cuda:N");
  sub->add_option("--batches", a->batches, "evaluate at most this many batches (default: the whole split)");
  sub->add_option("--split", a->split, "val (the validation split) or test (data.test, or t10k with val_fraction)")
      ->check(CLI::IsMember({"val", "test"}));
  sub->add_option("--out", a->out, "also write the JSON here (default: <run>/eval.json)");
  sub->callback([&action, a] {
    action = [a] {
      if (a->from.empty() && a->config.empty())
        throw ConfigError(Origin{}, "--from", "missing: give --from RUN|CHECKPOINT or --config RECIPE");
      const bool recipe = !a->config.empty();
      const auto run = recipe ? recipes::load_recipe_model(a->config, a->overrides)
                              : recipes::load_run_model(a->from, a->overrides);
      auto result = recipes::evaluate_recipe(run.recipe, *run.model, resolve_device(a->device), a->batches, a->split);
      if (recipe)
        result["init_from"] = run.recipe.init_from.hf.empty() ? run.recipe.init_from.checkpoint : run.recipe.init_from.hf;
      else
        result["checkpoint"] = run.checkpoint;
      // A recipe has no run folder: its JSON goes to stdout and to --out when given.
      if (!a->out.empty() || !recipe)
        fs_util::write_file_atomic(a->out.empty() ? run.run_dir + "/eval.json" : a->out, result.dump(2) + "\n");
      std::cout << result.dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace ptm::cli
