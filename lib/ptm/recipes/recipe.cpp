// Recipe resolution and the top-level strict check.
#include "ptm/recipes/recipe.h"

#include <filesystem>

#include "ptm/config/binder.h"
#include "ptm/config/load.h"
#include "ptm/config/overrides.h"
#include "ptm/core/text.h"
#include "ptm/models/hf_auto.h"

namespace ptm::recipes {

std::vector<SectionInfo> sections() {
  return {
      {"run", "run directory, device, seed, threads, log level"},
      {"train", "loop length, batch size, accumulation, logging/eval/checkpoint cadence, clipping, precision"},
      {"schedule", "learning-rate schedule component (ptm list schedules)"},
      {"optimizer", "adamw (fused) or sgd: lr, weight decay and its exemptions, betas, momentum"},
      {"objective", "training objective component (ptm list objectives); the subcommand picks a default"},
      {"data", "data set component (ptm list data)"},
      {"init_from", "start from other weights: {hf: folder} or {checkpoint: folder}, strict"},
      {"peft", "parameter-efficient fine-tuning: method lora|adapter|prefix|bitfit, targets, sizes, modules_to_save"},
      {"freeze", "weights kept fixed: backbone (linear probe), embeddings, first_layers, name patterns"},
      {"model", "model component (ptm list models), usually a preset from configs/models/"},
      {"prepare", "corpus preparation for ptm data prepare: sources, tokenizer, split, shards"},
      {"prune", "ptm prune: criterion, granularity (unstructured, nm, structured), sparsity, scope, calibration; in pretrain/finetune/distill: gradual pruning (initial_sparsity, start_step, end_step, every)"},
      {"supernet", "train an elastic super-network: sampling (sandwich, sortednet, uniform), heads/inner/min_depth choices"},
      {"nas", "ptm nas search: objectives, algorithm (nsga2, random), population, generations, constraints, latency"},
  };
}

namespace {

std::string type_of(const config::Node* section) {
  const auto* t = section && section->is_map() ? section->find("type") : nullptr;
  return t && t->is_scalar() ? t->text() : std::string();
}

// The objective decides how labelled data reads its labels, in this one place:
// objective regression makes text_classification read numbers (data.label_type, filled in
// when the recipe leaves it out, so config.yaml records it; a contradiction is refused), and
// per-token labels (data type token_classification) go with objective token_classification.
// A task mixture's sources are data sets of their own (data.sources.<i>): each follows it.
config::Node labels_follow_objective(const config::Node& given, config::BindContext& ctx) {
  config::Node root = given;
  const auto* objective_node = root.find("objective");
  const std::string objective = type_of(objective_node);
  std::vector<std::string> sets;  // paths of the labelled data sections
  if (const auto* data = root.find("data"); type_of(data) == "task_mixture") {
    const auto* sources = data->find("sources");
    for (size_t i = 0; sources && sources->is_sequence() && i < sources->items().size(); ++i)
      sets.push_back("data.sources." + std::to_string(i));
  } else if (data) {
    sets.push_back("data");
  }
  const auto section_at = [&](const std::string& path) {
    const config::Node* n = &root;
    for (const auto& part : text::split(path, '.'))
      n = n && n->is_sequence() ? &n->items()[std::stoul(part)] : n && n->is_map() ? n->find(part) : nullptr;
    return n;
  };
  for (const auto& path : sets) {
    const auto* data = section_at(path);
    const std::string data_type = type_of(data);
    if (data_type == "text_classification") {
      const bool regression = objective == "regression";
      const auto* label_type = data->find("label_type");
      if (!label_type && regression) {
        config::Node value = config::to_node(std::string("number"));
        value.set_origin(Origin{"objective.type regression"});
        config::set_path(root, path + ".label_type", value);
      } else if (label_type && label_type->is_scalar() && (label_type->text() == "number") != regression &&
                 (label_type->text() == "number" || label_type->text() == "class")) {
        ctx.add(label_type->origin(), path + ".label_type",
                "'" + label_type->text() + "' contradicts objective.type " +
                    (objective.empty() ? "(the command's default)" : "'" + objective + "'") +
                    ": objective regression reads numbers, the others classes (leave label_type out)");
      }
    }
    if (!objective.empty() && (data_type == "token_classification") != (objective == "token_classification") &&
        (data_type == "token_classification" || data_type == "text_classification")) {
      const auto* where = objective_node->find("type");
      ctx.add(where ? where->origin() : Origin{}, "objective.type",
              "'" + objective + "' does not fit data type " + data_type + (path == "data" ? "" : " (" + path + ")") +
                  ": per-token labels (data type token_classification) go with objective token_classification, "
                  "and only with it");
    }
  }
  return root;
}

}  // namespace

config::Node resolve(const RecipeSource& source) {
  config::Node root = config::load_recipe(source.path);
  config::apply_overrides(root, source.overrides);
  auto sugar = [&](const char* flag, const char* path, config::Node value) {
    value.set_origin(Origin{std::string("flag ") + flag});
    config::set_path(root, path, std::move(value));
  };
  if (source.sugar.run_dir) sugar("--run-dir", "run.dir", config::to_node(*source.sugar.run_dir));
  if (source.sugar.device) sugar("--device", "run.device", config::to_node(*source.sugar.device));
  if (source.sugar.seed) sugar("--seed", "run.seed", config::to_node(*source.sugar.seed));
  if (source.sugar.log_level) sugar("--log-level", "run.log_level", config::to_node(*source.sugar.log_level));
  return root;
}

Recipe check(const config::Node& given, const std::string& default_name) {
  config::BindContext ctx;
  const config::Node root = labels_follow_objective(given, ctx);
  config::Section top(ctx, &root, "", root.origin());
  Recipe r;
  {
    config::Section s = top.sub("run");
    config::bind(s, r.run, default_name);
  }
  {
    config::Section s = top.sub("train");
    train::bind(s, r.train);
  }
  r.schedule = optim::parse_schedule(top.sub("schedule"));
  {
    config::Section s = top.sub("optimizer");
    optim::bind(s, r.optimizer);
  }
  if (root.find("objective")) r.objective = objectives::parse_objective(top.sub("objective"), "");
  // Optional sections: bound only when the recipe has them.
  if (root.find("prepare")) {
    config::Section s = top.sub("prepare");
    r.prepare.emplace();
    data::bind(s, *r.prepare);
  }
  if (root.find("data")) r.data = data::parse_dataset(top.sub("data"));
  if (root.find("init_from")) {
    config::Section s = top.sub("init_from");
    bind(s, r.init_from);
  }
  // init_from.hf: config.json's architecture builds the model, as from_pretrained does, with
  // the model: section's keys laid over it where they keep the weights' shapes (hf_auto.h).
  // Other model types (electra, mlp) and folders without config.json build from model: alone.
  models::HfModelKind hf_kind;
  const auto* init = root.find("init_from");
  const auto* hf = init && init->is_map() ? init->find("hf") : nullptr;
  const bool hf_folder = !r.init_from.hf.empty() && std::filesystem::is_directory(r.init_from.hf);
  const std::string model_type = type_of(root.find("model"));
  const bool over_hf = hf_folder && std::filesystem::exists(r.init_from.hf + "/config.json") &&
                       (model_type.empty() || model_type == "gpt" || model_type == "bert" || model_type == "vit" ||
                        model_type == "resnet");
  if (root.find("model") && !over_hf) {
    r.model = models::parse_model(top.sub("model"));
  } else if (hf_folder) {
    try {
      if (root.find("model")) {
        config::Section s = top.sub("model");
        r.model = models::hf_model_builder(r.init_from.hf, s, !r.init_from.layers.empty(), &hf_kind);
      } else {
        r.model = models::hf_model_builder(r.init_from.hf, &hf_kind);
      }
    } catch (const Error& e) {
      ctx.add(hf ? hf->origin() : Origin{}, "init_from.hf", e.what());
    }
  }
  if (root.find("peft")) {
    config::Section s = top.sub("peft");
    peft::bind(s, r.peft.emplace());
  }
  if (root.find("freeze")) {
    config::Section s = top.sub("freeze");
    train::bind(s, r.freeze);
  }
  if (root.find("prune")) {
    config::Section s = top.sub("prune");
    compress::bind(s, r.prune.emplace());
  }
  if (root.find("supernet")) {
    config::Section s = top.sub("supernet");
    nas::bind(s, r.supernet.emplace());
    // The sliced forward pass bypasses PEFT hooks, and drawing sub-networks reads the host.
    if (root.find("peft")) ctx.add(s.where("sampling"), "supernet", "cannot be combined with peft: (the sliced layers skip adapters)");
    if (r.train.cuda_graph) ctx.add(s.where("sampling"), "supernet", "cannot be combined with train.cuda_graph (each step draws its sub-networks)");
  }
  if (root.find("nas")) {
    config::Section s = top.sub("nas");
    nas::bind(s, r.nas.emplace());
  }
  top.finish();
  // Only the transformer stacks recompute their blocks (ModelImpl::set_activation_checkpointing).
  if (r.train.activation_checkpointing) {
    const auto* model = root.find("model");
    const auto* type = model && model->is_map() ? model->find("type") : nullptr;
    const std::string name = type && type->is_scalar() ? type->text() : hf_kind.family;
    if (name != "gpt" && name != "bert") {
      const auto* train = root.find("train");
      const auto* key = train && train->is_map() ? train->find("activation_checkpointing") : nullptr;
      ctx.add(key ? key->origin() : Origin{}, "train.activation_checkpointing",
              "supported by gpt and bert models" + (name.empty() ? std::string() : ", not " + name));
    }
  }
  ctx.throw_if_any();
  r.resolved = config::with_defaults(root, ctx);
  return r;
}

Recipe load(const RecipeSource& source) {
  return check(resolve(source), std::filesystem::path(source.path).stem().string());
}

}  // namespace ptm::recipes
