// The GPT's prunable axes and its physical shrinking.
#include "ptm/compress/axes.h"

#include "ptm/core/errors.h"
#include "ptm/models/gpt.h"

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

}  // namespace

std::vector<PrunableAxis> prunable_axes(const models::ModelImpl& model) {
  if (const auto* gpt = dynamic_cast<const models::GptImpl*>(&model)) return gpt_axes(*gpt);
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
  auto* gpt = dynamic_cast<models::GptImpl*>(&model);
  if (!gpt) throw RuntimeError("structured pruning: the " + model.arch() + " model declares no prunable axes");
  auto o = gpt->options();
  Shrunk out;
  o.head_size = o.head_dim();
  std::vector<int64_t> heads, inner;
  for (int64_t l = 0; l < o.n_layer; ++l) {
    heads.push_back(kept.count("heads") ? int64_t(kept.at("heads")[l].size()) : o.heads_of(l));
    inner.push_back(kept.count("neurons") ? int64_t(kept.at("neurons")[l].size()) : o.inner_of(l));
  }
  // Whole layers: kept["layers"][0] lists the layers that stay (all when absent).
  std::vector<int64_t> layers;
  if (kept.count("layers")) {
    layers = kept.at("layers").at(0);
    if (layers.empty()) throw RuntimeError("structured pruning: every layer would be removed");
  } else {
    for (int64_t l = 0; l < o.n_layer; ++l) layers.push_back(l);
  }
  std::vector<int64_t> kept_heads, kept_inner;
  for (const auto l : layers) {
    kept_heads.push_back(heads.at(l));
    kept_inner.push_back(inner.at(l));
  }
  o.n_layer = static_cast<int64_t>(layers.size());
  o.layer_heads = kept_heads;
  o.layer_inner = kept_inner;
  out.int_options["head_size"] = o.head_size;
  out.int_options["n_layer"] = o.n_layer;
  out.list_options["layer_heads"] = kept_heads;
  out.list_options["layer_inner"] = kept_inner;

  // Every tensor of the old model, sliced along its couplings.
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& item : model.named_parameters()) tensors[item.key()] = item.value().detach();
  for (const auto& item : model.named_buffers()) tensors[item.key()] = item.value().detach();
  for (const auto& axis : prunable_axes(model)) {
    const auto it = kept.find(axis.name);
    if (it == kept.end()) continue;
    for (size_t l = 0; l < axis.layers.size(); ++l)
      for (const auto& c : axis.layers[l].tensors) {
        auto& t = tensors.at(c.tensor);
        t = t.index_select(c.dim, unit_indices(c, it->second[l]).to(t.device()));
      }
  }
  // Layer `layers[i]` becomes h.i of the small model.
  const auto source_name = [&layers](const std::string& name) {
    const std::string prefix = "transformer.h.";
    if (name.rfind(prefix, 0) != 0) return name;
    const auto dot = name.find('.', prefix.size());
    const auto i = std::stoll(name.substr(prefix.size(), dot - prefix.size()));
    return prefix + std::to_string(layers.at(static_cast<size_t>(i))) + name.substr(dot);
  };
  auto small = models::Gpt(o);
  torch::NoGradGuard no_grad;
  for (auto& item : small->named_parameters()) item.value().copy_(tensors.at(source_name(item.key())));
  for (auto& item : small->named_buffers()) item.value().copy_(tensors.at(source_name(item.key())));
  out.model = small.ptr();
  return out;
}

}  // namespace ptm::compress
