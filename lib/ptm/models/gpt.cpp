// GPT: options checks, construction with GPT-2 initialisation, forward, FLOPs and summary.
#include "ptm/models/gpt.h"

#include <cmath>
#include <sstream>

#include "ptm/core/errors.h"
#include "ptm/models/activation_checkpoint.h"
#include "ptm/models/layer_sizes.h"

namespace ptm::models {
namespace {

std::string num(int64_t v) { return std::to_string(v); }

std::string num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

int64_t GptOptions::inner() const {
  if (n_inner > 0) return n_inner;
  if (mlp != "swiglu") return 4 * n_embd;
  const int64_t third = (8 * n_embd + 2) / 3;  // ceil(8 n_embd / 3), LLaMA's SwiGLU width
  return (third + 63) / 64 * 64;
}

bool GptOptions::is_gpt2() const {
  return norm == "layernorm" && position == "learned" && mlp == "gelu" && bias && kv_heads() == n_head && uniform();
}

bool GptOptions::is_llama() const {
  return norm == "rmsnorm" && position == "rotary" && mlp == "swiglu" && layer_heads.empty() && layer_inner.empty();
}

std::vector<std::pair<std::string, std::string>> GptOptions::problems() const {
  std::vector<std::pair<std::string, std::string>> p;
  const auto at_least = [&p](const char* key, int64_t v, int64_t lo) {
    if (v < lo) p.emplace_back(key, "must be >= " + num(lo) + ", got " + num(v));
  };
  at_least("vocab_size", vocab_size, 1);
  at_least("n_positions", n_positions, 1);
  at_least("n_embd", n_embd, 1);
  at_least("n_layer", n_layer, 1);
  at_least("n_head", n_head, 1);
  at_least("n_kv_head", n_kv_head, 0);
  at_least("n_inner", n_inner, 0);
  const auto choice = [&p](const char* key, const std::string& v, const std::vector<std::string>& ok) {
    for (const auto& c : ok)
      if (v == c) return;
    p.emplace_back(key, "'" + v + "' is not one of: " + ok[0] + ", " + ok[1]);
  };
  choice("norm", norm, {"layernorm", "rmsnorm"});
  choice("position", position, {"learned", "rotary"});
  choice("mlp", mlp, {"gelu", "swiglu"});
  const auto positive = [&p](const char* key, double v) {
    if (!(v > 0)) p.emplace_back(key, "must be > 0, got " + num(v));
  };
  positive("rope_theta", rope_theta);
  choice("rope_scaling", rope_scaling.type, {"none", "llama3"});
  if (rope_scaling.type == "llama3") {
    positive("rope_factor", rope_scaling.factor);
    positive("rope_low_freq_factor", rope_scaling.low_freq_factor);
    if (!(rope_scaling.high_freq_factor > rope_scaling.low_freq_factor))
      p.emplace_back("rope_high_freq_factor", "must be > rope_low_freq_factor (" + num(rope_scaling.low_freq_factor) +
                                                  "), got " + num(rope_scaling.high_freq_factor));
    at_least("rope_original_max_positions", rope_scaling.original_max_positions, 1);
  }
  at_least("sliding_window", sliding_window, 0);
  positive("layer_norm_epsilon", layer_norm_epsilon);
  positive("initializer_range", initializer_range);
  for (const auto& [key, v] : {std::pair<const char*, double>{"embd_pdrop", embd_pdrop},
                               {"attn_pdrop", attn_pdrop},
                               {"resid_pdrop", resid_pdrop}})
    if (!(v >= 0 && v <= 1)) p.emplace_back(key, "must lie in [0, 1], got " + num(v));
  at_least("head_size", head_size, 0);
  add_layer_size_problems(layer_heads, layer_inner, n_layer, "n_layer", p);
  if (!layer_heads.empty() && kv_heads() != n_head)
    p.emplace_back("layer_heads", "per-layer head counts need n_kv_head = n_head (no grouped-query attention)");
  if (!p.empty()) return p;  // the relations below assume valid ranges
  if (head_size == 0 && n_embd % n_head != 0)
    p.emplace_back("n_head", "n_embd (" + num(n_embd) + ") must be divisible by n_head (" + num(n_head) + ")");
  else if (position == "rotary" && head_dim() % 2 != 0)
    p.emplace_back("position", "rotary positions need an even head size; got " + num(head_dim()));
  if (n_head % kv_heads() != 0)
    p.emplace_back("n_kv_head",
                   "n_head (" + num(n_head) + ") must be divisible by n_kv_head (" + num(kv_heads()) + ")");
  return p;
}

GptBlockOptions GptOptions::block(int64_t layer) const {
  GptBlockOptions b;
  b.n_embd = n_embd;
  b.n_head = heads_of(layer);
  b.n_kv_head = layer_heads.empty() ? kv_heads() : b.n_head;
  b.head_dim = head_dim();
  b.inner = inner_of(layer);
  b.rmsnorm = norm == "rmsnorm";
  b.swiglu = mlp == "swiglu";
  b.bias = bias;
  b.eps = layer_norm_epsilon;
  b.attn_pdrop = attn_pdrop;
  b.resid_pdrop = resid_pdrop;
  return b;
}

int64_t gpt_parameter_count(const GptOptions& o) {
  const int64_t C = o.n_embd, b = o.bias ? 1 : 0;
  const int64_t norm = (o.norm == "layernorm" && o.bias) ? 2 * C : C;
  int64_t blocks = 0;
  for (int64_t l = 0; l < o.n_layer; ++l) {
    const auto k = o.block(l);
    const int64_t qkv = (k.n_head + 2 * k.n_kv_head) * k.head_dim, I = k.inner, fc = k.swiglu ? 2 * I : I;
    const int64_t attn = C * qkv + b * qkv + k.n_head * k.head_dim * C + b * C;
    const int64_t mlp = C * fc + b * fc + I * C + b * C;
    blocks += 2 * norm + attn + mlp;
  }
  const int64_t embeddings = o.vocab_size * C + (o.position == "learned" ? o.n_positions * C : 0);
  return embeddings + blocks + norm + (o.tie_word_embeddings ? 0 : o.vocab_size * C);
}

GptTransformerImpl::GptTransformerImpl(const GptOptions& o) {
  wte = register_module("wte", torch::nn::Embedding(o.vocab_size, o.n_embd));
  if (o.position == "learned") wpe = register_module("wpe", torch::nn::Embedding(o.n_positions, o.n_embd));
  drop = register_module("drop", torch::nn::Dropout(o.embd_pdrop));
  h = register_module("h", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.n_layer; ++i) {
    blocks.emplace_back(o.block(i));
    h->push_back(blocks.back());
  }
  ln_f = register_module("ln_f", GptNorm(o.n_embd, o.norm == "rmsnorm", o.bias, o.layer_norm_epsilon));
}

GptImpl::GptImpl(const GptOptions& options) : options_(options) {
  const auto problems = options_.problems();
  if (!problems.empty()) {
    std::vector<Diagnostic> d;
    for (const auto& [key, message] : problems) d.push_back({Origin{"gpt options", 0, 0}, "model." + key, message});
    throw ConfigError(std::move(d));
  }
  transformer = register_module("transformer", GptTransformer(options_));
  if (!options_.tie_word_embeddings)
    lm_head = register_module(
        "lm_head", Linear(torch::nn::LinearOptions(options_.n_embd, options_.vocab_size).bias(false)));
  init_weights();
}

void GptImpl::init_weights() {
  // GPT-2: every weight ~ N(0, 0.02), biases 0, norms 1/0, and the projections that write into
  // the residual stream (attn.c_proj, mlp.c_proj) scaled by 1/sqrt(2 n_layer).
  torch::NoGradGuard no_grad;
  const double std = options_.initializer_range;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* lin = m->as<torch::nn::Linear>()) {
      lin->weight.normal_(0.0, std);
      if (lin->bias.defined()) lin->bias.zero_();
    } else if (auto* emb = m->as<torch::nn::Embedding>()) {
      emb->weight.normal_(0.0, std);
    }
  }
  const double proj_std = std / std::sqrt(2.0 * static_cast<double>(options_.n_layer));
  for (auto& block : transformer->blocks) {
    block->attn->c_proj->weight.normal_(0.0, proj_std);
    block->mlp->c_proj->weight.normal_(0.0, proj_std);
  }
}

