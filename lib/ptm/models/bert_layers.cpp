// BERT encoder blocks: embeddings, self-attention (SDPA or explicit softmax), post-LN layers,
// pooler, MLM prediction head, and transformers' weight initialisation.
#include "ptm/models/bert_layers.h"

#include <cmath>
#include <limits>

#include "ptm/models/activation_checkpoint.h"
#include "ptm/models/linear_slice.h"
#include "ptm/models/sdpa.h"
#include "ptm/models/tanh_gelu.h"

namespace ptm::models {
namespace {

// The most negative finite value of a floating dtype: the additive mask of padded keys
// (finite, so a row with every key padded gives a uniform average instead of NaN).
double lowest(torch::ScalarType t) {
  switch (t) {
    case torch::kHalf:
      return -65504.0;
    case torch::kBFloat16:
      return -3.3895313892515355e38;
    case torch::kDouble:
      return std::numeric_limits<double>::lowest();
    default:
      return std::numeric_limits<float>::lowest();
  }
}

// A plain module that only groups submodules under a name (attention, intermediate, ...).
std::shared_ptr<torch::nn::Module> group() { return std::make_shared<torch::nn::Module>(); }

torch::nn::LayerNorm layer_norm(const BertOptions& o) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden_size}).eps(o.layer_norm_eps));
}

}  // namespace

torch::Tensor bert_activation(const std::string& act, const torch::Tensor& x) {
  if (act == "relu") return torch::relu(x);
  if (act == "gelu_new" || act == "gelu_pytorch_tanh") return tanh_gelu(x);
  return torch::gelu(x);  // exact: 0.5 x (1 + erf(x / sqrt 2))
}

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertOptions& o) {
  word_embeddings_ = register_module(
      "word_embeddings",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(o.vocab_size, o.hidden_size).padding_idx(o.pad_token_id)));
  if (o.position_embeddings)
    position_embeddings_ =
        register_module("position_embeddings", torch::nn::Embedding(o.max_position_embeddings, o.hidden_size));
  token_type_embeddings_ =
      register_module("token_type_embeddings", torch::nn::Embedding(o.type_vocab_size, o.hidden_size));
  layer_norm_ = register_module("LayerNorm", layer_norm(o));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.hidden_dropout_prob));
}

torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                          const torch::Tensor& word_delta) {
  auto words = word_embeddings_(input_ids);  // [B, T, H]
  if (word_delta.defined()) words = words + word_delta;
  auto x = words + token_type_embeddings_(token_type_ids);
  if (!position_embeddings_.is_empty())
    x = x + position_embeddings_(torch::arange(input_ids.size(1), input_ids.options()));  // + [T, H]
  return dropout_(layer_norm_(x));
}

BertSelfAttentionImpl::BertSelfAttentionImpl(const BertOptions& o, int64_t heads)
    : heads_(heads), head_dim_(o.head_dim()), dropout_p_(o.attention_probs_dropout_prob) {
  query_ = register_module("query", Linear(o.hidden_size, heads_ * head_dim_));
  key_ = register_module("key", Linear(o.hidden_size, heads_ * head_dim_));
  value_ = register_module("value", Linear(o.hidden_size, heads_ * head_dim_));
}

torch::Tensor BertSelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& keep, torch::Tensor* probs,
                                             std::array<torch::Tensor, 3>* qkv) {
  const bool sliced = active_heads > 0 && active_heads < heads_;
  const int64_t B = x.size(0), T = x.size(1), D = head_dim_, heads = sliced ? active_heads : heads_;
  const auto split = [&](const torch::Tensor& t) { return t.view({B, T, heads, D}).transpose(1, 2); };
  const auto project = [&](Linear& l) { return sliced ? linear_rows(x, l, 0, heads * D) : l(x); };
  const auto qx = project(query_), kx = project(key_), vx = project(value_);  // [B, T, heads D]
  if (qkv) *qkv = {qx, kx, vx};
  const auto q = split(qx);         // [B, heads, T, d]
  auto k = split(kx), v = split(vx);  // [B, heads, T, d], then [B, heads, P + T, d] with a prefix
  torch::Tensor keep_all = keep;                  // [B, 1, 1, (P +) T]
  if (prefix) {
    const auto [pk, pv] = prefix();  // [P, heads_ D] each
    const int64_t P = pk.size(0);
    const auto per_head = [&](const torch::Tensor& t) {
      return t.to(k.scalar_type()).view({1, P, heads_, D}).narrow(2, 0, heads).transpose(1, 2).expand({B, heads, P, D});
    };
    k = torch::cat({per_head(pk), k}, 2);
    v = torch::cat({per_head(pv), v}, 2);
    if (keep.defined()) keep_all = torch::cat({torch::ones({B, 1, 1, P}, keep.options()), keep.expand({B, 1, 1, T})}, -1);
  }
  const double p = is_training() ? dropout_p_ : 0.0;
  torch::Tensor mask;  // [B, 1, 1, (P +) T] additive, in the dtype of q (bf16 under autocast)
  if (keep_all.defined())
    mask = torch::zeros(keep_all.sizes(), q.options()).masked_fill_(keep_all.logical_not(), lowest(q.scalar_type()));
  torch::Tensor context;  // [B, heads, T, d]
  if (probs) {
    auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(D));  // [B, heads, T, T]
    if (mask.defined()) scores = scores + mask;
    *probs = torch::softmax(scores, -1);
    context = torch::matmul(torch::dropout(*probs, p, is_training()), v);
  } else {
    context = sdpa(q, k, v, mask.defined() ? std::optional<torch::Tensor>(mask) : std::nullopt, p, false);
  }
  return context.transpose(1, 2).reshape({B, T, heads * D});
}

