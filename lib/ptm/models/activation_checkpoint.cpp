// Activation checkpointing: a custom autograd function whose backward reruns the block.
#include "ptm/models/activation_checkpoint.h"

#include <ATen/autocast_mode.h>

#include "ptm/core/autocast_scope.h"

#ifdef PTM_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

#include <optional>
#include <utility>

namespace ptm::models {
namespace {

using torch::Tensor;

// What the recomputation needs: the block, and the random and autocast state of the forward.
struct Replay : torch::CustomClassHolder {
  std::function<Tensor(const Tensor&)> block;
  Tensor cpu_rng;
  std::optional<c10::DeviceIndex> cuda_device;
  Tensor cuda_rng;
  bool autocast = false;
  at::ScalarType autocast_dtype = at::kBFloat16;
};

at::Generator cpu_generator() { return at::detail::getDefaultCPUGenerator(); }

#ifdef PTM_WITH_CUDA
at::Generator cuda_generator(c10::DeviceIndex i) { return at::cuda::detail::getDefaultCUDAGenerator(i); }
#endif

// Sets the generators to the forward pass's state for the scope; puts the current state back.
class RngReplay {
 public:
  explicit RngReplay(const Replay& r) : r_(r) {
    auto cpu = cpu_generator();
    cpu_now_ = cpu.get_state();
    cpu.set_state(r.cpu_rng);
#ifdef PTM_WITH_CUDA
    if (r.cuda_device) {
      auto g = cuda_generator(*r.cuda_device);
      cuda_now_ = g.get_state();
      g.set_state(r.cuda_rng);
    }
#endif
  }
  ~RngReplay() {
    cpu_generator().set_state(cpu_now_);
#ifdef PTM_WITH_CUDA
    if (r_.cuda_device) cuda_generator(*r_.cuda_device).set_state(cuda_now_);
#endif
  }
  RngReplay(const RngReplay&) = delete;
  RngReplay& operator=(const RngReplay&) = delete;

 private:
  const Replay& r_;
  Tensor cpu_now_, cuda_now_;
};

class CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
 public:
  static Tensor forward(torch::autograd::AutogradContext* ctx, const Tensor& x, c10::intrusive_ptr<Replay> r) {
    r->cpu_rng = cpu_generator().get_state();
#ifdef PTM_WITH_CUDA
    if (x.is_cuda()) {
      r->cuda_device = x.device().index();
      r->cuda_rng = cuda_generator(x.device().index()).get_state();
    }
#endif
    r->autocast = at::autocast::is_autocast_enabled(at::kCUDA);
    r->autocast_dtype = at::autocast::get_autocast_dtype(at::kCUDA);
    ctx->save_for_backward({x});
    ctx->saved_data["replay"] = c10::IValue::make_capsule(r);
    torch::NoGradGuard no_grad;  // no activations kept
    return r->block(x);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto r = c10::static_intrusive_pointer_cast<Replay>(ctx->saved_data["replay"].toCapsule());
    const auto x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    Tensor y;
    {
      RngReplay rng(*r);
      // CUDA autocast as in the forward pass: the backward runs on the autograd engine's thread,
      // where the forward's thread-local autocast state is not set.
      const AutocastScope autocast(at::kCUDA, r->autocast, r->autocast_dtype);
      torch::AutoGradMode grad(true);
      y = r->block(x);
    }
    // Accumulates into the block's parameters' .grad, and into x.grad for the blocks below.
    torch::autograd::backward({y}, {grad_outputs[0]});
    return {x.grad(), Tensor()};
  }
};

}  // namespace

Tensor checkpointed(const std::function<Tensor(const Tensor&)>& block, const Tensor& x) {
  if (!torch::GradMode::is_enabled()) return block(x);
  auto r = c10::make_intrusive<Replay>();
  r->block = block;
  // The function's output needs a graph edge; an input that needs no gradient (the first
  // block's embeddings in a frozen stack) still gets one through a requires_grad view.
  const auto input = x.requires_grad() ? x : x.detach().requires_grad_(true);
  return CheckpointFunction::apply(input, r);
}

}  // namespace ptm::models
