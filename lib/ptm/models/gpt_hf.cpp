// GPT and Hugging Face: GPT-2 config.json in and out, state dicts in GPT2LMHeadModel layout
// (Conv1D weights [in, out]), loading a save_pretrained folder, and the recipe factory. The
// Llama / Mistral specifics are in gpt_llama_hf.cpp.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "ptm/core/errors.h"
#include "ptm/models/gpt.h"
#include "ptm/models/gpt_bind.h"
#include "ptm/models/hf_contradictions.h"
#include "ptm/models/gpt_llama.h"

namespace ptm::models {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// GPT-2's Conv1D layers store their weight as [in, out], torch's Linear as [out, in].
bool is_conv1d_weight(const std::string& name) {
  return starts_with(name, "transformer.h.") &&
         (ends_with(name, ".attn.c_attn.weight") || ends_with(name, ".attn.c_proj.weight") ||
          ends_with(name, ".mlp.c_fc.weight") || ends_with(name, ".mlp.c_proj.weight"));
}

std::string shape_str(torch::IntArrayRef s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  return o.str() + "]";
}

std::vector<int64_t> hf_shape(const std::string& name, const torch::Tensor& t) {
  auto s = t.sizes().vec();
  if (is_conv1d_weight(name)) std::reverse(s.begin(), s.end());
  return s;
}

// A config.json value of the right type, or GPT2Config's default when absent (or null).
template <class T>
T get(const nlohmann::json& c, const char* key, T fallback) {
  if (!c.contains(key) || c[key].is_null()) return fallback;
  const auto& v = c[key];
  const bool ok = std::is_same_v<T, bool>       ? v.is_boolean()
                  : std::is_integral_v<T>       ? v.is_number_integer()
                  : std::is_floating_point_v<T> ? v.is_number()
                                                : v.is_string();
  if (!ok) throw IoError(std::string("'") + key + "' has the wrong type: " + v.dump());
  return v.get<T>();
}

// A structurally pruned model (ptm prune, ptm nas export) as the uniform options a Hugging Face
// config can express: the same heads and MLP width in every layer, and for GPT-2 heads that
// fill n_embd (GPT2Attention derives head_dim = n_embd / n_head; transformers has no
// pruned_heads for it; Llama configs carry head_dim). Empty when it is one, else why not.
std::string make_uniform(GptOptions& o) {
  if (o.uniform()) return "";
  const bool llama = o.norm == "rmsnorm" && o.position == "rotary" && o.mlp == "swiglu";  // is_llama() once uniform
  const std::string config = llama ? "a Llama config.json" : "a GPT-2 config.json";
  const int64_t heads = o.heads_of(0), inner = o.inner_of(0), head_dim = o.head_dim();
  for (int64_t l = 1; l < o.n_layer; ++l)
    if (o.heads_of(l) != heads || o.inner_of(l) != inner)
      return "its layers differ in size (layer_heads or layer_inner), which " + config + " cannot express";
  // Llama configs carry head_dim; GPT-2 sizes heads as n_embd / n_head.
  if (!llama && heads * head_dim != o.n_embd)
    return "its attention heads were pruned (" + std::to_string(heads) + " heads of " + std::to_string(head_dim) +
           " in n_embd " + std::to_string(o.n_embd) + "), and GPT-2 takes head_dim = n_embd / n_head";
  if (o.n_kv_head > 0 && o.n_kv_head == o.n_head) o.n_kv_head = heads;  // multi-head: keys went with their heads
  o.n_head = heads;
  o.n_inner = inner;
  o.head_size = llama && heads * head_dim != o.n_embd ? head_dim : 0;
  o.layer_heads.clear();
  o.layer_inner.clear();
  return "";
}

// The options a Hugging Face config describes this model with; RuntimeError when it cannot.
GptOptions exportable(GptOptions o) {
  if (const auto why = make_uniform(o); !why.empty())
    throw RuntimeError("gpt: this model has pruned sizes, and " + why +
                       "; use the ptm run (ptm eval --from, init_from.checkpoint)");
  return o;
}

}  // namespace

