// BERT weights in Hugging Face layouts: the export naming (head models prefix the encoder with
// `bert.`), import of any BERT checkpoint (prefixed or not, legacy gamma/beta, buffers and the
// tied decoder ignored), and whole directories (config.json + safetensors) in and out.
#include <filesystem>
#include <fstream>
#include <map>

#include "ptm/core/errors.h"
#include "ptm/models/bert.h"
#include "ptm/models/hf_contradictions.h"

namespace ptm::models {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// A checkpoint name in ptm's (BertModel) naming: no `bert.` prefix, LayerNorm weight/bias for
// the legacy gamma/beta.
std::string normalise(std::string n) {
  if (starts_with(n, "bert.")) n = n.substr(5);
  const auto dot = n.rfind('.');
  const std::string stem = dot == std::string::npos ? "" : n.substr(0, dot + 1);
  const std::string last = dot == std::string::npos ? n : n.substr(dot + 1);
  if (last == "gamma") return stem + "weight";
  if (last == "beta") return stem + "bias";
  return n;
}

}  // namespace

NamedTensors BertImpl::hf_state_dict() const {
  const bool prefixed = o_.head.type != "none";  // transformers' task classes hold the encoder as `bert`
  NamedTensors out;
  for (const auto& p : named_parameters()) {
    const auto& name = p.key();
    out.emplace_back(prefixed && !is_head_tensor(name) ? "bert." + name : name, p.value().detach());
  }
  return out;
}

LoadReport BertImpl::load_hf_state_dict(const NamedTensors& tensors, bool strict) {
  std::map<std::string, torch::Tensor> own;
  for (const auto& p : named_parameters()) own[p.key()] = p.value();
  bool prefixed = false, has_mlm_bias = false;
  for (const auto& [name, t] : tensors) {
    prefixed = prefixed || starts_with(name, "bert.");
    has_mlm_bias = has_mlm_bias || normalise(name) == "cls.predictions.bias";
  }
  const bool mlm = !mlm_.is_empty();
  LoadReport r;
  std::map<std::string, std::pair<std::string, torch::Tensor>> given;  // ptm name -> (checkpoint name, tensor)
  for (const auto& [name, t] : tensors) {
    std::string n = normalise(name);
    if (n == "embeddings.position_ids" || n == "embeddings.token_type_ids") continue;  // buffers, not weights
    if (!has_pooler() && starts_with(n, "pooler.")) continue;    // transformers drops it for these heads too
    if (mlm && n == "cls.predictions.decoder.weight") continue;  // tied to the word embeddings
    if (mlm && n == "cls.predictions.decoder.bias") {            // tied to cls.predictions.bias
      if (has_mlm_bias) continue;
      n = "cls.predictions.bias";
    }
    if (!given.emplace(n, std::make_pair(name, t)).second)
      r.unexpected.push_back(name + " (a second tensor for " + n + ")");
  }
  match_and_copy(own, given, strict, r,
                 [&](const std::string& name) { return prefixed && !is_head_tensor(name) ? "bert." + name : name; });
  return r;
}

std::shared_ptr<ModelImpl> load_hf_bert(const std::string& dir, const std::optional<BertHeadOptions>& head,
                                        LoadReport* report) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir))
    throw IoError(dir +
                  ": not a directory (expected a Hugging Face BERT folder with config.json and model.safetensors)");
  const std::string config_path = dir + "/config.json";
  std::ifstream in(config_path);
  if (!in) throw IoError(config_path + ": cannot be read (a Hugging Face BERT folder needs config.json)");
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw IoError(config_path + ": not valid JSON (" + e.what() + ")");
  }
  auto options = BertOptions::from_hf_config(config, config_path);
  if (head) options.head = *head;
  auto model = std::make_shared<BertImpl>(options);
  const auto tensors = load_safetensors(dir);
  const LoadReport r = model->load_hf_state_dict(tensors, /*strict=*/false);
  // The encoder must match exactly; head tensors may be absent (fresh) or left over (another head).
  LoadReport fatal;
  for (const auto& m : r.missing)
    if (!BertImpl::is_head_tensor(normalise(m))) fatal.missing.push_back(m);
  for (const auto& u : r.unexpected)
    if (!BertImpl::is_head_tensor(normalise(u))) fatal.unexpected.push_back(u);
  fatal.mismatched = r.mismatched;
  if (!fatal.ok()) {
    const size_t n = fatal.missing.size() + fatal.unexpected.size() + fatal.mismatched.size();
    throw IoError(dir + ": the weights do not fit the " + options.hf_architecture() + " that config.json describes (" +
                  std::to_string(n) + " problem" + (n == 1 ? "" : "s") + "):\n" +
                  hf_config_contradictions(config, config_path, fatal.mismatched) + fatal.str());
  }
  if (report) *report = r;
  model->eval();
  return model;
}

void save_hf_bert(const BertImpl& model, const std::string& dir) { save_hf_folder(model, dir); }

}  // namespace ptm::models
