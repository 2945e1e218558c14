// The modules parameter-efficient methods add to a model:
//   LoraHook      on a Linear: y + (alpha/r) B A dropout(x); A [r, in] Kaiming-uniform, B [out, r] zero.
//                 Registered as `<layer>.lora_A.weight`, `<layer>.lora_B.weight` (HF PEFT's names).
//   AdapterHook   on a Linear: sequential y + up(act(down(y))) or parallel y + s up(act(down(x)));
//                 `<layer>.adapter_down.{weight,bias}`, `<layer>.adapter_up.{weight,bias}`, up zero.
//   PrefixEncoderImpl  the learned key/value prefixes of every attention layer (HF PEFT's
//                 PrefixEncoder: `embedding.weight` [P, L*2*H], or with reparameterisation
//                 `embedding.weight` [P, H] -> `transform.0` (tanh) `transform.2` -> [P, L*2*H]).
// Every added output starts at zero (LoRA B, adapter up) so the model is unchanged at first.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>

#include "ptm/models/linear.h"

namespace ptm::peft {

class LoraHook : public models::LinearHook {
 public:
  LoraHook(int64_t in, int64_t out, int64_t rank, double alpha, double dropout);
  std::string kind() const override { return "lora"; }
  torch::Tensor apply(const torch::Tensor& x, const torch::Tensor& y, bool training) override;
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() const override;
  std::shared_ptr<models::LinearHook> clone(const std::optional<torch::Device>& device) const override;

  torch::Tensor delta_weight() const;  // scale B A [out, in]
  torch::nn::Linear lora_A{nullptr}, lora_B{nullptr};
  double scale, dropout;
};

class AdapterHook : public models::LinearHook {
 public:
  // in/out: the host layer's features; parallel adapters read x [.., in], sequential ones y [.., out].
  AdapterHook(int64_t in, int64_t out, int64_t size, bool parallel, double scale, std::string activation);
  std::string kind() const override { return "adapter"; }
  torch::Tensor apply(const torch::Tensor& x, const torch::Tensor& y, bool training) override;
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() const override;
  std::shared_ptr<models::LinearHook> clone(const std::optional<torch::Device>& device) const override;

  torch::nn::Linear adapter_down{nullptr}, adapter_up{nullptr};
  bool parallel;
  double scale;
  std::string activation;
};

class PrefixEncoderImpl : public torch::nn::Module {
 public:
  PrefixEncoderImpl(int64_t length, int64_t layers, int64_t hidden, int64_t reparam_hidden);
  // Layer `layer`'s key and value prefixes, each [P, H].
  std::pair<torch::Tensor, torch::Tensor> prefix(int64_t layer);

 private:
  int64_t length_, layers_, hidden_;
  torch::nn::Embedding embedding_{nullptr};
  torch::nn::Sequential transform_{nullptr};  // empty without reparameterisation
};
TORCH_MODULE(PrefixEncoder);

}  // namespace ptm::peft
