// Masks from scores (1 = kept, 0 = pruned), same shape as the scores [out, in]. The lowest
// scores go; ties go in index order (stable sort), so a run is reproducible.
//   layer   floor(sparsity x numel) lowest weights of the tensor
//   row     floor(sparsity x in) lowest weights of every output row (Wanda's comparison group)
//   global  one threshold over all tensors together: floor(sparsity x all weights) lowest
//   N:M     in every m consecutive weights along the input dimension, the n highest are kept
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace ptm::compress {

// The number of weights `sparsity` removes from `count` (floor, robust to 0.29 x 100 = 28.99..).
int64_t pruned_count(double sparsity, int64_t count);

torch::Tensor layer_mask(const torch::Tensor& scores, double sparsity);
torch::Tensor row_mask(const torch::Tensor& scores, double sparsity);
std::vector<torch::Tensor> global_masks(const std::vector<torch::Tensor>& scores, double sparsity);
// scores.size(1) must be a multiple of m (checked by the caller, which names the tensor).
torch::Tensor nm_mask(const torch::Tensor& scores, int64_t n, int64_t m);

}  // namespace ptm::compress
