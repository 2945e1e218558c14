// Optimizers over named parameters, in two groups: weight decay for matrices, none for
// biases, norm weights and (by default) embeddings. AdamW runs LibTorch's fused kernel
// (at::_fused_adamw_, CPU and CUDA: one launch for all parameters); SGD has momentum and
// Nesterov. The state saves to and loads from named tensors (optimizer.safetensors).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "ptm/config/binder.h"
#include "ptm/models/safetensors.h"

namespace ptm::optim {

struct OptimizerConfig {
  std::string type = "adamw";  // adamw | sgd
  double lr = 3e-4;            // peak learning rate (the schedule multiplies it)
  double weight_decay = 0.1;
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double momentum = 0.9;
  bool nesterov = false;
  // Parameters whose name contains one of these get no weight decay (besides every 1-D one).
  std::vector<std::string> no_decay{"embed", "wte", "wpe"};
};

void bind(config::Section& s, OptimizerConfig& c);

class Optimizer {
 public:
  Optimizer(const std::vector<std::pair<std::string, torch::Tensor>>& named_params, const OptimizerConfig& c);

  // lr for this step (peak x schedule). `found_inf` (a float scalar on the parameters' device,
  // optional): where it is nonzero the step is skipped entirely, decided on the device.
  void step(double lr, const torch::Tensor& found_inf = {});
  // The same with lr a float scalar tensor on the parameters' device, read on the device: a
  // step captured in a CUDA graph follows the schedule when the tensor is refilled each step.
  void step(const torch::Tensor& lr, const torch::Tensor& found_inf = {});
  void zero_grad();
  // Every moment and step count back to zero, as when constructed (in place: a captured CUDA
  // graph keeps reading the same tensors).
  void reset_state();
  models::NamedTensors state() const;
  void load_state(const models::NamedTensors& state);  // IoError naming a missing/mismatched tensor

  const std::vector<std::string>& decay_names() const { return decay_names_; }
  const std::vector<std::string>& no_decay_names() const { return no_decay_names_; }

 private:
  struct Group {
    std::vector<torch::Tensor> params, exp_avg, exp_avg_sq, steps, momentum;
    double weight_decay = 0;
  };
  // lr_tensor, when defined, replaces lr.
  void step_group(Group& g, double lr, const torch::Tensor& lr_tensor, const torch::Tensor& found_inf);

  OptimizerConfig c_;
  Group decay_, no_decay_;
  std::vector<std::string> decay_names_, no_decay_names_;
};

}  // namespace ptm::optim
