// GPT and Hugging Face Llama / Mistral (private to gpt_hf.cpp and gpt_llama_hf.cpp): their
// config.json, and LlamaForCausalLM tensor names to and from ptm's fused layers:
//   model.embed_tokens            transformer.wte
//   model.layers.N.input_layernorm / post_attention_layernorm    h.N.ln_1 / h.N.ln_2
//   model.layers.N.self_attn.q_proj, k_proj, v_proj (rows)      h.N.attn.c_attn [q; k; v]
//   model.layers.N.self_attn.o_proj                             h.N.attn.c_proj
//   model.layers.N.mlp.gate_proj, up_proj (rows)                h.N.mlp.c_fc [gate; up]
//   model.layers.N.mlp.down_proj                                h.N.mlp.c_proj
//   model.norm, lm_head                                          transformer.ln_f, lm_head
// Both use the rotate-half rotary layout, so the projections need no permutation.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "ptm/models/gpt.h"

namespace ptm::models {

// From a config.json with model_type llama or mistral (LlamaConfig's / MistralConfig's
// defaults for absent keys); IoError naming `source` and the key ptm cannot implement.
GptOptions llama_options_from_hf(const nlohmann::json& config, const std::string& source);
// LlamaForCausalLM's config.json, MistralForCausalLM's with a sliding window.
nlohmann::json llama_hf_config(const GptOptions& o);
// hf_state_dict() of a Llama-shaped GPT (GPT-2 layout, [out, in] for Linear) in Llama names.
NamedTensors to_llama_names(const NamedTensors& gpt_layout, const GptOptions& o);
// Whether a file uses Llama names (model.layers..., layers..., model.embed_tokens...).
bool has_llama_names(const NamedTensors& tensors);
// Llama-named tensors to ptm's parameter names (Linear [out, in]); q/k/v and gate/up are fused
// only when all parts are there with matching widths, otherwise they keep their file names
// (and show up as unexpected). Names ptm does not know keep their file names too.
RenamedTensors from_llama_names(const NamedTensors& tensors);
// The Llama name of a ptm parameter name (fused ones as model.layers.N.self_attn.{q,k,v}_proj.weight).
std::string llama_shown_name(const std::string& own);

}  // namespace ptm::models
