// `ptm merge lora|soup|task-vector`: several runs' weights into one plain model (lib/ptm/peft/merge.h).
//   ptm merge lora --from RUN|CHECKPOINT --out DIR
//   ptm merge soup --inputs A B C [--greedy --eval-config R [--eval-override key=value]] --out DIR
//   ptm merge task-vector --base B --inputs FT1 FT2 [--coef 1.0 -0.5] --out DIR
#include <iostream>
#include <memory>

#include "commands.h"
#include "ptm/core/environment.h"
#include "ptm/peft/merge.h"

namespace ptm::cli {

void add_merge(CLI::App& app, Action& action) {
  auto* merge = app.add_subcommand("merge", "Merge weights: fold LoRA, average runs (soups), task arithmetic");
  merge->require_subcommand(1);
  auto out = std::make_shared<peft::MergeOutput>();
  const auto add_out = [out](CLI::App* sub) {
    sub->add_option("--out", out->out, "output folder (config.json + model.safetensors + merge.json)")->required();
    sub->add_flag("--overwrite", out->overwrite, "replace an existing output folder");
  };
  const auto done = [](const nlohmann::json& info, const std::string& dir) {
    std::cout << info.dump(2) << "\nmerged -> " << dir << "\n";
    return 0;
  };

  auto* lora = merge->add_subcommand("lora", "Fold a LoRA run's updates (alpha/r) B A into its base weights");
  auto from = std::make_shared<std::string>();
  lora->add_option("--from", *from, "run directory (newest checkpoint) or checkpoint folder")->required();
  add_out(lora);
  lora->callback([&action, from, out, done] {
    action = [from, out, done] { return done(peft::merge_lora_run(*from, *out), out->out); };
  });

  auto* soup = merge->add_subcommand("soup", "Average runs that share an initialisation (uniform or greedy soup)");
  auto so = std::make_shared<peft::SoupOptions>();
  soup->add_option("--inputs", so->inputs, "run directories or checkpoint folders")->required()->expected(2, -1);
  soup->add_flag("--greedy", so->greedy, "add ingredients by held-out metric, keep each only if not worse");
  soup->add_option("--eval-config", so->eval_config, "recipe whose data: validation split is the held-out set");
  soup->add_option("--metric", so->metric, "metric to rank by (default: accuracy, else loss)");
  soup->add_option("--device", so->device, "auto, cpu, cuda or cuda:N for the evaluations");
  soup->add_option("--eval-batches", so->eval_batches, "evaluate at most this many batches (default: all)");
  soup->add_option("--eval-override", so->eval_overrides, "key=value override of the --eval-config recipe (repeatable)")
      ->allow_extra_args(false);
  add_out(soup);
  soup->callback([&action, so, out, done] {
    action = [so, out, done] {
      so->device = resolve_device(so->device);
      return done(peft::merge_soup(*so, *out), out->out);
    };
  });

  auto* tv = merge->add_subcommand("task-vector", "base + sum coef_i (finetuned_i - base): add, negate, scale");
  auto to = std::make_shared<peft::TaskVectorOptions>();
  tv->add_option("--base", to->base, "the pre-trained weights: run, checkpoint or Hugging Face folder")->required();
  tv->add_option("--inputs", to->inputs, "fine-tuned runs or checkpoint folders")->required()->expected(1, -1);
  tv->add_option("--coef", to->coef, "one coefficient per input, or one for all (default 1)")->expected(1, -1);
  add_out(tv);
  tv->callback([&action, to, out, done] {
    action = [to, out, done] { return done(peft::merge_task_vector(*to, *out), out->out); };
  });
}

}  // namespace ptm::cli
