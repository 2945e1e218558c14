// See tanh_gelu.h. This file is compiled without the torch precompiled header, with OpenMP
// when the LibTorch build ships its OpenMP runtime (then at::parallel_for splits the work over
// LibTorch's own threads), and with function clones for AVX-512, AVX2 and baseline x86-64.
#include "ptm/models/tanh_gelu.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace ptm::models {
namespace {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PTM_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PTM_CPU_CLONES
#endif

// With e = exp(-2|u|) in (0, 1]: 1 + tanh(u) = 2/(1 + e) for u >= 0 and 2e/(1 + e) below, and
// 1 - tanh(u)^2 = 4e/(1 + e)^2. Written this way nothing cancels in the tails, where
// 1 + tanh(u) and 1 - tanh(u)^2 are tiny (measured against double: 1.4e-7 on the output and
// 1.9e-7 on the derivative, relative to max(1, |value|)). exp is Cephes' expf (a degree-6
// polynomial on [-ln2/2, ln2/2] scaled by 2^n through the exponent bits), and the loop has no
// calls and selects only, so the compiler vectorises it.
PTM_CPU_CLONES
void gelu_and_derivative(const float* __restrict x, float* __restrict y, float* __restrict d, int64_t n) {
  constexpr float k0 = 0.7978845608028654f;  // sqrt(2 / pi)
  constexpr float k1 = 0.044715f;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float v2 = v * v;
    const float u = k0 * (v + k1 * v2 * v);
    // e = exp(-2|u|); below -87 it underflows, and e = 0 keeps the derivative exact for huge |x|
    const float a_raw = -2.0f * std::fabs(u);
    // (a NaN input gives -87 too: the exponent arithmetic stays in range, where a NaN cast to
    // int and shifted is undefined; the NaN still reaches y and d through v)
    const float a = a_raw > -87.0f ? a_raw : -87.0f;
    const float fn = (a * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(a / ln 2)
    const float r = (a - fn * 0.693359375f) - fn * -2.12194440e-4f;           // a - n ln 2
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;  // exp(r)
    const int32_t exponent_bits = (static_cast<int32_t>(fn) + 127) << 23;
    float two_to_n;
    std::memcpy(&two_to_n, &exponent_bits, sizeof two_to_n);
    const float e = a_raw < -87.0f ? 0.0f : p * two_to_n;
    const float inv = 1.0f / (1.0f + e);
    const float one_plus_t = u >= 0.0f ? 2.0f * inv : 2.0f * e * inv;  // 1 + tanh(u)
    const float sech2 = 4.0f * e * inv * inv;                             // 1 - tanh(u)^2
    const float half_v = 0.5f * v;
    y[i] = half_v * one_plus_t;
    d[i] = 0.5f * one_plus_t + half_v * sech2 * k0 * (1.0f + 3.0f * k1 * v2);
  }
}

// y = gelu(x), d = gelu'(x) for contiguous fp32 CPU tensors of one size.
void gelu_and_derivative_cpu(const at::Tensor& x, at::Tensor& y, at::Tensor& d) {
  TORCH_CHECK(x.device().is_cpu() && x.scalar_type() == at::kFloat && x.is_contiguous() && y.is_contiguous() &&
                  d.is_contiguous() && y.numel() == x.numel() && d.numel() == x.numel(),
              "tanh_gelu: contiguous fp32 CPU tensors of one size expected");
  const float* xp = x.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  float* dp = d.data_ptr<float>();
  // Chunks of 32K elements: big enough to amortise a thread hand-off, small enough to split
  // one layer's activations over the cores.
  at::parallel_for(0, x.numel(), int64_t{1} << 15, [&](int64_t begin, int64_t end) {
    gelu_and_derivative(xp + begin, yp + begin, dp + begin, end - begin);
  });
}

class TanhGeluCpu : public torch::autograd::Function<TanhGeluCpu> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    const auto xc = x.contiguous();
    auto y = at::empty_like(xc);
    auto d = at::empty_like(xc);
    gelu_and_derivative_cpu(xc, y, d);
    ctx->save_for_backward({d});
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    // The saved derivative carries no graph of its own: a second derivative through it would
    // be silently wrong, so refuse it.
    TORCH_CHECK(!at::GradMode::is_enabled(),
                "tanh_gelu: the CPU kernel does not support double backward (create_graph=true)");
    return {grad_outputs[0] * ctx->get_saved_variables()[0]};
  }
};

}  // namespace

at::Tensor tanh_gelu(const at::Tensor& x) {
  if (x.device().is_cpu() && x.scalar_type() == at::kFloat && x.requires_grad() && at::GradMode::is_enabled())
    return TanhGeluCpu::apply(x);
  return at::gelu(x, "tanh");
}

}  // namespace ptm::models
