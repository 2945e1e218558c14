// `ptm merge` lora | soup | task-vector over run directories and checkpoints, and the state-dict
// arithmetic behind them.
#include "ptm/peft/merge.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"
#include "ptm/peft/arithmetic.h"
#include "ptm/peft/peft.h"
#include "ptm/recipes/run_model.h"

namespace fs = std::filesystem;

namespace ptm::peft {
namespace {

std::string shape_str(torch::IntArrayRef s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  return o.str() + "]";
}

struct Input {
  std::string label;  // the weights file, for messages
  recipes::RunModel run;
  models::NamedTensors state;
};

// A run or checkpoint with LoRA folded in; refuses adapters and prefixes (no plain weights).
Input load_input(const std::string& from, const std::string& option) {
  Input in;
  in.run = recipes::load_run_model(from);
  in.label = in.run.checkpoint + "/model.safetensors";
  merge_lora(*in.run.model);
  const auto left = unmergeable_modules(*in.run.model);
  if (!left.empty())
    throw ConfigError(Origin{in.label}, option,
                      "holds PEFT modules without a plain-weights form (" + left.front() +
                          (left.size() > 1 ? ", ..." : "") + "); merge works on full or LoRA fine-tunes");
  // Copies: hf_state_dict() aliases the parameters, and the first input's model is reused to
  // evaluate soups (--eval-config, --greedy), which would overwrite its tensors.
  in.state = in.run.model->hf_state_dict();
  for (auto& named : in.state) named.second = named.second.detach().clone();
  return in;
}

void check_compatible(const std::vector<Input>& inputs, const std::string& option) {
  std::vector<models::NamedTensors> states;
  std::vector<std::string> labels;
  for (const auto& in : inputs) {
    if (in.run.model->arch() != inputs.front().run.model->arch())
      throw ConfigError(Origin{in.label}, option,
                        "is a " + in.run.model->arch() + " model, " + inputs.front().label + " a " +
                            inputs.front().run.model->arch() + " model: inputs must share one architecture");
    states.push_back(in.state);
    labels.push_back(in.label);
  }
  check_same_tensors(states, labels);
}

std::string path_key(const std::string& p) {
  std::error_code ec;
  const auto c = fs::weakly_canonical(p, ec);
  return ec ? p : c.string();
}

// What a run started from: its init_from weights, or (none) its seed.
std::string initialisation(const recipes::Recipe& r) {
  if (!r.init_from.hf.empty()) return "init_from hf " + path_key(r.init_from.hf);
  if (!r.init_from.checkpoint.empty()) return "init_from checkpoint " + path_key(r.init_from.checkpoint);
  return "no init_from, seed " + std::to_string(r.run.seed);
}

void write_output(models::ModelImpl& model, const MergeOutput& o, const recipes::Recipe& recipe, nlohmann::json info) {
  if (fs::exists(o.out) && !fs::is_empty(o.out) && !o.overwrite)
    throw ConfigError(Origin{o.out}, "--out", "exists and is not empty; pass --overwrite to replace it");
  model.hf_config();  // refuses models without a Hugging Face twin before writing anything
  const std::string tmp = o.out + ".partial";
  fs::remove_all(tmp);
  models::save_hf_folder(model, tmp);
  // A Hugging Face base's tokenizer files travel with the merged weights.
  if (!recipe.init_from.hf.empty())
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"})
      if (fs::exists(recipe.init_from.hf + "/" + f)) fs::copy_file(recipe.init_from.hf + "/" + f, tmp + "/" + f);
  fs_util::write_file_atomic(tmp + "/merge.json", info.dump(2) + "\n");
  fs::remove_all(o.out);
  if (!fs::path(o.out).parent_path().empty()) fs::create_directories(fs::path(o.out).parent_path());
  fs::rename(tmp, o.out);
  log::info("merged model written to " + o.out);
}

void load_state(models::ModelImpl& model, const models::NamedTensors& state) {
  const auto r = model.load_hf_state_dict(state, /*strict=*/true);
  if (!r.ok()) throw RuntimeError("merge: the merged tensors do not fit the model:\n" + r.str());
}

}  // namespace

void check_same_tensors(const std::vector<models::NamedTensors>& states, const std::vector<std::string>& labels) {
  if (states.empty()) return;
  std::map<std::string, torch::Tensor> first(states[0].begin(), states[0].end());
  for (size_t i = 1; i < states.size(); ++i) {
    std::vector<std::string> problems;
    std::set<std::string> seen;
    for (const auto& [name, t] : states[i]) {
      seen.insert(name);
      const auto it = first.find(name);
      if (it == first.end())
        problems.push_back("tensor " + name + " is not in " + labels[0]);
      else if (it->second.sizes() != t.sizes())
        problems.push_back("tensor " + name + " is " + shape_str(t.sizes()) + ", " + shape_str(it->second.sizes()) +
                           " in " + labels[0]);
    }
    for (const auto& [name, t] : first)
      if (!seen.count(name)) problems.push_back("tensor " + name + " of " + labels[0] + " is missing");
    if (!problems.empty())
      throw ConfigError(Origin{labels[i]}, "inputs",
                        "does not match " + labels[0] + " (" + std::to_string(problems.size()) +
                            " difference(s); first: " + problems.front() + ")");
  }
}

models::NamedTensors average(const std::vector<models::NamedTensors>& states) {
  models::NamedTensors out;
  if (states.empty()) return out;
  torch::NoGradGuard no_grad;
  std::vector<std::map<std::string, torch::Tensor>> maps;
  for (const auto& s : states) maps.emplace_back(s.begin(), s.end());
  for (const auto& [name, t0] : states[0]) {
    if (!t0.is_floating_point()) {
      out.emplace_back(name, t0.clone());
      continue;
    }
    auto sum = t0.to(torch::kFloat64);
    for (size_t i = 1; i < maps.size(); ++i) sum = sum + maps[i].at(name).to(torch::kFloat64);
    out.emplace_back(name, (sum / static_cast<double>(states.size())).to(t0.scalar_type()));
  }
  return out;
}

models::NamedTensors apply_task_vectors(const models::NamedTensors& base,
                                        const std::vector<models::NamedTensors>& finetuned,
                                        const std::vector<double>& coef) {
  torch::NoGradGuard no_grad;
  std::vector<std::map<std::string, torch::Tensor>> ft;
  for (const auto& s : finetuned) ft.emplace_back(s.begin(), s.end());
  models::NamedTensors out;
  for (const auto& [name, b] : base) {
    if (!b.is_floating_point()) {
      out.emplace_back(name, b.clone());
      continue;
    }
    auto acc = b.to(torch::kFloat64);
    for (size_t i = 0; i < ft.size(); ++i)
      acc = acc + coef.at(i) * (ft[i].at(name).to(torch::kFloat64) - b.to(torch::kFloat64));
    out.emplace_back(name, acc.to(b.scalar_type()));
  }
  return out;
}

nlohmann::json merge_lora_run(const std::string& from, const MergeOutput& out) {
  auto run = recipes::load_run_model(from);
  const size_t n = merge_lora(*run.model);
  if (n == 0)
    throw ConfigError(Origin{run.checkpoint + "/model.safetensors"}, "--from",
                      "holds no LoRA modules (its recipe has no peft: section with method: lora)");
  const auto left = unmergeable_modules(*run.model);
  if (!left.empty())
    throw ConfigError(Origin{run.checkpoint}, "--from", "also holds modules that cannot be merged: " + left.front());
  nlohmann::json info = {{"method", "lora"}, {"from", run.checkpoint}, {"merged_layers", n}};
  write_output(*run.model, out, run.recipe, info);
  return info;
}

nlohmann::json merge_soup(const SoupOptions& o, const MergeOutput& out) {
  if (o.inputs.size() < 2) throw ConfigError(Origin{"command line"}, "--inputs", "a soup needs at least 2 inputs");
  if (o.greedy && o.eval_config.empty())
    throw ConfigError(Origin{"command line"}, "--eval-config", "--greedy needs a recipe with the held-out data");
  std::vector<Input> inputs;
  for (const auto& p : o.inputs) inputs.push_back(load_input(p, "--inputs"));
  check_compatible(inputs, "--inputs");
  const std::string init = initialisation(inputs[0].run.recipe);
  for (const auto& in : inputs)
    if (initialisation(in.run.recipe) != init)
      throw ConfigError(Origin{in.run.run_dir + "/config.yaml"}, "init_from",
                        "the inputs share no initialisation: " + initialisation(in.run.recipe) + ", but " +
                            inputs[0].run.run_dir + " has " + init + " (a soup averages fine-tunes of one model)");
  auto& model = *inputs[0].run.model;
  nlohmann::json info = {{"method", o.greedy ? "greedy_soup" : "uniform_soup"}, {"initialisation", init}};
  std::optional<recipes::Recipe> eval_recipe;
  if (!o.eval_config.empty()) {
    recipes::RecipeSource src;
    src.path = o.eval_config;
    src.overrides = o.eval_overrides;
    eval_recipe = recipes::load(src);
  }
  std::string metric = o.metric;
  const auto score = [&](const models::NamedTensors& state) {
    load_state(model, state);
    auto r = recipes::evaluate_recipe(*eval_recipe, model, o.device, o.eval_batches);
    model.to(torch::kCPU);
    if (metric.empty()) metric = r.contains("accuracy") ? "accuracy" : "loss";
    if (!r.contains(metric))
      throw ConfigError(Origin{o.eval_config}, "--metric", "the evaluation reports no " + metric);
    const bool lower_better = metric == "loss" || metric == "perplexity";
    return std::make_pair(r[metric].get<double>() * (lower_better ? -1.0 : 1.0), r);
  };
  std::vector<size_t> order(inputs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<double> scores(inputs.size(), 0.0);
  if (eval_recipe) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      const auto [s, r] = score(inputs[i].state);
      scores[i] = s;
      info["ingredients"].push_back({{"input", inputs[i].run.checkpoint}, {"eval", r}});
      log::info("soup ingredient " + inputs[i].run.checkpoint + ": " + metric + " " + r[metric].dump());
    }
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  }
  std::vector<models::NamedTensors> kept;
  if (o.greedy) {
    kept.push_back(inputs[order[0]].state);
    info["kept"].push_back(inputs[order[0]].run.checkpoint);
    double best = scores[order[0]];
    for (size_t k = 1; k < order.size(); ++k) {
      auto candidate = kept;
      candidate.push_back(inputs[order[k]].state);
      const double s = score(average(candidate)).first;
      const bool keep = s >= best;
      log::info("greedy soup: " + inputs[order[k]].run.checkpoint + (keep ? " kept" : " dropped"));
      if (keep) {
        kept = std::move(candidate);
        best = s;
        info["kept"].push_back(inputs[order[k]].run.checkpoint);
      }
    }
  } else {
    for (const auto& in : inputs) {
      kept.push_back(in.state);
      info["kept"].push_back(in.run.checkpoint);
    }
  }
  const auto soup = average(kept);
  if (eval_recipe) {
    const auto [s, r] = score(soup);
    info["soup_eval"] = r;
    info["metric"] = metric;
  }
  load_state(model, soup);
  write_output(model, out, inputs[0].run.recipe, info);
  return info;
}

