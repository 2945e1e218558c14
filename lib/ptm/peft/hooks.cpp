// LoRA and bottleneck-adapter hooks on ptm's Linear, and the prefix-tuning encoder.
#include "ptm/peft/hooks.h"

#include <cmath>

namespace ptm::peft {
namespace {

namespace nn = torch::nn;

nn::Linear copy_of(const nn::Linear& m, const std::optional<torch::Device>& device) {
  return nn::Linear(std::dynamic_pointer_cast<nn::LinearImpl>(m->clone(device)));
}

torch::Tensor activate(const std::string& act, const torch::Tensor& x) {
  if (act == "gelu") return torch::gelu(x);
  if (act == "tanh") return torch::tanh(x);
  return torch::relu(x);
}

}  // namespace

LoraHook::LoraHook(int64_t in, int64_t out, int64_t rank, double alpha, double dropout_p)
    : scale(alpha / static_cast<double>(rank)), dropout(dropout_p) {
  lora_A = nn::Linear(nn::LinearOptions(in, rank).bias(false));  // Kaiming-uniform (a = sqrt 5), as HF PEFT
  lora_B = nn::Linear(nn::LinearOptions(rank, out).bias(false));
  torch::NoGradGuard no_grad;
  lora_B->weight.zero_();
}

torch::Tensor LoraHook::apply(const torch::Tensor& x, const torch::Tensor& y, bool training) {
  const auto h = lora_A(dropout > 0 ? torch::dropout(x, dropout, training) : x);  // [..., r]
  return y + lora_B(h) * scale;                                                   // [..., out]
}

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> LoraHook::modules() const {
  return {{"lora_A", lora_A.ptr()}, {"lora_B", lora_B.ptr()}};
}

std::shared_ptr<models::LinearHook> LoraHook::clone(const std::optional<torch::Device>& device) const {
  auto c = std::make_shared<LoraHook>(*this);
  c->lora_A = copy_of(lora_A, device);
  c->lora_B = copy_of(lora_B, device);
  return c;
}

torch::Tensor LoraHook::delta_weight() const {
  return torch::matmul(lora_B->weight, lora_A->weight) * scale;  // [out, r] x [r, in]
}

AdapterHook::AdapterHook(int64_t in, int64_t out, int64_t size, bool parallel_, double scale_, std::string act)
    : parallel(parallel_), scale(scale_), activation(std::move(act)) {
  adapter_down = nn::Linear(parallel ? in : out, size);
  adapter_up = nn::Linear(size, out);
  torch::NoGradGuard no_grad;
  adapter_up->weight.zero_();
  adapter_up->bias.zero_();
}

torch::Tensor AdapterHook::apply(const torch::Tensor& x, const torch::Tensor& y, bool /*training*/) {
  if (parallel) return y + adapter_up(activate(activation, adapter_down(x))) * scale;  // [..., out]
  return y + adapter_up(activate(activation, adapter_down(y)));
}

std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> AdapterHook::modules() const {
  return {{"adapter_down", adapter_down.ptr()}, {"adapter_up", adapter_up.ptr()}};
}

std::shared_ptr<models::LinearHook> AdapterHook::clone(const std::optional<torch::Device>& device) const {
  auto c = std::make_shared<AdapterHook>(*this);
  c->adapter_down = copy_of(adapter_down, device);
  c->adapter_up = copy_of(adapter_up, device);
  return c;
}

PrefixEncoderImpl::PrefixEncoderImpl(int64_t length, int64_t layers, int64_t hidden, int64_t reparam_hidden)
    : length_(length), layers_(layers), hidden_(hidden) {
  const int64_t out = layers * 2 * hidden;
  if (reparam_hidden > 0) {
    embedding_ = register_module("embedding", nn::Embedding(length, hidden));
    transform_ = register_module(
        "transform", nn::Sequential(nn::Linear(hidden, reparam_hidden), nn::Tanh(), nn::Linear(reparam_hidden, out)));
  } else {
    embedding_ = register_module("embedding", nn::Embedding(length, out));  // N(0, 1), as torch's Embedding
  }
}

std::pair<torch::Tensor, torch::Tensor> PrefixEncoderImpl::prefix(int64_t layer) {
  auto kv = embedding_->weight;                                    // [P, H] or [P, L*2*H]
  if (!transform_.is_empty()) kv = transform_->forward(kv);        // [P, L*2*H]
  const auto per_layer = kv.view({length_, layers_, 2, hidden_});  // [P, L, 2, H]: HF's layer-major order
  return {per_layer.select(1, layer).select(1, 0), per_layer.select(1, layer).select(1, 1)};
}

}  // namespace ptm::peft
