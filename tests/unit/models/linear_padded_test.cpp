// linear_padded: padding the output features inside (for cuBLAS's aligned kernels) changes
// neither the values nor the gradients of linear(x, W, b).
#include "catch.h"
#include "ptm/models/linear.h"

using namespace ptm::models;

TEST_CASE("linear_padded equals linear in values and gradients", "[unit][models]") {
  torch::manual_seed(5);
  const auto x0 = torch::randn({3, 4, 16}), w0 = torch::randn({50, 16}), b0 = torch::randn({50});
  for (const int64_t multiple : {int64_t{1}, int64_t{8}, int64_t{64}}) {
    for (const bool with_bias : {true, false}) {
      CAPTURE(multiple, with_bias);
      auto x = x0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
      auto b = b0.clone().requires_grad_(true);
      auto xr = x0.clone().requires_grad_(true), wr = w0.clone().requires_grad_(true);
      auto br = b0.clone().requires_grad_(true);
      const auto y = linear_padded(x, w, with_bias ? b : torch::Tensor(), multiple);
      const auto yr = torch::nn::functional::linear(xr, wr, with_bias ? br : torch::Tensor());
      REQUIRE(y.sizes() == yr.sizes());
      CHECK(torch::allclose(y, yr, 1e-6, 1e-6));
      const auto upstream = torch::randn(yr.sizes());
      (y * upstream).sum().backward();
      (yr * upstream).sum().backward();
      CHECK(torch::allclose(x.grad(), xr.grad(), 1e-5, 1e-6));
      CHECK(torch::allclose(w.grad(), wr.grad(), 1e-5, 1e-6));
      if (with_bias) CHECK(torch::allclose(b.grad(), br.grad(), 1e-5, 1e-6));
    }
  }
  CHECK(head_padding(x0) == 1);  // CPU: no padding
}
