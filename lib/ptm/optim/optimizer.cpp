// Fused AdamW and SGD over two parameter groups.
#include "ptm/optim/optimizer.h"

#include <map>

#include "ptm/core/errors.h"

namespace ptm::optim {

void bind(config::Section& s, OptimizerConfig& c) {
  s.opt("type", c.type, "adamw | sgd").one_of({"adamw", "sgd"});
  s.opt("lr", c.lr, "peak learning rate").above(0.0).max(10.0);
  s.opt("weight_decay", c.weight_decay, "decoupled weight decay").min(0.0);
  s.opt("beta1", c.beta1, "AdamW beta1").min(0.0).max(0.9999999);
  s.opt("beta2", c.beta2, "AdamW beta2").min(0.0).max(0.9999999);
  s.opt("eps", c.eps, "AdamW epsilon").above(0.0);
  s.opt("momentum", c.momentum, "SGD momentum").min(0.0).max(0.9999999);
  s.opt("nesterov", c.nesterov, "SGD Nesterov momentum");
  s.opt("no_decay", c.no_decay, "name fragments exempt from weight decay (1-D parameters always are)");
  s.finish();
}

Optimizer::Optimizer(const std::vector<std::pair<std::string, torch::Tensor>>& named, const OptimizerConfig& c)
    : c_(c) {
  decay_.weight_decay = c.weight_decay;
  for (const auto& [name, p] : named) {
    if (!p.requires_grad()) continue;
    bool decay = p.dim() >= 2;
    for (const auto& frag : c.no_decay) decay = decay && name.find(frag) == std::string::npos;
    Group& g = decay ? decay_ : no_decay_;
    (decay ? decay_names_ : no_decay_names_).push_back(name);
    g.params.push_back(p);
    if (c.type == "adamw") {
      g.exp_avg.push_back(torch::zeros_like(p));
      g.exp_avg_sq.push_back(torch::zeros_like(p));
      g.steps.push_back(torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat32).device(p.device())));
    } else {
      g.momentum.push_back(torch::zeros_like(p));
    }
  }
}

void Optimizer::step_group(Group& g, double lr, const torch::Tensor& lr_tensor, const torch::Tensor& found_inf) {
  if (g.params.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (auto& p : g.params) grads.push_back(p.grad().defined() ? p.grad() : torch::zeros_like(p));
  if (c_.type == "adamw") {
    // A skipped step (found_inf nonzero) leaves parameters, moments and the step count as they
    // were, on the device.
    if (found_inf.defined())
      at::_foreach_add_(g.steps, 1.0 - found_inf);
    else
      at::_foreach_add_(g.steps, 1.0);
    const std::optional<torch::Tensor> inf = found_inf.defined() ? std::optional<torch::Tensor>(found_inf) : std::nullopt;
    if (lr_tensor.defined())
      at::_fused_adamw_(g.params, grads, g.exp_avg, g.exp_avg_sq, {}, g.steps, lr_tensor, c_.beta1, c_.beta2,
                        g.weight_decay, c_.eps, /*amsgrad=*/false, /*maximize=*/false, /*grad_scale=*/std::nullopt, inf);
    else
      at::_fused_adamw_(g.params, grads, g.exp_avg, g.exp_avg_sq, {}, g.steps, lr, c_.beta1, c_.beta2,
                        g.weight_decay, c_.eps, /*amsgrad=*/false, /*maximize=*/false, /*grad_scale=*/std::nullopt, inf);
    return;
  }
  // SGD (PyTorch semantics): d = g + wd*p; buf = m*buf + d; d = nesterov ? d + m*buf : buf; p -= lr*d
  const auto skip = found_inf.defined() ? found_inf > 0 : torch::Tensor();
  for (size_t i = 0; i < g.params.size(); ++i) {
    auto d = grads[i];
    if (g.weight_decay != 0) d = d.add(g.params[i], g.weight_decay);
    if (c_.momentum != 0) {
      auto buf = g.momentum[i].mul(c_.momentum).add_(d);
      d = c_.nesterov ? d.add(buf, c_.momentum) : buf;
      g.momentum[i].copy_(skip.defined() ? torch::where(skip, g.momentum[i], buf) : buf);
    }
    auto updated = lr_tensor.defined() ? g.params[i].sub(d * lr_tensor) : g.params[i].sub(d, lr);
    g.params[i].copy_(skip.defined() ? torch::where(skip, g.params[i], updated) : updated);
  }
}

void Optimizer::step(double lr, const torch::Tensor& found_inf) {
  step_group(decay_, lr, {}, found_inf);
  step_group(no_decay_, lr, {}, found_inf);
}

void Optimizer::step(const torch::Tensor& lr, const torch::Tensor& found_inf) {
  step_group(decay_, 0, lr, found_inf);
  step_group(no_decay_, 0, lr, found_inf);
}

void Optimizer::zero_grad() {
  for (auto* g : {&decay_, &no_decay_})
    for (auto& p : g->params) p.mutable_grad() = torch::Tensor();
}

void Optimizer::reset_state() {
  torch::NoGradGuard no_grad;
  for (auto* g : {&decay_, &no_decay_})
    for (auto* list : {&g->exp_avg, &g->exp_avg_sq, &g->steps, &g->momentum})
      for (auto& t : *list) t.zero_();
}

models::NamedTensors Optimizer::state() const {
  models::NamedTensors out;
  auto add = [&](const std::vector<std::string>& names, const Group& g) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (c_.type == "adamw") {
        out.emplace_back(names[i] + ".exp_avg", g.exp_avg[i]);
        out.emplace_back(names[i] + ".exp_avg_sq", g.exp_avg_sq[i]);
        out.emplace_back(names[i] + ".step", g.steps[i]);
      } else {
        out.emplace_back(names[i] + ".momentum", g.momentum[i]);
      }
    }
  };
  add(decay_names_, decay_);
  add(no_decay_names_, no_decay_);
  return out;
}

void Optimizer::load_state(const models::NamedTensors& state) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  torch::NoGradGuard no_grad;
  for (const auto& [k, dst] : this->state()) {
    const auto it = by_name.find(k);
    if (it == by_name.end()) throw IoError("optimizer state has no tensor '" + k + "'");
    if (it->second.sizes() != dst.sizes()) throw IoError("optimizer state tensor '" + k + "' has the wrong shape");
    dst.copy_(it->second);
  }
}

}  // namespace ptm::optim
