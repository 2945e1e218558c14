// Copies of the weights a rewinding round goes back to.
#include "ptm/compress/weight_snapshot.h"

#include "ptm/core/errors.h"

namespace ptm::compress {

WeightSnapshot::WeightSnapshot(models::ModelImpl& model) {
  for (const auto& p : model.named_parameters())
    if (p.value().requires_grad()) live_[p.key()] = p.value();
  for (const auto& b : model.named_buffers())
    if (b.value().is_floating_point()) live_[b.key()] = b.value();
}

void WeightSnapshot::take() {
  torch::NoGradGuard no_grad;
  copies_.clear();
  for (const auto& [name, t] : live_) copies_[name] = t.detach().clone();
}

void WeightSnapshot::restore() {
  torch::NoGradGuard no_grad;
  for (const auto& [name, copy] : copies_) live_.at(name).detach().copy_(copy);
}

models::NamedTensors WeightSnapshot::state(const std::string& prefix) const {
  models::NamedTensors out;
  for (const auto& [name, copy] : copies_) out.emplace_back(prefix + name, copy.to(torch::kCPU));
  return out;
}

void WeightSnapshot::load(const models::NamedTensors& state, const std::string& prefix, const std::string& file) {
  std::map<std::string, torch::Tensor> found;
  for (const auto& [name, t] : state)
    if (name.compare(0, prefix.size(), prefix) == 0) found[name.substr(prefix.size())] = t;
  copies_.clear();
  if (found.empty()) return;  // not taken yet when the checkpoint was written
  for (const auto& [name, t] : live_) {
    const auto it = found.find(name);
    if (it == found.end() || !it->second.sizes().equals(t.sizes()))
      throw IoError(file + ": " + (it == found.end() ? "no rewind weights for " : "the rewind weights do not fit ") +
                    name + " (the checkpoint was written by another prune: section or model)");
    copies_[name] = it->second.to(t.device(), t.scalar_type());
  }
}

}  // namespace ptm::compress
