// The tanh-approximated GELU of GPT-2 (HF "gelu_new"): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
//
// On the CPU in fp32 with gradients, one pass computes the output and the derivative and keeps
// the derivative for the backward pass, which is then a single multiplication. ATen's gelu
// keeps the input and evaluates tanh again in gelu_backward; its vectorised tanh is the slow
// part of both (measured on 2 cores, 1M elements: ATen forward 0.89 ms + backward 0.99 ms;
// this forward 0.8 ms on one thread, backward a multiplication). Elsewhere (CUDA, other
// dtypes, no gradients) it is torch::gelu(x, "tanh").
#pragma once
#include <ATen/core/Tensor.h>

namespace ptm::models {

at::Tensor tanh_gelu(const at::Tensor& x);

}  // namespace ptm::models