GptOptions GptOptions::from_hf_config(const nlohmann::json& c) {
  if (!c.is_object()) throw IoError("a GPT-2 config must be a JSON object");
  const auto model_type = get<std::string>(c, "model_type", "gpt2");
  if (model_type == "llama" || model_type == "mistral") return llama_options_from_hf(c, "config.json");
  if (model_type != "gpt2") throw IoError("model_type is '" + model_type + "', expected one of gpt2, llama, mistral");
  const auto act = get<std::string>(c, "activation_function", "gelu_new");
  if (act != "gelu_new" && act != "gelu_pytorch_tanh" && act != "gelu_fast")
    throw IoError("activation_function '" + act + "' is not supported (gpt uses the tanh GELU: gelu_new)");
  if (!get<bool>(c, "scale_attn_weights", true)) throw IoError("scale_attn_weights: false is not supported");
  if (get<bool>(c, "scale_attn_by_inverse_layer_idx", false))
    throw IoError("scale_attn_by_inverse_layer_idx: true is not supported");
  if (get<bool>(c, "add_cross_attention", false)) throw IoError("add_cross_attention: true is not supported");
  GptOptions o;
  o.vocab_size = get<int64_t>(c, "vocab_size", 50257);
  o.n_positions = get<int64_t>(c, "n_positions", 1024);
  o.n_embd = get<int64_t>(c, "n_embd", 768);
  o.n_layer = get<int64_t>(c, "n_layer", 12);
  o.n_head = get<int64_t>(c, "n_head", 12);
  o.n_inner = get<int64_t>(c, "n_inner", 0);
  o.layer_norm_epsilon = get<double>(c, "layer_norm_epsilon", 1e-5);
  o.embd_pdrop = get<double>(c, "embd_pdrop", 0.1);
  o.attn_pdrop = get<double>(c, "attn_pdrop", 0.1);
  o.resid_pdrop = get<double>(c, "resid_pdrop", 0.1);
  o.initializer_range = get<double>(c, "initializer_range", 0.02);
  o.tie_word_embeddings = get<bool>(c, "tie_word_embeddings", true);
  std::string problems;
  for (const auto& [key, message] : o.problems()) problems += (problems.empty() ? "" : "; ") + key + ": " + message;
  if (!problems.empty()) throw IoError(problems);
  return o;
}

nlohmann::json GptImpl::hf_config() const {
  const auto o = exportable(options_);
  if (o.is_llama()) return llama_hf_config(o);
  if (!o.is_gpt2()) {
    std::ostringstream why;
    why << "gpt: Hugging Face export supports the GPT-2 configuration (norm: layernorm, position: learned, "
           "mlp: gelu, bias: true, n_kv_head: n_head) and the Llama one (norm: rmsnorm, position: rotary, "
           "mlp: swiglu); this model has norm: "
        << o.norm << ", position: " << o.position << ", mlp: " << o.mlp << ", bias: " << (o.bias ? "true" : "false")
        << ", n_kv_head: " << o.kv_heads() << " (n_head " << o.n_head << ")";
    throw RuntimeError(why.str());
  }
  const bool gpt2_vocab = o.vocab_size > 50256;
  return {
      {"architectures", {"GPT2LMHeadModel"}},
      {"model_type", "gpt2"},
      {"vocab_size", o.vocab_size},
      {"n_positions", o.n_positions},
      {"n_embd", o.n_embd},
      {"n_layer", o.n_layer},
      {"n_head", o.n_head},
      {"n_inner", o.inner() == 4 * o.n_embd ? nlohmann::json(nullptr) : nlohmann::json(o.inner())},
      {"activation_function", "gelu_new"},
      {"layer_norm_epsilon", o.layer_norm_epsilon},
      {"embd_pdrop", o.embd_pdrop},
      {"attn_pdrop", o.attn_pdrop},
      {"resid_pdrop", o.resid_pdrop},
      {"initializer_range", o.initializer_range},
      {"scale_attn_weights", true},
      {"scale_attn_by_inverse_layer_idx", false},
      {"reorder_and_upcast_attn", false},
      {"add_cross_attention", false},
      {"tie_word_embeddings", o.tie_word_embeddings},
      {"bos_token_id", gpt2_vocab ? nlohmann::json(50256) : nlohmann::json(nullptr)},
      {"eos_token_id", gpt2_vocab ? nlohmann::json(50256) : nlohmann::json(nullptr)},
      {"use_cache", true},
      {"dtype", "float32"},
  };
}

