// The ViT model: patch embeddings, pre-LN encoder layers (SDPA, or explicit softmax when the
// attention probabilities are asked for), final LayerNorm, pooler/classifier, transformers'
// initialisation, analytic FLOPs, the per-block summary and the `vit` registry entry.
#include "ptm/models/vit.h"

#include "ptm/core/errors.h"
#include "ptm/models/linear_slice.h"
#include "ptm/models/sdpa.h"
#include "ptm/models/tanh_gelu.h"
#include "ptm/models/zoo.h"

namespace ptm::models {
namespace {

namespace nn = torch::nn;

torch::Tensor activate(const torch::Tensor& x, const std::string& act) {
  if (act == "relu") return torch::relu(x);
  if (act == "gelu_new" || act == "gelu_pytorch_tanh") return tanh_gelu(x);
  return torch::gelu(x);  // exact erf GELU
}

// A plain module that only holds named children (HF's nesting: attention.attention.query, ...).
std::shared_ptr<nn::Module> holder() { return std::make_shared<nn::Module>(); }

Linear linear(int64_t in, int64_t out, bool bias = true) {
  return Linear(nn::LinearOptions(in, out).bias(bias));
}

nn::LayerNorm layer_norm(const ViTOptions& o) {
  return nn::LayerNorm(nn::LayerNormOptions({o.hidden_size}).eps(o.layer_norm_eps));
}

}  // namespace

ViTEmbeddingsImpl::ViTEmbeddingsImpl(const ViTOptions& o) {
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, o.hidden_size}));
  position_embeddings =
      register_parameter("position_embeddings", torch::zeros({1, o.num_patches() + 1, o.hidden_size}));
  auto patch = register_module("patch_embeddings", holder());
  projection = patch->register_module(
      "projection", nn::Conv2d(nn::Conv2dOptions(o.num_channels, o.hidden_size, o.patch_size).stride(o.patch_size)));
  dropout_ = register_module("dropout", nn::Dropout(o.hidden_dropout_prob));
}

torch::Tensor ViTEmbeddingsImpl::forward(const torch::Tensor& images) {
  const int64_t B = images.size(0);
  auto x = projection(images).flatten(2).transpose(1, 2);       // [B, N, H]
  x = torch::cat({cls_token.expand({B, 1, x.size(2)}), x}, 1);  // [B, N+1, H]
  return dropout_(x + position_embeddings);                     // [B, N+1, H]
}

ViTLayerImpl::ViTLayerImpl(const ViTOptions& o, int64_t layer)
    : o_(o), heads_(o.heads_of(layer)), inner_(o.inner_of(layer)) {
  const int64_t H = o.hidden_size, A = heads_ * o.head_dim();
  auto attention = register_module("attention", holder());
  auto self = attention->register_module("attention", holder());
  query_ = self->register_module("query", linear(H, A, o.qkv_bias));
  key_ = self->register_module("key", linear(H, A, o.qkv_bias));
  value_ = self->register_module("value", linear(H, A, o.qkv_bias));
  attn_out_ = attention->register_module("output", holder())->register_module("dense", linear(A, H));
  intermediate_ = register_module("intermediate", holder())->register_module("dense", linear(H, inner_));
  output_ = register_module("output", holder())->register_module("dense", linear(inner_, H));
  layernorm_before_ = register_module("layernorm_before", layer_norm(o));
  layernorm_after_ = register_module("layernorm_after", layer_norm(o));
  dropout_ = register_module("dropout", nn::Dropout(o.hidden_dropout_prob));
}

void ViTLayerImpl::set_active(int64_t heads, int64_t inner) {
  active_heads_ = heads;
  active_inner_ = inner;
}