nlohmann::json merge_task_vector(const TaskVectorOptions& o, const MergeOutput& out) {
  if (o.inputs.empty()) throw ConfigError(Origin{"command line"}, "--inputs", "name at least one fine-tuned run");
  std::vector<double> coef = o.coef.empty() ? std::vector<double>(o.inputs.size(), 1.0) : o.coef;
  if (coef.size() == 1) coef.assign(o.inputs.size(), coef[0]);
  if (coef.size() != o.inputs.size())
    throw ConfigError(Origin{"command line"}, "--coef",
                      std::to_string(o.coef.size()) + " coefficients for " + std::to_string(o.inputs.size()) +
                          " inputs: give one per input, or one for all");
  std::vector<Input> inputs;
  for (const auto& p : o.inputs) inputs.push_back(load_input(p, "--inputs"));
  // The base: a run or checkpoint like the inputs, or a Hugging Face folder read into their model.
  Input base;
  if (fs::exists(fs::path(o.base) / "config.json") && !fs::exists(fs::path(o.base) / "DONE")) {
    base.label = o.base + "/model.safetensors";
    base.run.recipe = inputs[0].run.recipe;
    base.run.run_dir = o.base;
    base.run.checkpoint = o.base;
    base.run.model = inputs[0].run.recipe.model();
    const auto r = base.run.model->load_hf_state_dict(models::load_safetensors(o.base), /*strict=*/false);
    if (!r.ok())
      throw ConfigError(Origin{base.label}, "--base",
                        "does not fit the inputs' " + inputs[0].run.model->arch() + " model:\n" + r.str());
    base.state = base.run.model->hf_state_dict();
  } else {
    base = load_input(o.base, "--base");
  }
  std::vector<Input> all{base};
  all.insert(all.end(), inputs.begin(), inputs.end());
  check_compatible(all, "--inputs");
  std::vector<models::NamedTensors> states;
  for (const auto& in : inputs) states.push_back(in.state);
  const auto merged = apply_task_vectors(base.state, states, coef);
  nlohmann::json info = {{"method", "task_vector"}, {"base", base.run.checkpoint}, {"coef", coef}};
  for (const auto& in : inputs) info["inputs"].push_back(in.run.checkpoint);
  load_state(*inputs[0].run.model, merged);
  write_output(*inputs[0].run.model, out, inputs[0].run.recipe, info);
  return info;
}

}  // namespace ptm::peft
