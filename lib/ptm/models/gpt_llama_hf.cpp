// GPT and Hugging Face Llama / Mistral: config.json in and out, tensor names (gpt_llama.h).
#include <map>
#include <regex>

#include "ptm/core/errors.h"
#include "ptm/models/config_json.h"
#include "ptm/models/gpt_llama.h"

namespace ptm::models {
namespace {

const std::regex& layer_name_re() {  // transformer.h.N.<rest>
  static const std::regex re(R"(^transformer\.h\.(\d+)\.(.+)$)");
  return re;
}

// ptm name -> Llama name for the tensors that map one to one; "" for the fused ones.
std::string llama_name(const std::string& own) {
  if (own == "transformer.wte.weight") return "model.embed_tokens.weight";
  if (own == "transformer.ln_f.weight") return "model.norm.weight";
  if (own == "lm_head.weight") return own;
  std::smatch m;
  if (!std::regex_match(own, m, layer_name_re())) return own;
  static const std::map<std::string, std::string> rest = {
      {"ln_1.weight", "input_layernorm.weight"},
      {"ln_2.weight", "post_attention_layernorm.weight"},
      {"attn.c_proj.weight", "self_attn.o_proj.weight"},
      {"attn.c_proj.bias", "self_attn.o_proj.bias"},
      {"mlp.c_proj.weight", "mlp.down_proj.weight"},
      {"mlp.c_proj.bias", "mlp.down_proj.bias"},
      {"attn.c_attn.weight", "self_attn.{q,k,v}_proj.weight"},
      {"attn.c_attn.bias", "self_attn.{q,k,v}_proj.bias"},
      {"mlp.c_fc.weight", "mlp.{gate,up}_proj.weight"},
      {"mlp.c_fc.bias", "mlp.{gate,up}_proj.bias"},
  };
  const auto it = rest.find(m[2].str());
  return it == rest.end() ? own : "model.layers." + m[1].str() + "." + it->second;
}

}  // namespace

GptOptions llama_options_from_hf(const nlohmann::json& c, const std::string& source) {
  if (!c.is_object()) throw IoError(source + ": a Llama config must be a JSON object");
  const auto get_int = [&](const char* key, int64_t fallback) { return json_value<int64_t>(c, key, fallback, source); };
  const auto get_num = [&](const char* key, double fallback) { return json_value<double>(c, key, fallback, source); };
  const auto get_bool = [&](const char* key, bool fallback) { return json_value<bool>(c, key, fallback, source); };
  const auto refuse = [&](const std::string& key, const std::string& why) {
    throw IoError(source + ": " + key + ": " + why);
  };
  const auto model_type = json_value<std::string>(c, "model_type", "llama", source);
  const bool mistral = model_type == "mistral";
  const auto act = json_value<std::string>(c, "hidden_act", "silu", source);
  if (act != "silu") refuse("hidden_act", "'" + act + "' is not supported (the SwiGLU MLP of gpt uses silu)");
  const bool attention_bias = get_bool("attention_bias", false), mlp_bias = get_bool("mlp_bias", false);
  if (attention_bias != mlp_bias)
    refuse("mlp_bias", "differs from attention_bias; gpt has one `bias` switch for every linear layer");
  GptOptions o;
  o.norm = "rmsnorm";
  o.position = "rotary";
  o.mlp = "swiglu";
  o.bias = attention_bias;
  o.vocab_size = get_int("vocab_size", 32000);
  o.n_embd = get_int("hidden_size", 4096);
  o.n_inner = get_int("intermediate_size", mistral ? 14336 : 11008);
  o.n_layer = get_int("num_hidden_layers", 32);
  o.n_head = get_int("num_attention_heads", 32);
  o.n_kv_head = get_int("num_key_value_heads", mistral ? 8 : o.n_head);
  if (o.n_head > 0) {
    const int64_t head_dim = get_int("head_dim", o.n_embd / o.n_head);
    if (head_dim != o.n_embd / o.n_head || o.n_embd % o.n_head != 0) o.head_size = head_dim;
  }
  o.n_positions = get_int("max_position_embeddings", mistral ? 131072 : 2048);
  o.layer_norm_epsilon = get_num("rms_norm_eps", 1e-6);
  o.attn_pdrop = get_num("attention_dropout", 0.0);
  o.embd_pdrop = o.resid_pdrop = 0.0;
  o.initializer_range = get_num("initializer_range", 0.02);
  o.tie_word_embeddings = get_bool("tie_word_embeddings", false);
  if (mistral)
    o.sliding_window = get_int("sliding_window", 4096);
  else if (c.contains("sliding_window") && !c["sliding_window"].is_null())
    refuse("sliding_window", "is a Mistral option; model_type llama has none");

  // Rotary: transformers >= 5 writes rope_parameters {rope_type, rope_theta, ...}; older
  // versions rope_theta and rope_scaling {type or rope_type, ...}.
  nlohmann::json rope = nlohmann::json::object();
  std::string rope_key = "rope_scaling";
  if (c.contains("rope_parameters") && c["rope_parameters"].is_object()) {
    rope = c["rope_parameters"];
    rope_key = "rope_parameters";
  } else if (c.contains("rope_scaling") && c["rope_scaling"].is_object()) {
    rope = c["rope_scaling"];
  }
  const std::string src = source + " " + rope_key;
  o.rope_theta = json_value<double>(rope, "rope_theta", get_num("rope_theta", 10000.0), src);
  const auto type =
      json_value<std::string>(rope, "rope_type", json_value<std::string>(rope, "type", "default", src), src);
  if (json_value<double>(rope, "partial_rotary_factor", get_num("partial_rotary_factor", 1.0), src) != 1.0)
    refuse(rope_key + ".partial_rotary_factor", "partial rotary positions are not supported");
  if (type == "llama3") {
    o.rope_scaling.type = "llama3";
    o.rope_scaling.factor = json_value<double>(rope, "factor", 8.0, src);
    o.rope_scaling.low_freq_factor = json_value<double>(rope, "low_freq_factor", 1.0, src);
    o.rope_scaling.high_freq_factor = json_value<double>(rope, "high_freq_factor", 4.0, src);
    o.rope_scaling.original_max_positions =
        json_value<int64_t>(rope, "original_max_position_embeddings", o.n_positions, src);
  } else if (type != "default") {
    refuse(rope_key + ".rope_type", "'" + type + "' is not supported (gpt has default and llama3)");
  }
  check_buildable(o.problems(), source, "a gpt model");
  return o;
}

nlohmann::json llama_hf_config(const GptOptions& o) {
  const bool mistral = o.sliding_window > 0;
  if (mistral && o.bias)
    throw RuntimeError("gpt: MistralForCausalLM (sliding_window > 0) has no biases; this model has bias: true");
  nlohmann::json rope = {{"rope_type", o.rope_scaling.type == "llama3" ? "llama3" : "default"},
                         {"rope_theta", o.rope_theta}};
  nlohmann::json scaling = nullptr;  // the pre-5 transformers spelling, read by every version
  if (o.rope_scaling.type == "llama3") {
    scaling = {{"rope_type", "llama3"},
               {"factor", o.rope_scaling.factor},
               {"low_freq_factor", o.rope_scaling.low_freq_factor},
               {"high_freq_factor", o.rope_scaling.high_freq_factor},
               {"original_max_position_embeddings", o.rope_scaling.original_max_positions}};
    for (const auto& [k, v] : scaling.items()) rope[k] = v;
  }
  nlohmann::json c = {
      {"architectures", {mistral ? "MistralForCausalLM" : "LlamaForCausalLM"}},
      {"model_type", mistral ? "mistral" : "llama"},
      {"vocab_size", o.vocab_size},
      {"hidden_size", o.n_embd},
      {"intermediate_size", o.inner()},
      {"num_hidden_layers", o.n_layer},
      {"num_attention_heads", o.n_head},
      {"num_key_value_heads", o.kv_heads()},
      {"head_dim", o.head_dim()},
      {"hidden_act", "silu"},
      {"max_position_embeddings", o.n_positions},
      {"rms_norm_eps", o.layer_norm_epsilon},
      {"attention_dropout", o.attn_pdrop},
      {"initializer_range", o.initializer_range},
      {"tie_word_embeddings", o.tie_word_embeddings},
      {"rope_theta", o.rope_theta},
      {"rope_scaling", scaling},
      {"rope_parameters", rope},
      {"bos_token_id", nullptr},
      {"eos_token_id", nullptr},
      {"pad_token_id", nullptr},
      {"use_cache", true},
      {"dtype", "float32"},
  };
  if (mistral) {
    c["sliding_window"] = o.sliding_window;
  } else {
    c["attention_bias"] = o.bias;
    c["mlp_bias"] = o.bias;
  }
  return c;
}

NamedTensors to_llama_names(const NamedTensors& params, const GptOptions& o) {
  const int64_t D = o.head_dim(), Q = o.n_head * D, KV = o.kv_heads() * D, I = o.inner();
  NamedTensors out;
  for (const auto& [own, t] : params) {
    if (own == "lm_head.weight" && o.tie_word_embeddings) continue;
    std::smatch m;
    if (std::regex_match(own, m, layer_name_re())) {
      const std::string layer = "model.layers." + m[1].str() + ".", rest = m[2].str();
      const std::string kind = rest.substr(rest.rfind('.') + 1);  // weight | bias
      if (rest == "attn.c_attn.weight" || rest == "attn.c_attn.bias") {
        const auto parts = t.split_with_sizes({Q, KV, KV}, 0);
        out.emplace_back(layer + "self_attn.q_proj." + kind, parts[0].contiguous());
        out.emplace_back(layer + "self_attn.k_proj." + kind, parts[1].contiguous());
        out.emplace_back(layer + "self_attn.v_proj." + kind, parts[2].contiguous());
        continue;
      }
      if (rest == "mlp.c_fc.weight" || rest == "mlp.c_fc.bias") {
        const auto parts = t.split_with_sizes({I, I}, 0);
        out.emplace_back(layer + "mlp.gate_proj." + kind, parts[0].contiguous());
        out.emplace_back(layer + "mlp.up_proj." + kind, parts[1].contiguous());
        continue;
      }
    }
    out.emplace_back(llama_name(own), t);
  }
  return out;
}

bool has_llama_names(const NamedTensors& tensors) {
  static const std::regex re(R"(^(model\.)?(layers\.\d+\.|embed_tokens\.|norm\.weight$))");
  for (const auto& [name, t] : tensors)
    if (std::regex_search(name, re)) return true;
  return false;
}

RenamedTensors from_llama_names(const NamedTensors& tensors) {
  static const std::regex layer_re(R"(^(?:model\.)?layers\.(\d+)\.(.+)$)");
  static const std::map<std::string, std::string> simple = {
      {"input_layernorm.weight", "ln_1.weight"},         {"post_attention_layernorm.weight", "ln_2.weight"},
      {"self_attn.o_proj.weight", "attn.c_proj.weight"}, {"self_attn.o_proj.bias", "attn.c_proj.bias"},
      {"mlp.down_proj.weight", "mlp.c_proj.weight"},     {"mlp.down_proj.bias", "mlp.c_proj.bias"},
  };
  // Fused targets: own name -> the parts in order, each (file name, tensor); undefined if absent.
  struct Parts {
    std::vector<std::string> names;
    std::vector<torch::Tensor> tensors;
  };
  std::map<std::string, Parts> fused;
  RenamedTensors out;
  const auto part = [&](const std::string& own, size_t i, size_t n, const std::string& file, const torch::Tensor& t) {
    auto& p = fused[own];
    p.names.resize(n);
    p.tensors.resize(n);
    p.names[i] = file;
    p.tensors[i] = t;
  };
  for (const auto& [name, t] : tensors) {
    if (name == "model.embed_tokens.weight" || name == "embed_tokens.weight") {
      out["transformer.wte.weight"] = {name, t};
      continue;
    }
    if (name == "model.norm.weight" || name == "norm.weight") {
      out["transformer.ln_f.weight"] = {name, t};
      continue;
    }
    std::smatch m;
    if (!std::regex_match(name, m, layer_re)) {
      out[name] = {name, t};  // lm_head.weight, or unknown (reported as unexpected)
      continue;
    }
    const std::string layer = "transformer.h." + m[1].str() + ".", rest = m[2].str();
    const std::string kind = rest.substr(rest.rfind('.') + 1), stem = rest.substr(0, rest.rfind('.'));
    if (const auto it = simple.find(rest); it != simple.end())
      out[layer + it->second] = {name, t};
    else if (stem == "self_attn.q_proj" || stem == "self_attn.k_proj" || stem == "self_attn.v_proj")
      part(layer + "attn.c_attn." + kind,
           stem == "self_attn.q_proj"   ? 0
           : stem == "self_attn.k_proj" ? 1
                                        : 2,
           3, name, t);
    else if (stem == "mlp.gate_proj" || stem == "mlp.up_proj")
      part(layer + "mlp.c_fc." + kind, stem == "mlp.gate_proj" ? 0 : 1, 2, name, t);
    else if (rest == "self_attn.rotary_emb.inv_freq")
      continue;  // a buffer older transformers versions saved
    else
      out[name] = {name, t};
  }
  for (const auto& [own, p] : fused) {
    bool whole = true;
    for (size_t i = 0; i < p.tensors.size(); ++i)
      whole = whole && p.tensors[i].defined() && p.tensors[i].dim() >= 1 && p.tensors[i].dim() == p.tensors[0].dim() &&
              p.tensors[i].sizes().slice(1) == p.tensors[0].sizes().slice(1);
    if (whole) {
      std::string names;
      for (const auto& n : p.names) names += (names.empty() ? "" : " + ") + n;
      out[own] = {names, torch::cat(p.tensors, 0)};
    } else {
      for (size_t i = 0; i < p.tensors.size(); ++i)
        if (p.tensors[i].defined()) out[p.names[i]] = {p.names[i], p.tensors[i]};
    }
  }
  return out;
}

// The Llama name(s) of a ptm tensor, for load reports.
std::string llama_shown_name(const std::string& own) { return llama_name(own); }

}  // namespace ptm::models
