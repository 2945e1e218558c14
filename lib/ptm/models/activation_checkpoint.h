// Activation checkpointing (as torch.utils.checkpoint, reentrant form): run a block without
// keeping its intermediate activations, and run it again during the backward pass to get its
// gradients. Memory for a stack of N blocks drops from N blocks' activations to N inputs plus
// one block's activations, for one more forward pass per block (about a third more compute).
// The random state (dropout) and the autocast state of the forward pass are replayed, so the
// recomputation is the same function and the gradients equal those of a plain run.
#pragma once
#include <torch/torch.h>

#include <functional>

namespace ptm::models {

// y = block(x), differentiable in x and in every parameter `block` uses (their gradients are
// accumulated into .grad during the backward pass, as in PyTorch's reentrant checkpoint).
// Without grad mode, or when neither x nor any parameter needs a gradient, it is block(x).
torch::Tensor checkpointed(const std::function<torch::Tensor(const torch::Tensor&)>& block, const torch::Tensor& x);

}  // namespace ptm::models
