// The prunable axes of each architecture and their physical shrinking: the slicing of the
// coupled tensors is shared; each architecture rebuilds its own smaller model and options.
#include "ptm/compress/axes.h"

#include "ptm/core/errors.h"
#include "ptm/models/bert.h"
#include "ptm/models/gpt.h"
#include "ptm/models/vit.h"

namespace ptm::compress {
namespace {

std::vector<PrunableAxis> gpt_axes(const models::GptImpl& gpt) {
  const auto& o = gpt.options();
  std::vector<PrunableAxis> axes;
  const bool mha = o.kv_heads() == o.n_head;
  PrunableAxis heads{"heads", "head", {}}, neurons{"neurons", "neuron", {}};
  for (int64_t l = 0; l < o.n_layer; ++l) {
    const auto b = o.block(l);
    const std::string p = "transformer.h." + std::to_string(l) + ".";
    const int64_t H = b.n_head, D = b.head_dim, I = b.inner;
    AxisLayer hl{
        H,
        {{p + "attn.c_attn.weight", 0, {0, H * D, 2 * H * D}, D, true}, {p + "attn.c_proj.weight", 1, {0}, D, true}}};
    if (o.bias) hl.tensors.push_back({p + "attn.c_attn.bias", 0, {0, H * D, 2 * H * D}, D, false});
    heads.layers.push_back(hl);
    const std::vector<int64_t> fc_offsets = b.swiglu ? std::vector<int64_t>{0, I} : std::vector<int64_t>{0};
    AxisLayer nl{I, {{p + "mlp.c_fc.weight", 0, fc_offsets, 1, true}, {p + "mlp.c_proj.weight", 1, {0}, 1, true}}};
    if (o.bias) nl.tensors.push_back({p + "mlp.c_fc.bias", 0, fc_offsets, 1, false});
    neurons.layers.push_back(nl);
  }
  if (mha) axes.push_back(heads);
  axes.push_back(neurons);
  return axes;
}

// BERT and ViT encoder layers: q, k, v under `self_attention` ("attention.self." for BERT,
// "attention.attention." for ViT), the rest named alike.
template <class Options>
std::vector<PrunableAxis> encoder_axes(const Options& o, const std::string& self_attention, bool qkv_bias) {
  PrunableAxis heads{"heads", "head", {}}, neurons{"neurons", "neuron", {}};
  const int64_t D = o.head_dim();
  for (int64_t l = 0; l < o.num_hidden_layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    AxisLayer hl{o.heads_of(l), {}};
    for (const char* proj : {"query", "key", "value"}) {
      hl.tensors.push_back({p + self_attention + proj + ".weight", 0, {0}, D, true});
      if (qkv_bias) hl.tensors.push_back({p + self_attention + proj + ".bias", 0, {0}, D, false});
    }
    hl.tensors.push_back({p + "attention.output.dense.weight", 1, {0}, D, true});
    heads.layers.push_back(hl);
    neurons.layers.push_back({o.inner_of(l),
                              {{p + "intermediate.dense.weight", 0, {0}, 1, true},
                               {p + "intermediate.dense.bias", 0, {0}, 1, false},
                               {p + "output.dense.weight", 1, {0}, 1, true}}});
  }
  return {heads, neurons};
}

// The units of `axis` left in layer l: the kept ones, or `all` when the axis is not pruned.
int64_t kept_or(const KeptUnits& kept, const std::string& axis, int64_t l, int64_t all) {
  const auto it = kept.find(axis);
  return it == kept.end() ? all : static_cast<int64_t>(it->second.at(static_cast<size_t>(l)).size());
}

// What an architecture contributes to shrink(): a fresh model of the kept units in the kept
// `layers`, the options that rebuild it, and where its layers live (layer i of the small model
// is named layer_prefix + i).
struct Rebuilt {
  Shrunk shrunk;
  std::string layer_prefix;
};

// Heads and MLP width of each kept layer (options with heads_of/inner_of: GPT, BERT).
template <class Options>
std::pair<std::vector<int64_t>, std::vector<int64_t>> kept_sizes(const Options& o, const KeptUnits& kept,
                                                                  const std::vector<int64_t>& layers) {
  std::vector<int64_t> heads, inner;
  for (const auto l : layers) {
    heads.push_back(kept_or(kept, "heads", l, o.heads_of(l)));
    inner.push_back(kept_or(kept, "neurons", l, o.inner_of(l)));
  }
  return {heads, inner};
}

Rebuilt rebuild_gpt(const models::GptImpl& gpt, const KeptUnits& kept, const std::vector<int64_t>& layers) {
  auto o = gpt.options();
  const auto [heads, inner] = kept_sizes(o, kept, layers);
  o.head_size = o.head_dim();
  o.n_layer = static_cast<int64_t>(heads.size());
  o.layer_heads = heads;
  o.layer_inner = inner;
  Rebuilt r{{}, "transformer.h."};
  r.shrunk.int_options = {{"head_size", o.head_size}, {"n_layer", o.n_layer}};
  r.shrunk.list_options = {{"layer_heads", heads}, {"layer_inner", inner}};
  if (o.kv_heads() != o.n_head) {  // grouped-query: the heads stay (no heads axis)
    o.layer_heads.clear();
    r.shrunk.list_options.erase("layer_heads");
  }
  r.shrunk.model = models::Gpt(o).ptr();
  return r;
}

// BERT and ViT: the same per-layer option names (num_hidden_layers, head_size, layer_heads,
// layer_inner) and layer names.
template <class Model, class Options>
Rebuilt rebuild_encoder(Options o, const KeptUnits& kept, const std::vector<int64_t>& layers) {
  const auto [heads, inner] = kept_sizes(o, kept, layers);
  o.head_size = o.head_dim();
  o.num_hidden_layers = static_cast<int64_t>(heads.size());
  o.layer_heads = heads;
  o.layer_inner = inner;
  Rebuilt r{{}, "encoder.layer."};
  r.shrunk.int_options = {{"head_size", o.head_size}, {"num_hidden_layers", o.num_hidden_layers}};
  r.shrunk.list_options = {{"layer_heads", heads}, {"layer_inner", inner}};
  r.shrunk.model = Model(o).ptr();
  return r;
}

}  // namespace

std::vector<PrunableAxis> prunable_axes(const models::ModelImpl& model) {
  if (const auto* gpt = dynamic_cast<const models::GptImpl*>(&model)) return gpt_axes(*gpt);
  if (const auto* bert = dynamic_cast<const models::BertImpl*>(&model))
    return encoder_axes(bert->options(), "attention.self.", true);
  if (const auto* vit = dynamic_cast<const models::ViTImpl*>(&model))
    return encoder_axes(vit->options(), "attention.attention.", vit->options().qkv_bias);
  return {};
}

torch::Tensor unit_indices(const Coupling& c, const std::vector<int64_t>& units) {
  std::vector<int64_t> idx;
  for (const auto off : c.offsets)
    for (const auto u : units)
      for (int64_t k = 0; k < c.width; ++k) idx.push_back(off + u * c.width + k);
  return torch::tensor(idx, torch::kLong);
}

Shrunk shrink(models::ModelImpl& model, const KeptUnits& kept) {
  const auto axes = prunable_axes(model);
  if (axes.empty()) throw RuntimeError("structured pruning: the " + model.arch() + " model declares no prunable axes");
  const size_t n_layer = axes.front().layers.size();
  // Whole layers: kept["layers"][0] lists the layers that stay (all when absent).
  std::vector<int64_t> layers;
  if (kept.count("layers")) {
    layers = kept.at("layers").at(0);
    if (layers.empty()) throw RuntimeError("structured pruning: every layer would be removed");
  } else {
    for (size_t l = 0; l < n_layer; ++l) layers.push_back(static_cast<int64_t>(l));
  }
  Rebuilt r;
  if (const auto* gpt = dynamic_cast<const models::GptImpl*>(&model))
    r = rebuild_gpt(*gpt, kept, layers);
  else if (const auto* bert = dynamic_cast<const models::BertImpl*>(&model))
    r = rebuild_encoder<models::Bert>(bert->options(), kept, layers);
  else if (const auto* vit = dynamic_cast<const models::ViTImpl*>(&model))
    r = rebuild_encoder<models::ViT>(vit->options(), kept, layers);
  else
    throw RuntimeError("structured pruning: the " + model.arch() + " model cannot be rebuilt smaller");

  // Every tensor of the old model, sliced along its couplings.
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : model.named_parameters()) tensors[item.key()] = item.value().detach();
  for (const auto& item : model.named_buffers()) tensors[item.key()] = item.value().detach();
  for (const auto& axis : axes) {
    const auto it = kept.find(axis.name);
    if (it == kept.end()) continue;
    for (size_t l = 0; l < axis.layers.size(); ++l)
      for (const auto& c : axis.layers[l].tensors) {
        auto& t = tensors.at(c.tensor);
        t = t.index_select(c.dim, unit_indices(c, it->second[l]).to(t.device()));
      }
  }
  // Layer `layers[i]` becomes layer i of the small model.
  const auto source_name = [&layers, &prefix = r.layer_prefix](const std::string& name) {
    if (name.rfind(prefix, 0) != 0) return name;
    const auto dot = name.find('.', prefix.size());
    const auto i = std::stoll(name.substr(prefix.size(), dot - prefix.size()));
    return prefix + std::to_string(layers.at(static_cast<size_t>(i))) + name.substr(dot);
  };
  auto& small = *r.shrunk.model;
  torch::NoGradGuard no_grad;
  for (auto& item : small.named_parameters()) item.value().copy_(tensors.at(source_name(item.key())));
  for (auto& item : small.named_buffers()) item.value().copy_(tensors.at(source_name(item.key())));
  return r.shrunk;
}

}  // namespace ptm::compress
