// `ptm export --format hf --from RUN|CHECKPOINT --out DIR`: weights for Hugging Face.
// `ptm eval --config R | --from RUN|CHECKPOINT`: metrics on the validation split as JSON.
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
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--format", a->format, "hf (the only format so far)")->check(CLI::IsMember({"hf"}));
  sub->add_option("--from", a->from, "run directory (newest checkpoint) or checkpoint folder")->required();
  sub->add_option("--out", a->out, "output folder")->required();
  sub->add_flag("--overwrite", a->overwrite, "replace an existing output folder");
  sub->callback([&action, a] {
    action = [a] {
      const auto run = recipes::load_run_model(a->from);
      recipes::export_hf(run, a->out, a->overwrite);
      std::cout << "exported " << run.checkpoint << " -> " << a->out << "\n";
      return 0;
    };
  });
}

void add_eval(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("eval", "Evaluate a run's model on its validation split; prints JSON");
  struct Args {
    std::string from, device = "auto", out;
    int64_t batches = 0;
    std::vector<std::string> overrides;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("overrides", a->overrides,
                  "key.path=value changes to the run's recipe, e.g. data.val=other.tsv or objective.type=adversarial");
  sub->add_option("--from", a->from, "run directory (newest checkpoint) or checkpoint folder")->required();
  sub->add_option("--device", a->device, "auto, cpu, cuda or cuda:N");
  sub->add_option("--batches", a->batches, "evaluate at most this many batches (default: the whole split)");
  sub->add_option("--out", a->out, "also write the JSON here (default: <run>/eval.json)");
  sub->callback([&action, a] {
    action = [a] {
      const auto run = recipes::load_run_model(a->from, a->overrides);
      auto result = recipes::evaluate_recipe(run.recipe, *run.model, resolve_device(a->device), a->batches);
      result["checkpoint"] = run.checkpoint;
      fs_util::write_file_atomic(a->out.empty() ? run.run_dir + "/eval.json" : a->out, result.dump(2) + "\n");
      std::cout << result.dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace ptm::cli