torch::Tensor ViTLayerImpl::forward(const torch::Tensor& x, torch::Tensor* attention) {
  // An elastic sub-network runs the first heads and neurons: slices of the shared weights.
  const bool head_slice = active_heads_ > 0 && active_heads_ < heads_;
  const bool inner_slice = active_inner_ > 0 && active_inner_ < inner_;
  const int64_t B = x.size(0), T = x.size(1), nh = head_slice ? active_heads_ : heads_, hd = o_.head_dim();
  const auto h = layernorm_before_(x);  // [B, T, H]
  const auto split = [&](const torch::Tensor& t) { return t.view({B, T, nh, hd}).transpose(1, 2); };
  const auto project = [&](Linear& l) { return head_slice ? linear_rows(h, l, 0, nh * hd) : l(h); };
  const auto q = split(project(query_)), k = split(project(key_)), v = split(project(value_));  // [B, nh, T, hd]
  const double p = is_training() ? o_.attention_probs_dropout_prob : 0.0;
  torch::Tensor context;  // [B, nh, T, hd]
  if (attention) {
    *attention = torch::softmax(torch::matmul(q, k.transpose(-1, -2)) / std::sqrt(double(hd)), -1);
    context = torch::matmul(torch::dropout(*attention, p, is_training()), v);
  } else {
    context = sdpa(q, k, v, std::nullopt, p, false);
  }
  const auto merged = context.transpose(1, 2).reshape({B, T, nh * hd});                   // [B, T, nh hd]
  auto y = x + dropout_(head_slice ? linear_cols(merged, attn_out_, nh * hd) : attn_out_(merged));  // [B, T, H]
  const auto a = layernorm_after_(y);
  const auto m = activate(inner_slice ? linear_rows(a, intermediate_, 0, active_inner_) : intermediate_(a),
                          o_.hidden_act);                                                   // [B, T, I]
  return y + dropout_(inner_slice ? linear_cols(m, output_, active_inner_) : output_(m));  // [B, T, H]
}

ViTImpl::ViTImpl(const ViTOptions& o) : o_(o) {
  const auto problems = o.problems();
  if (!problems.empty()) {
    std::vector<Diagnostic> d;
    for (const auto& [key, what] : problems) d.push_back({Origin{"vit options", 0, 0}, key, what});
    throw ConfigError(d);
  }
  embeddings_ = register_module("embeddings", ViTEmbeddings(o));
  layers_ = register_module("encoder", holder())->register_module("layer", nn::ModuleList());
  for (int64_t i = 0; i < o.num_hidden_layers; ++i) layers_->push_back(ViTLayer(o, i));
  layernorm_ = register_module("layernorm", layer_norm(o));
  if (o.head == "none")
    pooler_ = register_module("pooler", holder())->register_module("dense", linear(o.hidden_size, o.hidden_size));
  else
    classifier_ = register_module("classifier", linear(o.hidden_size, o.num_labels));
  // transformers' _init_weights: N(0, 0.02) (truncated at +-2, i.e. never) weights, zero biases,
  // LayerNorm 1/0; cls_token and position_embeddings N(0, 0.02).
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    const auto& name = p.key();
    const bool norm = name.find("layernorm") != std::string::npos;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0)
      p.value().zero_();
    else if (norm)
      p.value().fill_(1.0);
    else
      p.value().normal_(0.0, 0.02);
  }
}

ModelOutput ViTImpl::forward(const data::Batch& batch, const ForwardOptions& options) {
  const auto& x = batch.images;  // [B, C, S, S]
  if (!x.defined() || x.dim() != 4 || x.size(1) != o_.num_channels || x.size(2) != o_.image_size ||
      x.size(3) != o_.image_size)
    throw RuntimeError("vit: the batch needs images of shape [B, " + std::to_string(o_.num_channels) + ", " +
                       std::to_string(o_.image_size) + ", " + std::to_string(o_.image_size) +
                       "] (num_channels, image_size)");
  ModelOutput out;
  auto h = embeddings_(x);  // [B, N+1, H]
  if (options.output_hidden_states) out.hidden_states.push_back(h);
  for (size_t l = 0; l < layers_->size(); ++l) {
    if (!subnet_.empty() && subnet_[l].skipped()) continue;  // elastic depth
    torch::Tensor probs;
    h = layers_->ptr(l)->as<ViTLayer>()->forward(h, options.output_attentions ? &probs : nullptr);
    if (options.output_hidden_states) out.hidden_states.push_back(h);
    if (options.output_attentions) out.attentions.push_back(probs);
  }
  out.last_hidden = layernorm_(h);                // [B, N+1, H]
  const auto cls = out.last_hidden.select(1, 0);  // [B, H]
  if (!pooler_.is_empty()) {
    out.pooled = torch::tanh(pooler_(cls));  // [B, H]
  } else {
    out.pooled = cls;
    out.logits = classifier_(cls);  // [B, num_labels]
  }
  return out;
}

