// Gathering activation norms and gradients over calibration batches.
#include "ptm/compress/calibration.h"

namespace ptm::compress {
namespace {

// Adds x_j^2 over every token to `sum` [in]; passes y through unchanged.
class InputSquaresHook : public models::LinearHook {
 public:
  explicit InputSquaresHook(torch::Tensor sum) : sum_(std::move(sum)) {}
  std::string kind() const override { return "calibration"; }
  torch::Tensor apply(const torch::Tensor& x, const torch::Tensor& y, bool) override {
    torch::NoGradGuard no_grad;
    sum_ += x.detach().reshape({-1, x.size(-1)}).to(torch::kFloat).pow(2).sum(0);
    return y;
  }
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() const override { return {}; }
  std::shared_ptr<models::LinearHook> clone(const std::optional<torch::Device>&) const override {
    return std::make_shared<InputSquaresHook>(sum_);
  }

 private:
  torch::Tensor sum_;
};

}  // namespace

std::map<std::string, LayerStats> calibrate(models::ModelImpl& model, objectives::Objective& objective,
                                            data::BatchStream& stream, const Targets& targets,
                                            const CalibrationOptions& options, const torch::Device& device) {
  std::map<std::string, LayerStats> stats;
  for (const auto& [name, lin] : targets) {
    auto& s = stats[name];
    if (options.activations) {
      s.input_sq = torch::zeros({lin->weight.size(1)}, torch::TensorOptions().device(device).dtype(torch::kFloat));
      lin->add_hook(std::make_shared<InputSquaresHook>(s.input_sq));
    }
  }
  const bool was_training = model.is_training();
  model.eval();  // no dropout: the scores describe the model as it is used
  model.zero_grad();
  int64_t done = 0;
  try {
    for (; done < options.batches; ++done) {
      auto b = stream.next();
      if (!b) break;
      const auto batch = b->to(device, true);
      if (options.gradients) {
        const auto parts = objective.loss(model, batch, false);
        (parts.loss_sum / parts.targets.clamp_min(1).to(parts.loss_sum.dtype())).backward();
        for (const auto& [name, lin] : targets) {
          auto& s = stats[name];
          const auto g = lin->weight.grad().detach().to(torch::kFloat);
          s.grad = s.grad.defined() ? s.grad + g : g.clone();
        }
        model.zero_grad();
      } else {
        torch::NoGradGuard no_grad;
        objective.loss(model, batch, false);
      }
    }
  } catch (...) {
    for (const auto& [name, lin] : targets) lin->remove_hooks("calibration");
    throw;
  }
  for (const auto& [name, lin] : targets) lin->remove_hooks("calibration");
  for (auto& [name, s] : stats) s.batches = done;
  model.train(was_training);
  return stats;
}

}  // namespace ptm::compress
