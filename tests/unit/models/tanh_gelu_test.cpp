// ptm's CPU tanh-GELU (output and derivative in one pass) against ATen's gelu(approximate=
// "tanh") and gelu_backward: values over the whole range (saturated tails included), sizes
// that split over threads and leave a remainder, non-contiguous inputs, NaN, and the paths
// that must stay ATen's (no gradient, double).
#include <ATen/ATen.h>

#include <cmath>

#include "catch.h"
#include "helpers.h"
#include "ptm/models/tanh_gelu.h"

using ptm::models::tanh_gelu;

namespace {

// Inputs from -12 to 12 (tanh saturates beyond ~8) plus a random bulk.
torch::Tensor test_inputs(int64_t n) {
  auto x = torch::randn({n}) * 3.0;
  x.narrow(0, 0, 2001).copy_(torch::linspace(-12.0, 12.0, 2001));
  return x;
}

}  // namespace

TEST_CASE("tanh_gelu matches ATen's tanh GELU and its gradient", "[unit][models]") {
  torch::manual_seed(11);
  for (int64_t n : {int64_t{2001}, int64_t{(1 << 17) + 5}}) {  // one chunk; several threads' chunks
    CAPTURE(n);
    const auto x0 = test_inputs(n);
    auto x = x0.clone().requires_grad_(true), xr = x0.clone().requires_grad_(true);
    const auto y = tanh_gelu(x);
    const auto yr = at::gelu(xr, "tanh");
    CHECK(torch::allclose(y, yr, 1e-6, 1e-6));
    const auto g = torch::randn({n});
    y.backward(g);
    yr.backward(g);
    CHECK(torch::allclose(x.grad(), xr.grad(), 1e-5, 1e-5));
  }
}

TEST_CASE("tanh_gelu: non-contiguous input, NaN, and the paths left to ATen", "[unit][models]") {
  torch::manual_seed(12);
  const auto base = torch::randn({64, 48});
  auto x = base.t().requires_grad_(true);  // a transposed view
  auto xr = base.t().detach().clone().requires_grad_(true);
  const auto y = tanh_gelu(x);
  CHECK(y.sizes() == x.sizes());
  CHECK(torch::allclose(y, at::gelu(xr, "tanh"), 1e-6, 1e-6));
  y.sum().backward();
  at::gelu(xr, "tanh").sum().backward();
  CHECK(torch::allclose(x.grad(), xr.grad(), 1e-5, 1e-5));

  auto nan = torch::tensor({1.0f, std::nanf(""), -2.0f}).requires_grad_(true);
  const auto yn = tanh_gelu(nan);
  CHECK(std::isnan(yn[1].item<float>()));
  CHECK_FALSE(std::isnan(yn[0].item<float>()));

  // Far tails: gelu(x) = x and gelu'(x) = 1 above, 0 and 0 below (exp(-2|u|) has underflowed).
  auto big = torch::tensor({1e6f, -1e6f, 1e12f, -1e12f}).requires_grad_(true);
  const auto yb = tanh_gelu(big);
  CHECK(torch::equal(yb.detach(), torch::tensor({1e6f, 0.0f, 1e12f, 0.0f})));
  yb.sum().backward();
  CHECK(torch::equal(big.grad(), torch::tensor({1.0f, 0.0f, 1.0f, 0.0f})));

  // A second derivative through the saved derivative would be wrong: refused.
  auto x2 = torch::randn({8}).requires_grad_(true);
  const auto y2 = tanh_gelu(x2).sum();
  CHECK(ptm::test::error_of([&] {
          torch::autograd::grad({y2}, {x2}, {}, /*retain_graph=*/true, /*create_graph=*/true);
        }).find("double backward") != std::string::npos);

  // Without gradients, and in double, the result is ATen's own, bit for bit.
  const auto plain = torch::randn({100});
  CHECK(torch::equal(tanh_gelu(plain), at::gelu(plain, "tanh")));
  const auto dbl = torch::randn({100}, torch::kFloat64).requires_grad_(true);
  CHECK(torch::equal(tanh_gelu(dbl), at::gelu(dbl, "tanh")));
}
