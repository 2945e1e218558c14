// Score -> mask selection for unstructured and N:M pruning.
#include "ptm/compress/masks.h"

#include <cmath>

namespace ptm::compress {
namespace {

// Indices of `flat` in ascending score order, ties by index.
torch::Tensor ascending(const torch::Tensor& flat) {
  return std::get<1>(flat.sort(/*stable=*/true, /*dim=*/-1, /*descending=*/false));
}

}  // namespace

int64_t pruned_count(double sparsity, int64_t count) {
  return static_cast<int64_t>(std::floor(sparsity * static_cast<double>(count) + 1e-9));
}

torch::Tensor layer_mask(const torch::Tensor& scores, double sparsity) {
  auto mask = torch::ones({scores.numel()}, scores.options().dtype(torch::kFloat));
  const int64_t k = pruned_count(sparsity, scores.numel());
  if (k > 0) mask.index_fill_(0, ascending(scores.flatten()).slice(0, 0, k), 0.0);
  return mask.view(scores.sizes());
}

torch::Tensor row_mask(const torch::Tensor& scores, double sparsity) {
  auto mask = torch::ones(scores.sizes(), scores.options().dtype(torch::kFloat));  // [out, in]
  const int64_t k = pruned_count(sparsity, scores.size(1));
  if (k > 0) mask.scatter_(1, ascending(scores).slice(1, 0, k), 0.0);
  return mask;
}

std::vector<torch::Tensor> global_masks(const std::vector<torch::Tensor>& scores, double sparsity) {
  std::vector<torch::Tensor> flat;
  for (const auto& s : scores) flat.push_back(s.flatten().to(torch::kFloat));
  const auto all = torch::cat(flat);
  auto mask = torch::ones({all.numel()}, all.options());
  const int64_t k = pruned_count(sparsity, all.numel());
  if (k > 0) mask.index_fill_(0, ascending(all).slice(0, 0, k), 0.0);
  std::vector<torch::Tensor> out;
  int64_t offset = 0;
  for (const auto& s : scores) {
    out.push_back(mask.slice(0, offset, offset + s.numel()).view(s.sizes()));
    offset += s.numel();
  }
  return out;
}

torch::Tensor nm_mask(const torch::Tensor& scores, int64_t n, int64_t m) {
  const int64_t out = scores.size(0), in = scores.size(1);
  auto mask = torch::ones({out, in / m, m}, scores.options().dtype(torch::kFloat));
  if (m > n) mask.scatter_(2, ascending(scores.reshape({out, in / m, m})).slice(2, 0, m - n), 0.0);
  return mask.view({out, in});
}

}  // namespace ptm::compress