void ViTImpl::set_subnet(const Subnet& subnet) {
  if (!subnet.empty()) check_subnet(subnet, full_subnet(*this));
  subnet_ = subnet;
  for (size_t l = 0; l < layers_->size(); ++l) {
    const SubnetLayer s = subnet.empty() ? SubnetLayer{} : subnet[l];
    layers_->ptr(l)->as<ViTLayer>()->set_active(s.heads, s.inner);
  }
}

namespace {

struct Flops {
  double embed = 0, head = 0;
  std::vector<double> layers;
};

// Per layer with A = heads x head size attention channels: q, k, v and output projections
// 8*T*H*A, scores and context 4*T^2*A, MLP 4*T*H*I.
Flops flops_of(const ViTOptions& o) {
  const double N = double(o.num_patches()), T = N + 1, H = double(o.hidden_size);
  Flops f;
  f.embed = 2 * N * double(o.num_channels * o.patch_size * o.patch_size) * H;
  for (int64_t l = 0; l < o.num_hidden_layers; ++l) {
    const double A = double(o.heads_of(l) * o.head_dim()), I = double(o.inner_of(l));
    f.layers.push_back(8 * T * H * A + 4 * T * T * A + 4 * T * H * I);
  }
  f.head = o.head == "none" ? 2 * H * H : 2 * H * double(o.num_labels);
  return f;
}

}  // namespace

int64_t vit_parameter_count(const ViTOptions& o) {
  const int64_t H = o.hidden_size, norm = 2 * H, bias = o.qkv_bias ? 1 : 0;
  int64_t n = H + (o.num_patches() + 1) * H + o.num_channels * o.patch_size * o.patch_size * H + H;  // embeddings
  for (int64_t l = 0; l < o.num_hidden_layers; ++l) {
    const int64_t A = o.heads_of(l) * o.head_dim(), I = o.inner_of(l);
    n += 3 * (H * A + bias * A) + A * H + H;  // query, key, value; attention output
    n += H * I + I + I * H + H + 2 * norm;    // intermediate, output; layernorm_before/after
  }
  n += norm;  // final layernorm
  n += o.head == "none" ? H * H + H : H * o.num_labels + o.num_labels;
  return n;
}

double ViTImpl::forward_flops(int64_t) const {
  const auto f = flops_of(o_);
  double total = f.embed + f.head;
  for (const auto l : f.layers) total += l;
  return total;
}

std::vector<BlockSummary> ViTImpl::summary(int64_t) const {
  const auto f = flops_of(o_);
  std::vector<BlockSummary> out;
  out.push_back({"embeddings", count_parameters(*embeddings_), f.embed});
  for (size_t i = 0; i < layers_->size(); ++i)
    out.push_back({"encoder.layer." + std::to_string(i), count_parameters(*layers_->ptr(i)), f.layers[i]});
  out.push_back({"layernorm", count_parameters(*layernorm_), 0});
  if (!pooler_.is_empty()) out.push_back({"pooler", count_parameters(*pooler_), f.head});
  if (!classifier_.is_empty()) out.push_back({"classifier", count_parameters(*classifier_), f.head});
  return out;
}

ModelFactory vit_factory() {
  return [](config::Section& s) -> ModelBuilder {
    ViTOptions o;
    bind_vit(s, o);
    return [o] { return std::make_shared<ViTImpl>(o); };
  };
}

void register_vit(Registry<ModelFactory>& r) {
  r.add("vit", "Vision Transformer (HF ViTModel names; Ti/S/B presets), head classification|none", vit_factory());
}

}  // namespace ptm::models
