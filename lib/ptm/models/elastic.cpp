// Elastic sub-networks: dispatch to the architectures that support them (gpt, bert, vit).
#include "ptm/models/elastic.h"

#include "ptm/core/errors.h"
#include "ptm/models/bert.h"
#include "ptm/models/gpt.h"
#include "ptm/models/vit.h"

namespace ptm::models {
namespace {

[[noreturn]] void unsupported(const ModelImpl& model) {
  throw RuntimeError("the " + model.arch() + " model has no elastic sub-networks (ptm nas supports gpt, bert and vit)");
}

// The head counts and widths of the layers a sub-network keeps (skipped layers dropped).
void kept_sizes(const Subnet& subnet, std::vector<int64_t>& heads, std::vector<int64_t>& inner) {
  heads.clear();
  inner.clear();
  for (const auto& l : subnet)
    if (!l.skipped()) {
      heads.push_back(l.heads);
      inner.push_back(l.inner);
    }
}

}  // namespace

void set_subnet(ModelImpl& model, const Subnet& subnet) {
  if (auto* gpt = dynamic_cast<GptImpl*>(&model)) return gpt->set_subnet(subnet);
  if (auto* bert = dynamic_cast<BertImpl*>(&model)) return bert->set_subnet(subnet);
  if (auto* vit = dynamic_cast<ViTImpl*>(&model)) return vit->set_subnet(subnet);
  unsupported(model);
}

void check_subnet(const Subnet& subnet, const Subnet& full) {
  if (subnet.size() != full.size())
    throw RuntimeError("sub-network " + subnet_string(subnet) + ": " + std::to_string(subnet.size()) +
                       " layers given, the model has " + std::to_string(full.size()));
  size_t kept = 0;
  for (size_t l = 0; l < subnet.size(); ++l) {
    const auto& s = subnet[l];
    if (s.skipped()) continue;
    ++kept;
    const std::string where = "sub-network " + subnet_string(subnet) + ", layer " + std::to_string(l) + ": ";
    if (s.heads < 1 || s.heads > full[l].heads)
      throw RuntimeError(where + "heads must lie in [1, " + std::to_string(full[l].heads) + "], got " +
                         std::to_string(s.heads));
    if (s.inner < 1 || s.inner > full[l].inner)
      throw RuntimeError(where + "MLP width must lie in [1, " + std::to_string(full[l].inner) + "], got " +
                         std::to_string(s.inner));
  }
  if (kept == 0) throw RuntimeError("sub-network " + subnet_string(subnet) + " skips every layer");
}

Subnet full_subnet(const ModelImpl& model) {
  Subnet s;
  if (const auto* gpt = dynamic_cast<const GptImpl*>(&model)) {
    for (int64_t l = 0; l < gpt->options().n_layer; ++l) s.push_back({gpt->options().heads_of(l), gpt->options().inner_of(l)});
  } else if (const auto* bert = dynamic_cast<const BertImpl*>(&model)) {
    const auto& o = bert->options();
    for (int64_t l = 0; l < o.num_hidden_layers; ++l) s.push_back({o.heads_of(l), o.inner_of(l)});
  } else if (const auto* vit = dynamic_cast<const ViTImpl*>(&model)) {
    const auto& o = vit->options();
    for (int64_t l = 0; l < o.num_hidden_layers; ++l) s.push_back({o.heads_of(l), o.inner_of(l)});
  } else {
    unsupported(model);
  }
  return s;
}

int64_t subnet_parameters(const ModelImpl& model, const Subnet& subnet) {
  if (const auto* gpt = dynamic_cast<const GptImpl*>(&model)) {
    if (subnet.empty()) return count_parameters(model);
    auto o = gpt->options();
    o.head_size = o.head_dim();
    kept_sizes(subnet, o.layer_heads, o.layer_inner);
    o.n_layer = static_cast<int64_t>(o.layer_heads.size());
    if (o.kv_heads() != o.n_head) o.layer_heads.clear();  // grouped-query: heads are not elastic
    return gpt_parameter_count(o);
  }
  if (const auto* bert = dynamic_cast<const BertImpl*>(&model)) {
    if (subnet.empty()) return count_parameters(model);
    auto o = bert->options();
    o.head_size = o.head_dim();
    kept_sizes(subnet, o.layer_heads, o.layer_inner);
    o.num_hidden_layers = static_cast<int64_t>(o.layer_heads.size());
    return bert_parameter_count(o);
  }
  if (const auto* vit = dynamic_cast<const ViTImpl*>(&model)) {
    if (subnet.empty()) return count_parameters(model);
    auto o = vit->options();
    o.head_size = o.head_dim();
    kept_sizes(subnet, o.layer_heads, o.layer_inner);
    o.num_hidden_layers = static_cast<int64_t>(o.layer_heads.size());
    return vit_parameter_count(o);
  }
  unsupported(model);
}

std::string subnet_string(const Subnet& subnet) {
  std::string out;
  for (const auto& l : subnet) {
    if (!out.empty()) out += ",";
    out += l.skipped() ? "-" : std::to_string(l.heads) + "/" + std::to_string(l.inner);
  }
  return out;
}

}  // namespace ptm::models
