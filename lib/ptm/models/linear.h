// ptm's Linear layer: torch::nn::Linear (same registered names, `weight` [out, in] and `bias`
// [out], so checkpoints and Hugging Face names do not change) plus an ordered list of output
// hooks through which parameter-efficient methods change what the layer computes, in the
// "unified view" of He et al. (2022):
//   y = W x + b;  for each hook h: y = h(x, y)
// e.g. LoRA y + (alpha/r) B A dropout(x), a parallel adapter y + s up(act(down(x))), a
// sequential adapter y + up(act(down(y))). A hook's modules are registered submodules of the
// Linear under names the hook chooses (`lora_A`, `lora_B`, ...), so they are named, trained and
// saved with the model. Derives from torch::nn::LinearImpl: code that looks for
// `as<torch::nn::Linear>()` (initialisation, pruning) still finds these layers; call forward
// through ptm::models::Linear for the hooks to run.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ptm::models {

class LinearHook {
 public:
  virtual ~LinearHook() = default;
  virtual std::string kind() const = 0;  // "lora", "adapter", ...
  // x [..., in] the layer's input, y [..., out] its output so far -> the new output [..., out].
  virtual torch::Tensor apply(const torch::Tensor& x, const torch::Tensor& y, bool training) = 0;
  // The modules this hook owns, with the names they take inside the host Linear.
  virtual std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() const = 0;
  // A deep copy (for Module::clone), its tensors moved to `device` when given.
  virtual std::shared_ptr<LinearHook> clone(const std::optional<torch::Device>& device) const = 0;
};

class LinearImpl : public torch::nn::LinearImpl {
 public:
  LinearImpl(int64_t in_features, int64_t out_features) : LinearImpl(torch::nn::LinearOptions(in_features, out_features)) {}
  explicit LinearImpl(const torch::nn::LinearOptions& options) : torch::nn::LinearImpl(options) {}

  torch::Tensor forward(const torch::Tensor& x);  // [..., in] -> [..., out]

  // Appends a hook and registers its modules; RuntimeError when one of their names is taken.
  void add_hook(std::shared_ptr<LinearHook> hook);
  // Removes (and unregisters the modules of) every hook of `kind`; returns how many.
  size_t remove_hooks(const std::string& kind);
  const std::vector<std::shared_ptr<LinearHook>>& hooks() const { return hooks_; }

  std::shared_ptr<torch::nn::Module> clone(const std::optional<torch::Device>& device = std::nullopt) const override;

 private:
  std::vector<std::shared_ptr<LinearHook>> hooks_;
};
TORCH_MODULE(Linear);

// linear(x, weight, bias) with the output features padded inside to a multiple of `multiple`
// (zero rows of the weight, zero bias) and sliced off again: the same values and gradients. On
// CUDA an output width like BERT's 30522 or GPT-2's 50257 puts all three cuBLAS products of a
// vocabulary head on slow unaligned kernels; padded to 64 they take the fast ones.
torch::Tensor linear_padded(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            int64_t multiple);

// n rounded up to a multiple of `multiple` (>= 1).
inline int64_t padded_width(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// The padding multiple for a vocabulary head on x's device: 64 on CUDA, 1 (none) elsewhere.
int64_t head_padding(const torch::Tensor& x);

}  // namespace ptm::models
