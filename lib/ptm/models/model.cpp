// Shared model helpers: default state-dict export/import with a load report.
#include "ptm/models/model.h"

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/models/hf_folder.h"

#include <filesystem>
#include <map>
#include <sstream>

namespace ptm::models {
namespace {

std::string shape_str(const torch::IntArrayRef s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  return o.str() + "]";
}

}  // namespace

std::string LoadReport::str() const {
  std::string s;
  for (const auto& m : missing) s += "missing from the checkpoint: " + m + "\n";
  for (const auto& u : unexpected) s += "not in the model: " + u + "\n";
  for (const auto& m : mismatched) s += "shape mismatch: " + m + "\n";
  return s;
}

NamedTensors ModelImpl::hf_state_dict() const {
  NamedTensors out;
  for (const auto& p : named_parameters()) out.emplace_back(p.key(), p.value().detach());
  for (const auto& b : named_buffers()) out.emplace_back(b.key(), b.value().detach());
  return out;
}

void match_and_copy(std::map<std::string, torch::Tensor>& own, const RenamedTensors& given, bool strict,
                    LoadReport& r, const std::function<std::string(const std::string&)>& shown_name) {
  for (const auto& [name, t] : own) {
    r.model_values += t.numel();
    const auto it = given.find(name);
    if (it == given.end())
      r.missing.push_back(shown_name ? shown_name(name) : name);
    else if (it->second.second.sizes() != t.sizes())
      r.mismatched.push_back(it->second.first + ": checkpoint " + shape_str(it->second.second.sizes()) + " vs model " +
                             shape_str(t.sizes()));
  }
  for (const auto& [name, source] : given)
    if (!own.count(name)) r.unexpected.push_back(source.first);
  if (strict && !r.ok()) return;
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : own) {
    const auto it = given.find(name);
    if (it != given.end() && it->second.second.sizes() == t.sizes()) {
      t.copy_(it->second.second);
      r.loaded_values += t.numel();
    }
  }
}

LoadReport ModelImpl::load_hf_state_dict(const NamedTensors& tensors, bool strict) {
  std::map<std::string, torch::Tensor> own;
  for (const auto& p : named_parameters()) own[p.key()] = p.value();
  for (const auto& b : named_buffers()) own[b.key()] = b.value();
  LoadReport r;
  RenamedTensors given;
  for (const auto& [k, v] : tensors)
    if (!given.emplace(k, std::make_pair(k, v)).second) r.unexpected.push_back(k + " (given twice)");
  match_and_copy(own, given, strict, r);
  return r;
}

int64_t count_parameters(const torch::nn::Module& m, bool trainable_only) {
  int64_t n = 0;
  for (const auto& p : m.parameters())
    if (!trainable_only || p.requires_grad()) n += p.numel();
  return n;
}

void save_hf_folder(const ModelImpl& model, const std::string& dir) {
  save_hf_folder_sharded(model, dir, kHfMaxShardBytes);
}

}  // namespace ptm::models
