// GPT (registry name "gpt"): the GPT-2 decoder with Hugging Face GPT2LMHeadModel names
// (transformer.wte/wpe/h.{i}/ln_f, lm_head tied to wte), plus LLaMA-style options on the
// same class: RMSNorm, rotary positions, SwiGLU, no biases, grouped-query attention.
// Hugging Face twins: GPT2LMHeadModel for the GPT-2 configuration, LlamaForCausalLM (and
// MistralForCausalLM with a sliding window) for rmsnorm + rotary + swiglu (gpt_hf.cpp).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/models/elastic.h"
#include "ptm/models/gpt_block.h"
#include "ptm/models/model.h"

namespace ptm::models {

// Hugging Face GPT2Config names where GPT-2 has the option; the rest follow LLaMA.
struct GptOptions {
  int64_t vocab_size = 50257;
  int64_t n_positions = 1024;  // context length (block size)
  int64_t n_embd = 768;
  int64_t n_layer = 12;
  int64_t n_head = 12;
  int64_t n_kv_head = 0;             // key/value heads (grouped-query attention); 0 = n_head
  int64_t n_inner = 0;               // MLP width; 0 = 4 n_embd (gelu) or 8/3 n_embd rounded up to 64 (swiglu)
  std::string norm = "layernorm";    // layernorm | rmsnorm
  std::string position = "learned";  // learned | rotary
  std::string mlp = "gelu";          // gelu (tanh approximation) | swiglu
  bool bias = true;                  // biases in linear layers and norms
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;    // Llama 3 frequency scaling (type none | llama3)
  int64_t sliding_window = 0;  // Mistral: attend to the last W positions only; 0 = all
  double layer_norm_epsilon = 1e-5;
  double embd_pdrop = 0.0, attn_pdrop = 0.0, resid_pdrop = 0.0;
  double initializer_range = 0.02;
  bool tie_word_embeddings = true;
  // Sizes that differ from the uniform ones, as a structurally pruned model has them (ptm prune):
  // the size of one head (0 = n_embd / n_head), and per-layer head counts and MLP widths
  // (empty = n_head and inner() in every layer). Per-layer heads need n_kv_head = n_head.
  int64_t head_size = 0;
  std::vector<int64_t> layer_heads, layer_inner;

  int64_t kv_heads() const { return n_kv_head > 0 ? n_kv_head : n_head; }
  int64_t head_dim() const { return head_size > 0 ? head_size : n_embd / n_head; }
  int64_t inner() const;
  int64_t heads_of(int64_t layer) const { return layer_heads.empty() ? n_head : layer_heads[layer]; }
  int64_t inner_of(int64_t layer) const { return layer_inner.empty() ? inner() : layer_inner[layer]; }
  // Whether every layer has the same sizes (no layer_heads/layer_inner, no head_size).
  bool uniform() const { return head_size == 0 && layer_heads.empty() && layer_inner.empty(); }
  // True for the plain GPT-2 architecture (what Hugging Face's GPT2LMHeadModel can load).
  bool is_gpt2() const;
  // True for what LlamaForCausalLM (MistralForCausalLM with a sliding window) can load:
  // rmsnorm, rotary, swiglu, the same heads and MLP width in every layer.
  bool is_llama() const;
  // Why the options cannot build a model, as (key, message); empty when they can.
  std::vector<std::pair<std::string, std::string>> problems() const;
  GptBlockOptions block(int64_t layer) const;
  // From a GPT-2, Llama or Mistral config.json (by model_type; absent keys take the
  // transformers config's defaults). IoError naming the key for anything ptm does not
  // implement (cross attention, other activations, other rope scalings, ...).
  static GptOptions from_hf_config(const nlohmann::json& config);
};

// Parameters of a model with these options, without building it (heads tied or not).
int64_t gpt_parameter_count(const GptOptions& o);

class GptTransformerImpl : public torch::nn::Module {
 public:
  explicit GptTransformerImpl(const GptOptions& o);
  torch::nn::Embedding wte{nullptr};
  torch::nn::Embedding wpe{nullptr};  // null with rotary positions
  torch::nn::Dropout drop{nullptr};
  torch::nn::ModuleList h{nullptr};
  std::vector<GptBlock> blocks;  // the entries of h, typed
  GptNorm ln_f{nullptr};
};
TORCH_MODULE(GptTransformer);

class GptImpl : public ModelImpl {
 public:
  explicit GptImpl(const GptOptions& options);

