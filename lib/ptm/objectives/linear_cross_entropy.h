// Cross entropy of a bias-free linear output layer (an LM head), fused with that layer and
// computed in chunks of rows, so the [N, V] logits are never held whole: for each chunk the
// logits are formed, turned into the loss and into d(loss)/d(logits) = softmax - one-hot in
// place while still in cache, and multiplied back into the gradients of the hidden states and
// of the weight. The gradients are thus computed in the forward pass and only scaled by the
// incoming gradient in the backward pass (as llm.c's fused classifier and Liger's fused linear
// cross entropy do). This removes the log-softmax, its backward and the zero-filled
// [N, V] gradient buffer of the unfused path, and most of its memory.
#pragma once
#include <torch/torch.h>

namespace ptm::objectives {

struct LinearCrossEntropyOptions {
  int64_t ignore_index = -100;  // targets to skip, as in PyTorch
  int64_t chunk_rows = 0;       // rows per chunk; 0 picks by device and vocabulary size
};

// Sum over rows with target != ignore_index of -log softmax(hidden W^T)[target], as a float
// scalar. hidden [N, C], weight [V, C], targets [N] (int64). Differentiable in hidden and
// weight. Under CUDA autocast the matrix products run in the autocast dtype and the softmax
// in fp32, as autocast would run the unfused linear + cross entropy.
torch::Tensor linear_cross_entropy_sum(const torch::Tensor& hidden, const torch::Tensor& weight,
                                       const torch::Tensor& targets, const LinearCrossEntropyOptions& options = {});

// The chunk height used when options.chunk_rows is 0.
int64_t default_chunk_rows(int64_t vocab_size, const torch::Device& device);

}  // namespace ptm::objectives