NamedTensors GptImpl::hf_state_dict() const {
  NamedTensors out;
  for (const auto& p : named_parameters()) {
    const auto t = p.value().detach();
    out.emplace_back(p.key(), is_conv1d_weight(p.key()) ? t.t() : t);
  }
  return out;
}

NamedTensors GptImpl::hf_export_state_dict() const {
  const auto o = exportable(options_);
  if (!o.is_llama()) return hf_state_dict();
  NamedTensors params;
  for (const auto& p : named_parameters()) params.emplace_back(p.key(), p.value().detach());
  return to_llama_names(params, o);
}

LoadReport GptImpl::load_hf_state_dict(const NamedTensors& tensors, bool strict) {
  if (has_llama_names(tensors)) {  // a LlamaForCausalLM / MistralForCausalLM file
    auto given = from_llama_names(tensors);
    if (options_.tie_word_embeddings) given.erase("lm_head.weight");  // the same tensor as embed_tokens
    std::map<std::string, torch::Tensor> own;
    for (const auto& p : named_parameters()) own[p.key()] = p.value();
    LoadReport r;
    match_and_copy(own, given, strict, r, [&own](const std::string& name) {
      return llama_shown_name(name) + " " + shape_str(own.at(name).sizes());
    });
    return r;
  }
  struct Given {
    std::string file_name;
    const torch::Tensor* tensor;
  };
  std::map<std::string, Given> given;
  for (const auto& [name, t] : tensors) {
    if (ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias")) continue;  // old causal-mask buffers
    std::string own = name;
    if (!starts_with(own, "transformer.") && own != "lm_head.weight") own = "transformer." + own;  // GPT2Model files
    if (own == "lm_head.weight" && options_.tie_word_embeddings) continue;  // the same tensor as wte
    given[own] = {name, &t};
  }
  LoadReport r;
  std::map<std::string, torch::Tensor> own;
  for (const auto& p : named_parameters()) own[p.key()] = p.value();
  for (const auto& [name, t] : own) {
    r.model_values += t.numel();
    const auto it = given.find(name);
    const auto want = hf_shape(name, t);
    if (it == given.end())
      r.missing.push_back(name + " " + shape_str(want));
    else if (it->second.tensor->sizes() != torch::IntArrayRef(want))
      r.mismatched.push_back(name + ": checkpoint " + shape_str(it->second.tensor->sizes()) + " vs model " +
                             shape_str(want));
  }
  for (const auto& [name, g] : given)
    if (!own.count(name)) r.unexpected.push_back(g.file_name + " " + shape_str(g.tensor->sizes()));
  if (strict && !r.ok()) return r;
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : own) {
    const auto it = given.find(name);
    if (it == given.end() || it->second.tensor->sizes() != torch::IntArrayRef(hf_shape(name, t))) continue;
    const auto& src = *it->second.tensor;
    t.copy_(is_conv1d_weight(name) ? src.t() : src);
    r.loaded_values += t.numel();
  }
  return r;
}

std::shared_ptr<ModelImpl> load_hf_gpt(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string config_path = dir + "/config.json";
  if (!fs::exists(config_path)) throw IoError("'" + dir + "' has no config.json (expected a save_pretrained folder)");
  nlohmann::json config;
  try {
    std::ifstream in(config_path);
    config = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw IoError("'" + config_path + "' is not valid JSON: " + e.what());
  }
  GptOptions options;
  const auto type = config.is_object() ? config.value("model_type", nlohmann::json()) : nlohmann::json();
  try {
    options = type == "llama" || type == "mistral" ? llama_options_from_hf(config, "'" + config_path + "'")
                                                   : GptOptions::from_hf_config(config);
  } catch (const IoError& e) {
    if (type == "llama" || type == "mistral") throw;  // already names the file
    throw IoError("'" + config_path + "': " + e.what());
  }
  auto model = Gpt(options);
  const auto report = model->load_hf_state_dict(load_safetensors(dir), /*strict=*/true);
  if (!report.ok()) {
    const size_t n = report.missing.size() + report.unexpected.size() + report.mismatched.size();
    throw IoError("'" + dir + "': the weights do not match config.json (" + std::to_string(n) + " problems):\n" +
                  hf_config_contradictions(config, config_path, report.mismatched) + report.str());
  }
  return model.ptr();
}