  // batch.input_ids [B, T] -> logits [B, T, V], last_hidden = ln_f(last block) [B, T, C].
  // hidden_states: the embeddings, then every block's output (transformers' GPT-2 replaces the
  // last one by ln_f of it, i.e. last_hidden). batch.attention_mask is not used (causal LM
  // batches are packed, unpadded windows). batch.token_type_ids, when given, mark a prefix
  // (1) that attends both ways (prefix LM); the rest stays causal.
  ModelOutput forward(const data::Batch& batch, const ForwardOptions& options = {}) override;
  // `keep` [B, 1, T, T] bool: who may attend to whom (undefined: causal).
  ModelOutput forward_ids(const torch::Tensor& input_ids, const ForwardOptions& options = {},
                          const torch::Tensor& keep = {});
  std::string arch() const override { return "gpt"; }
  int64_t vocab_size() const override { return options_.vocab_size; }
  int64_t max_positions() const override { return options_.position == "rotary" ? 0 : options_.n_positions; }
  // Per example of T tokens, counting a multiply-add as 2 FLOPs:
  //   2 T (P_blocks + P_ln_f)       every weight of the blocks and ln_f is used once per token
  // + 2 T n_embd V                  the LM head (when tied, its weight counts as an embedding)
  // + 2 2 n_layer T^2 n_embd        Q K^T and softmax(.) V over the full T x T (causal half not skipped)
  // Embedding lookups, norms' arithmetic and softmax are not counted.
  double forward_flops(int64_t seq_len) const override;
  torch::Tensor output_embedding() const override;
  torch::Tensor input_embedding() const override { return transformer->wte->weight; }
  torch::Tensor head_logits(const torch::Tensor& hidden) override;
  bool set_activation_checkpointing(bool on) override {
    checkpointing_ = on;
    return true;
  }
  // Rows: embeddings, h.0 ... h.{L-1}, "ln_f + lm_head"; params add up to the total.
  std::vector<BlockSummary> summary(int64_t seq_len) const override;
  // GPT-2 or Llama/Mistral config.json; RuntimeError for configurations neither can express.
  nlohmann::json hf_config() const override;
  // GPT-2 layout for every configuration (ptm checkpoints): Conv1D weights as [in, out]; no
  // lm_head.weight when tied.
  NamedTensors hf_state_dict() const override;
  // What an export writes: hf_state_dict() for GPT-2, LlamaForCausalLM names for Llama
  // (q/k/v_proj split from c_attn, gate/up_proj from c_fc; no lm_head.weight when tied).
  NamedTensors hf_export_state_dict() const;
  // Accepts GPT2LMHeadModel and GPT2Model files (names with or without "transformer.");
  // skips the attn.bias / attn.masked_bias buffers of old checkpoints. Files with Llama names
  // (model.layers.N.self_attn.q_proj, ..., with or without "model.") load into the fused layers.
  LoadReport load_hf_state_dict(const NamedTensors& tensors, bool strict = true) override;

  const GptOptions& options() const { return options_; }
  // Elastic sub-network (elastic.h): per layer the first heads and MLP neurons in use, a layer
  // with both 0 skipped; empty = the whole model. RuntimeError naming the layer for sizes
  // outside the model's, fewer entries than layers, or elastic heads with grouped-query attention.
  void set_subnet(const Subnet& subnet);
  const Subnet& subnet() const { return subnet_; }
  GptTransformer transformer{nullptr};
  Linear lm_head{nullptr};  // null when tied to transformer.wte

 private:
  void init_weights();
  torch::Tensor head_weight() const;  // [V, C]

  GptOptions options_;
  Subnet subnet_;
  bool checkpointing_ = false;  // activation checkpointing of the blocks while training
};
TORCH_MODULE(Gpt);

// config.json + model.safetensors (or a sharded index) written by save_pretrained of
// GPT2LMHeadModel, LlamaForCausalLM or MistralForCausalLM. IoError listing every missing,
// unexpected and mis-shaped tensor with both shapes.
std::shared_ptr<ModelImpl> load_hf_gpt(const std::string& dir);

// The registry entry (zoo.cpp).
void register_gpt(Registry<ModelFactory>& r);
// Binds the keys of a `model:` section of type gpt (all but `type`); records problems, does not finish().
GptOptions bind_gpt_options(config::Section& s);

}  // namespace ptm::models