torch::Tensor GptImpl::head_weight() const {
  return options_.tie_word_embeddings ? transformer->wte->weight : lm_head->weight;
}

torch::Tensor GptImpl::output_embedding() const {
  if (!options_.tie_word_embeddings && !lm_head->hooks().empty()) return {};  // PEFT changed the head
  return head_weight();
}

torch::Tensor GptImpl::head_logits(const torch::Tensor& hidden) {
  // lm_head->forward runs the PEFT hooks an untied head may carry.
  return options_.tie_word_embeddings ? linear_padded(hidden, head_weight(), {}, head_padding(hidden))
                                      : lm_head->forward(hidden);
}

ModelOutput GptImpl::forward(const data::Batch& batch, const ForwardOptions& options) {
  if (!batch.input_ids.defined()) throw RuntimeError("gpt: the batch has no input_ids");
  torch::Tensor keep;  // prefix LM: token_type_ids = 1 marks a prefix that attends both ways
  if (batch.token_type_ids.defined()) {
    const int64_t T = batch.input_ids.size(1);
    const auto prefix = batch.token_type_ids.to(torch::kBool);  // [B, T]
    const auto causal = torch::ones({T, T}, prefix.options()).tril();
    keep = (causal.unsqueeze(0) | (prefix.unsqueeze(2) & prefix.unsqueeze(1))).unsqueeze(1);  // [B, 1, T, T]
  }
  return forward_ids(batch.input_ids, options, keep);
}

