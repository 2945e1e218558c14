// Elastic sub-networks: dispatch to the architectures that support them.
#include "ptm/models/elastic.h"

#include "ptm/core/errors.h"
#include "ptm/models/gpt.h"

namespace ptm::models {

void set_subnet(ModelImpl& model, const Subnet& subnet) {
  if (auto* gpt = dynamic_cast<GptImpl*>(&model)) return gpt->set_subnet(subnet);
  throw RuntimeError("the " + model.arch() + " model has no elastic sub-networks (ptm nas supports gpt)");
}

Subnet full_subnet(const ModelImpl& model) {
  const auto* gpt = dynamic_cast<const GptImpl*>(&model);
  if (!gpt) throw RuntimeError("the " + model.arch() + " model has no elastic sub-networks (ptm nas supports gpt)");
  Subnet s;
  for (int64_t l = 0; l < gpt->options().n_layer; ++l) s.push_back({gpt->options().heads_of(l), gpt->options().inner_of(l)});
  return s;
}

int64_t subnet_parameters(const ModelImpl& model, const Subnet& subnet) {
  const auto* gpt = dynamic_cast<const GptImpl*>(&model);
  if (!gpt) throw RuntimeError("the " + model.arch() + " model has no elastic sub-networks (ptm nas supports gpt)");
  if (subnet.empty()) return count_parameters(model);
  auto o = gpt->options();
  o.head_size = o.head_dim();
  o.layer_heads.clear();
  o.layer_inner.clear();
  for (const auto& l : subnet)
    if (!l.skipped()) {
      o.layer_heads.push_back(l.heads);
      o.layer_inner.push_back(l.inner);
    }
  o.n_layer = static_cast<int64_t>(o.layer_heads.size());
  if (o.kv_heads() != o.n_head) o.layer_heads.clear();  // grouped-query: heads are not elastic
  return gpt_parameter_count(o);
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
