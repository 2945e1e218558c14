// ptm's Linear: torch's linear map followed by the PEFT output hooks (see linear.h).
#include "ptm/models/linear.h"

#include <algorithm>

#include "ptm/core/errors.h"
#include "ptm/models/low_rank.h"

namespace ptm::models {

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  // at::linear folds the leading dimensions into one addmm (bias fused); the C++ frontend's
  // functional::linear does matmul + a separate bias add for 3-D inputs.
  // A factorised layer (low_rank.h) has no weight of its own: its two factors run instead.
  auto y = weight.defined() ? at::linear(x, weight, bias) : factorised_forward(*this, x);  // [..., out]
  for (const auto& h : hooks_) y = h->apply(x, y, is_training());
  return y;
}

void LinearImpl::add_hook(std::shared_ptr<LinearHook> hook) {
  const auto mods = hook->modules();
  for (const auto& [name, m] : mods)
    if (named_children().contains(name) || named_parameters(false).contains(name))
      throw RuntimeError("linear layer already has a submodule '" + name + "' (a second " + hook->kind() + "?)");
  for (const auto& [name, m] : mods) register_module(name, m);
  hooks_.push_back(std::move(hook));
}

size_t LinearImpl::remove_hooks(const std::string& kind) {
  size_t n = 0;
  for (auto it = hooks_.begin(); it != hooks_.end();) {
    if ((*it)->kind() != kind) {
      ++it;
      continue;
    }
    for (const auto& [name, m] : (*it)->modules()) unregister_module(name);
    it = hooks_.erase(it);
    ++n;
  }
  return n;
}

std::shared_ptr<torch::nn::Module> LinearImpl::clone(const std::optional<torch::Device>& device) const {
  torch::NoGradGuard no_grad;
  auto copy = std::make_shared<LinearImpl>(options);
  const auto move = [&](const torch::Tensor& t) { return device ? t.to(*device) : t; };
  if (is_factorised(*this)) {  // a copy of the two factors (and of the hooks)
    const auto children = named_children();
    const auto* v = children["v"]->as<LinearImpl>();
    const auto* u = children["u"]->as<LinearImpl>();
    copy->to(device ? *device : u->weight.device(), u->weight.scalar_type());
    if (copy->bias.defined()) copy->bias.copy_(u->bias);
    factorise(*copy, u->weight, v->weight);
    const auto copied = copy->named_children();
    for (const auto* name : {"u", "v"})
      for (const auto& p : children[name]->named_parameters())
        copied[name]->named_parameters()[p.key()].set_requires_grad(p.value().requires_grad());
    for (const auto& h : hooks_) copy->add_hook(h->clone(device));
    if (!is_training()) copy->eval();
    return copy;
  }
  copy->weight.set_data(move(weight.data().clone()));
  copy->weight.set_requires_grad(weight.requires_grad());
  if (bias.defined()) {
    copy->bias.set_data(move(bias.data().clone()));
    copy->bias.set_requires_grad(bias.requires_grad());
  }
  for (const auto& h : hooks_) copy->add_hook(h->clone(device));
  if (!is_training()) copy->eval();
  return copy;
}

torch::Tensor linear_padded(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            int64_t multiple) {
  const int64_t out = weight.size(0), pad = padded_width(out, std::max<int64_t>(1, multiple)) - out;
  if (pad == 0) return at::linear(x, weight, bias);
  const auto w = at::constant_pad_nd(weight, {0, 0, 0, pad});  // zero rows at the end
  const auto b = bias.defined() ? at::constant_pad_nd(bias, {0, pad}) : bias;
  return at::linear(x, w, b).narrow(-1, 0, out);
}

int64_t head_padding(const torch::Tensor& x) { return x.is_cuda() ? 64 : 1; }

}  // namespace ptm::models