ModelOutput GptImpl::forward_ids(const torch::Tensor& input_ids, const ForwardOptions& options,
                                 const torch::Tensor& keep) {
  if (input_ids.dim() != 2)
    throw RuntimeError("gpt: input_ids must be [batch, tokens], got " + std::to_string(input_ids.dim()) +
                       " dimensions");
  const int64_t T = input_ids.size(1);
  if (options_.position == "learned" && T > options_.n_positions)
    throw RuntimeError("gpt: " + std::to_string(T) +
                       " tokens exceed the context length n_positions = " + std::to_string(options_.n_positions));
  auto x = transformer->wte(input_ids);  // [B, T, C]
  if (options.embedding_delta.defined()) x = x + options.embedding_delta;
  RotaryTables rope;
  const RotaryTables* rope_ptr = nullptr;
  if (transformer->wpe) {
    x = x + transformer->wpe(torch::arange(T, input_ids.options().dtype(torch::kLong)));  // + [T, C]
  } else {
    rope = rotary_tables(T, options_.head_dim(), options_.rope_theta, x.options(), options_.rope_scaling);
    rope_ptr = &rope;
  }
  torch::Tensor keep_all = keep;
  if (options_.sliding_window > 0 && T > options_.sliding_window) {
    // Mistral: query i sees keys j with i - W < j <= i (and its prefix, for a prefix LM).
    const auto i = torch::arange(T, input_ids.options()).unsqueeze(1), j = torch::arange(T, input_ids.options());
    const auto band = ((j <= i) & (j > i - options_.sliding_window)).view({1, 1, T, T});
    const auto future = torch::ones({1, 1, T, T}, band.options()).triu(1);
    keep_all = keep.defined() ? keep & (band | future) : band;  // [B or 1, 1, T, T]
  }
  x = transformer->drop(x);
  ModelOutput out;
  if (options.output_hidden_states) out.hidden_states.push_back(x);
  // Checkpointed blocks keep what their recomputation needs by value (the rotary tables live on
  // this stack frame).
  const bool checkpoint = checkpointing_ && is_training() && !options.output_attentions;
  const auto rope_kept = checkpoint && rope_ptr ? std::make_shared<RotaryTables>(rope) : nullptr;
  for (size_t l = 0; l < transformer->blocks.size(); ++l) {
    if (!subnet_.empty() && subnet_[l].skipped()) continue;  // elastic depth
    auto& block = transformer->blocks[l];
    torch::Tensor probs;  // [B, H, T, T]
    if (checkpoint)
      x = checkpointed([block, rope_kept, keep_all](
                           const torch::Tensor& t) mutable { return block(t, rope_kept.get(), nullptr, keep_all); },
                       x);
    else
      x = block(x, rope_ptr, options.output_attentions ? &probs : nullptr, keep_all);  // [B, T, C]
    if (options.output_hidden_states) out.hidden_states.push_back(x);
    if (options.output_attentions) out.attentions.push_back(probs);
  }
  out.last_hidden = transformer->ln_f(x);  // [B, T, C]
  if (options.compute_logits) out.logits = head_logits(out.last_hidden);  // [B, T, V]
  return out;
}

void GptImpl::set_subnet(const Subnet& subnet) {
  const auto& o = options_;
  if (!subnet.empty()) {
    check_subnet(subnet, full_subnet(*this));
    for (int64_t l = 0; l < o.n_layer; ++l)
      if (!subnet[l].skipped() && subnet[l].heads < o.heads_of(l) && o.kv_heads() != o.n_head)
        throw RuntimeError("sub-network " + subnet_string(subnet) + ", layer " + std::to_string(l) +
                           ": elastic heads need n_kv_head = n_head (grouped-query attention is not sliced)");
  }
  subnet_ = subnet;
  for (int64_t l = 0; l < o.n_layer; ++l) {
    auto& b = transformer->blocks[l];
    b->attn->active_heads = subnet.empty() ? 0 : subnet[l].heads;
    b->mlp->active_inner = subnet.empty() ? 0 : subnet[l].inner;
  }
}

std::vector<BlockSummary> GptImpl::summary(int64_t seq_len) const {
  const double T = static_cast<double>(seq_len), C = static_cast<double>(options_.n_embd);
  std::vector<BlockSummary> rows;
  BlockSummary emb{"embeddings", transformer->wte->weight.numel(), 0.0};
  if (transformer->wpe) emb.params += transformer->wpe->weight.numel();
  rows.push_back(emb);
  for (size_t i = 0; i < transformer->blocks.size(); ++i) {
    const int64_t p = count_parameters(*transformer->blocks[i]);
    // Scores and weighted values: 2 x T x T multiply-accumulates per attention channel.
    const auto b = options_.block(static_cast<int64_t>(i));
    const double channels = static_cast<double>(b.n_head * b.head_dim);
    rows.push_back({"h." + std::to_string(i), p, 2.0 * T * static_cast<double>(p) + 2.0 * 2.0 * T * T * channels});
  }
  int64_t head = count_parameters(*transformer->ln_f);
  const double head_flops =
      2.0 * T * static_cast<double>(head) + 2.0 * T * C * static_cast<double>(options_.vocab_size);
  if (lm_head) head += lm_head->weight.numel();
  rows.push_back({"ln_f + lm_head", head, head_flops});
  return rows;
}

double GptImpl::forward_flops(int64_t seq_len) const {
  double total = 0;
  for (const auto& row : summary(seq_len)) total += row.flops;
  return total;
}

}  // namespace ptm::models