GptOptions bind_gpt_options(config::Section& s) {
  GptOptions o;
  bind_gpt(s, o);
  return o;
}

void bind_gpt(config::Section& s, GptOptions& o) {
  s.opt("vocab_size", o.vocab_size, "vocabulary size").min(1);
  s.opt("n_positions", o.n_positions, "context length (block size)").min(1);
  s.opt("n_embd", o.n_embd, "hidden size").min(1);
  s.opt("n_layer", o.n_layer, "transformer blocks").min(1);
  s.opt("n_head", o.n_head, "attention heads (must divide n_embd)").min(1);
  s.opt("n_kv_head", o.n_kv_head, "key/value heads for grouped-query attention; 0 = n_head").min(0);
  s.opt("n_inner", o.n_inner, "MLP width; 0 = 4 n_embd (gelu) or 8/3 n_embd rounded up to 64 (swiglu)").min(0);
  s.opt("norm", o.norm, "layernorm|rmsnorm").one_of({"layernorm", "rmsnorm"});
  s.opt("position", o.position, "learned|rotary").one_of({"learned", "rotary"});
  s.opt("mlp", o.mlp, "gelu|swiglu").one_of({"gelu", "swiglu"});
  s.opt("bias", o.bias, "biases in linear layers and LayerNorms");
  s.opt("rope_theta", o.rope_theta, "rotary base").above(0.0);
  s.opt("rope_scaling", o.rope_scaling.type, "none|llama3 (Llama 3 frequency scaling)").one_of({"none", "llama3"});
  s.opt("rope_factor", o.rope_scaling.factor, "llama3: divisor of the low frequencies").above(0.0);
  s.opt("rope_low_freq_factor", o.rope_scaling.low_freq_factor, "llama3: low_freq_factor").above(0.0);
  s.opt("rope_high_freq_factor", o.rope_scaling.high_freq_factor, "llama3: high_freq_factor").above(0.0);
  s.opt("rope_original_max_positions", o.rope_scaling.original_max_positions,
        "llama3: original_max_position_embeddings")
      .min(1);
  s.opt("sliding_window", o.sliding_window, "attend to the last W positions only (Mistral); 0 = all").min(0);
  s.opt("layer_norm_epsilon", o.layer_norm_epsilon, "norm epsilon").above(0.0);
  s.opt("embd_pdrop", o.embd_pdrop, "dropout after the embeddings").min(0.0).max(1.0);
  s.opt("attn_pdrop", o.attn_pdrop, "dropout on attention probabilities").min(0.0).max(1.0);
  s.opt("resid_pdrop", o.resid_pdrop, "dropout on the residual branches").min(0.0).max(1.0);
  s.opt("initializer_range", o.initializer_range, "std of the normal initialisation").above(0.0);
  s.opt("tie_word_embeddings", o.tie_word_embeddings, "LM head shares the token embedding");
  // Written by ptm prune; read only when present, so other runs' config.yaml does not list them.
  const auto present = [&](const char* key) {
    if (s.node() && s.node()->find(key)) return true;
    s.allow(key);
    return false;
  };
  if (present("head_size")) s.opt("head_size", o.head_size, "size of one attention head; 0 = n_embd / n_head").min(0);
  if (present("layer_heads")) s.opt("layer_heads", o.layer_heads, "attention heads of each layer (pruned models)");
  if (present("layer_inner")) s.opt("layer_inner", o.layer_inner, "MLP width of each layer (pruned models)");
}

namespace {

ModelBuilder gpt_factory(config::Section& s) {
  const size_t before = s.context().problems().size();
  const GptOptions o = bind_gpt_options(s);
  // Relations between keys (n_embd divisible by n_head, ...), once every value read well.
  if (s.context().problems().size() == before)
    for (const auto& [key, message] : o.problems()) s.problem(key, message);
  s.finish();
  if (s.context().problems().size() != before) return nullptr;
  return [o]() -> std::shared_ptr<ModelImpl> { return Gpt(o).ptr(); };
}

}  // namespace

void register_gpt(Registry<ModelFactory>& r) {
  r.add("gpt", "GPT-2 decoder (HF GPT2LMHeadModel names); LLaMA-style options: rmsnorm, rotary, swiglu, no bias, GQA",
        gpt_factory);
}

}  // namespace ptm::models