BertResidualOutputImpl::BertResidualOutputImpl(int64_t in_features, const BertOptions& o) {
  dense_ = register_module("dense", Linear(in_features, o.hidden_size));
  layer_norm_ = register_module("LayerNorm", layer_norm(o));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.hidden_dropout_prob));
}

torch::Tensor BertResidualOutputImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  const bool sliced = active_in > 0 && active_in < dense_->weight.size(1);
  return layer_norm_(dropout_(sliced ? linear_cols(x, dense_, active_in) : dense_(x)) + residual);
}

BertLayerImpl::BertLayerImpl(const BertOptions& o, int64_t layer)
    : act_(o.hidden_act), head_dim_(o.head_dim()), inner_(o.inner_of(layer)) {
  const int64_t heads = o.heads_of(layer);
  auto attention = register_module("attention", group());
  self_ = attention->register_module("self", BertSelfAttention(o, heads));
  attention_output_ = attention->register_module("output", BertResidualOutput(heads * head_dim_, o));
  auto intermediate = register_module("intermediate", group());
  intermediate_ = intermediate->register_module("dense", Linear(o.hidden_size, inner_));
  output_ = register_module("output", BertResidualOutput(inner_, o));
}

void BertLayerImpl::set_active(int64_t heads, int64_t inner) {
  self_->active_heads = heads;
  attention_output_->active_in = heads * head_dim_;
  active_inner_ = inner;
  output_->active_in = inner;
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& keep, torch::Tensor* probs,
                                     std::array<torch::Tensor, 3>* qkv) {
  const auto a = attention_output_(self_(x, keep, probs, qkv), x);  // [B, T, H]
  const bool sliced = active_inner_ > 0 && active_inner_ < inner_;
  const auto h = bert_activation(act_, sliced ? linear_rows(a, intermediate_, 0, active_inner_) : intermediate_(a));  // [B, T, I]
  return output_(h, a);  // [B, T, H]
}

BertEncoderImpl::BertEncoderImpl(const BertOptions& o) {
  layer_ = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_hidden_layers; ++i) layer_->push_back(BertLayer(o, i));
}

torch::Tensor BertEncoderImpl::forward(torch::Tensor x, const torch::Tensor& keep, std::vector<torch::Tensor>* hidden,
                                       std::vector<torch::Tensor>* attentions,
                                       std::vector<std::array<torch::Tensor, 3>>* qkv) {
  const bool checkpoint = checkpointing && is_training() && !attentions && !qkv;
  for (size_t l = 0; l < layer_->size(); ++l) {
    if (!skipped.empty() && skipped[l]) continue;  // elastic depth
    const auto m = layer_->ptr(l);
    torch::Tensor probs;
    std::array<torch::Tensor, 3> projections;
    if (checkpoint)
      x = checkpointed([m, keep](const torch::Tensor& t) { return m->as<BertLayer>()->forward(t, keep, nullptr, nullptr); },
                       x);
    else
      x = m->as<BertLayer>()->forward(x, keep, attentions ? &probs : nullptr, qkv ? &projections : nullptr);
    if (hidden) hidden->push_back(x);
    if (attentions) attentions->push_back(probs);
    if (qkv) qkv->push_back(projections);
  }
  return x;
}

BertPoolerImpl::BertPoolerImpl(const BertOptions& o) {
  dense_ = register_module("dense", Linear(o.hidden_size, o.hidden_size));
}

torch::Tensor BertPoolerImpl::forward(const torch::Tensor& x) { return torch::tanh(dense_(x.select(1, 0))); }

BertLMPredictionHeadImpl::BertLMPredictionHeadImpl(const BertOptions& o) : act_(o.hidden_act) {
  auto transform = register_module("transform", group());
  dense_ = transform->register_module("dense", Linear(o.hidden_size, o.hidden_size));
  layer_norm_ = transform->register_module("LayerNorm", layer_norm(o));
  bias_ = register_parameter("bias", torch::zeros({o.vocab_size}));
}

torch::Tensor BertLMPredictionHeadImpl::forward(const torch::Tensor& x, const torch::Tensor& word_weight) {
  const auto h = layer_norm_(bert_activation(act_, dense_(x)));  // [B, T, H]
  return linear_padded(h, word_weight, bias_, head_padding(h));  // [B, T, V]
}

void init_bert_weights(torch::nn::Module& m, double std) {
  torch::NoGradGuard no_grad;
  for (auto& sub : m.modules(/*include_self=*/false)) {  // the constructor calls this: no shared_ptr to m yet
    if (auto* linear = sub->as<torch::nn::Linear>()) {
      linear->weight.normal_(0.0, std);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* emb = sub->as<torch::nn::Embedding>()) {
      emb->weight.normal_(0.0, std);
      if (emb->options.padding_idx()) emb->weight[*emb->options.padding_idx()].zero_();
    } else if (auto* ln = sub->as<torch::nn::LayerNorm>()) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    } else if (auto* head = sub->as<BertLMPredictionHead>()) {
      head->named_parameters(false)["bias"].zero_();
    }
  }
}

}  // namespace ptm::models
