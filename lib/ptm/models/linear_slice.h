// A Linear layer applied through part of its weight, for elastic sub-networks (ptm nas): a
// slice is a view of the shared weights, so its gradients land in the slice. Output hooks
// (PEFT) do not run on a slice.
#pragma once
#include <torch/torch.h>

#include "ptm/models/linear.h"

namespace ptm::models {

// Output rows [start, start + n) of `l` (weight rows and bias entries) applied to x [..., in].
inline torch::Tensor linear_rows(const torch::Tensor& x, const Linear& l, int64_t start, int64_t n) {
  const auto& b = l->bias;
  return at::linear(x, l->weight.narrow(0, start, n), b.defined() ? b.narrow(0, start, n) : torch::Tensor());
}

// The first n input columns of `l` applied to x [..., n] (the whole bias).
inline torch::Tensor linear_cols(const torch::Tensor& x, const Linear& l, int64_t n) {
  return at::linear(x, l->weight.narrow(1, 0, n), l->bias);
}

}  // namespace ptm::models
