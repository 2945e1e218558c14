// The fused, chunked linear + cross entropy against LibTorch's unfused linear and
// cross_entropy: loss and both gradients, with ignored targets, chunks that do not divide the
// rows, a chunk of ignored rows only, tied weights, and the causal_lm objective on a GPT
// (fused and unfused paths give the same loss and parameter gradients).
#include "catch.h"
#include "helpers.h"
#include "skip.h"
#include "ptm/models/gpt.h"
#include "ptm/objectives/linear_cross_entropy.h"
#include "ptm/objectives/objective.h"
#include "ptm/train/autocast.h"

using namespace ptm;
using namespace ptm::objectives;
namespace F = torch::nn::functional;

namespace {

torch::Tensor reference_sum(const torch::Tensor& hidden, const torch::Tensor& weight, const torch::Tensor& targets) {
  return F::cross_entropy(F::linear(hidden, weight), targets,
                          F::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum));
}

}  // namespace

TEST_CASE("fused linear cross entropy equals linear then cross_entropy", "[unit][objectives]") {
  torch::manual_seed(3);
  const int64_t N = 23, C = 16, V = 50;
  auto targets = torch::randint(V, {N}, torch::kLong);
  targets.narrow(0, 5, 4).fill_(-100);   // a run of ignored rows: one chunk of 3 holds only these
  targets[N - 1] = -100;
  const auto h0 = torch::randn({N, C}) * 2.0, w0 = torch::randn({V, C});
  for (int64_t rows : {1, 3, 7, 23, 100, 0}) {
    CAPTURE(rows);
    auto h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
    auto hr = h0.clone().requires_grad_(true), wr = w0.clone().requires_grad_(true);
    LinearCrossEntropyOptions o;
    o.chunk_rows = rows;
    const auto loss = linear_cross_entropy_sum(h, w, targets, o);
    const auto ref = reference_sum(hr, wr, targets);
    CHECK(loss.item<double>() == Approx(ref.item<double>()).epsilon(1e-5));
    (loss * 0.37).backward();  // a scaled loss, as gradient accumulation divides it
    (ref * 0.37).backward();
    CHECK(torch::allclose(h.grad(), hr.grad(), 1e-5, 1e-6));
    CHECK(torch::allclose(w.grad(), wr.grad(), 1e-5, 1e-6));
    CHECK(h.grad().narrow(0, 5, 4).abs().max().item<float>() == 0.0f);  // ignored rows get no gradient
  }
}

TEST_CASE("fused linear cross entropy in fp64: the general (non-CPU-fp32) softmax path", "[unit][objectives]") {
  // fp64 inputs take the path CUDA fp32 takes (explicit max / exp / sum).
  torch::manual_seed(7);
  const int64_t N = 17, C = 8, V = 40;
  auto targets = torch::randint(V, {N}, torch::kLong);
  targets.narrow(0, 3, 5).fill_(-100);
  const auto h0 = torch::randn({N, C}, torch::kFloat64), w0 = torch::randn({V, C}, torch::kFloat64);
  auto h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
  auto hr = h0.clone().requires_grad_(true), wr = w0.clone().requires_grad_(true);
  LinearCrossEntropyOptions o;
  o.chunk_rows = 4;  // the chunk at rows 4..7 holds ignored rows only
  const auto loss = linear_cross_entropy_sum(h, w, targets, o);
  const auto ref = reference_sum(hr, wr, targets);
  CHECK(loss.item<double>() == Approx(ref.item<double>()).epsilon(1e-5));
  (loss * 0.5).backward();
  (ref * 0.5).backward();
  CHECK(torch::allclose(h.grad(), hr.grad(), 1e-5, 1e-6));
  CHECK(torch::allclose(w.grad(), wr.grad(), 1e-5, 1e-6));
  CHECK(h.grad().narrow(0, 3, 5).abs().max().item<double>() == 0.0);
}

TEST_CASE("fused linear cross entropy without gradients and with a frozen weight", "[unit][objectives]") {
  torch::manual_seed(4);
  const auto h = torch::randn({9, 8}), w = torch::randn({11, 8});
  const auto t = torch::randint(11, {9}, torch::kLong);
  {
    torch::NoGradGuard no_grad;
    CHECK(linear_cross_entropy_sum(h, w, t).item<double>() == Approx(reference_sum(h, w, t).item<double>()).epsilon(1e-5));
  }
  auto hg = h.clone().requires_grad_(true);
  auto hr = h.clone().requires_grad_(true);
  linear_cross_entropy_sum(hg, w, t).backward();  // frozen head (e.g. PEFT): only the hidden gradient
  reference_sum(hr, w, t).backward();
  CHECK(torch::allclose(hg.grad(), hr.grad(), 1e-5, 1e-6));
  CHECK_FALSE(w.grad().defined());
  CHECK(test::error_of([&] { linear_cross_entropy_sum(h, w.t(), t); }).find("hidden [N, C] and weight [V, C]") !=
        std::string::npos);
}

TEST_CASE("fused linear cross entropy is exact when the target's probability underflows", "[unit][objectives]") {
  // Logits spread over hundreds of nats (a diverging run): p[target] is 0 in fp32 for some rows,
  // so the loss must come from log-sum-exp, not from log(p[target]).
  torch::manual_seed(5);
  const auto h0 = torch::randn({12, 8}) * 40.0, w0 = torch::randn({30, 8});
  const auto t = torch::randint(30, {12}, torch::kLong);
  auto h = h0.clone().requires_grad_(true), hr = h0.clone().requires_grad_(true);
  const auto loss = linear_cross_entropy_sum(h, w0, t);
  const auto ref = reference_sum(hr, w0, t);
  REQUIRE(ref.item<double>() > 12 * 120.0);  // the case is what it claims: rows far beyond exp's range
  CHECK(std::isfinite(loss.item<double>()));
  CHECK(loss.item<double>() == Approx(ref.item<double>()).epsilon(1e-5));
  loss.backward();
  ref.backward();
  CHECK(torch::allclose(h.grad(), hr.grad(), 1e-5, 1e-5));
}

TEST_CASE("causal_lm: fused head and unfused logits give the same loss and gradients", "[unit][objectives]") {
  models::GptOptions o;
  o.vocab_size = 40;
  o.n_positions = 16;
  o.n_embd = 16;
  o.n_layer = 2;
  o.n_head = 2;
  data::Batch b;
  torch::manual_seed(5);
  b.input_ids = torch::randint(40, {3, 12}, torch::kLong);
  b.targets = torch::randint(40, {3, 12}, torch::kLong);
  b.targets[1][4] = -100;
  for (bool tied : {true, false}) {
    CAPTURE(tied);
    o.tie_word_embeddings = tied;
    torch::manual_seed(6);
    models::GptImpl fused_model(o);
    torch::manual_seed(6);
    models::GptImpl plain_model(o);  // the same initial weights
    fused_model.eval();  // no dropout, so both see the same forward
    plain_model.eval();
    REQUIRE(fused_model.output_embedding().defined());
    const auto fused = make("causal_lm");  // fused is the default
    const auto parts = fused->loss(fused_model, b, true);
    const auto plain = plain_model.forward(b);
    REQUIRE(plain.logits.defined());
    const auto ref = fused->compute(plain, b);
    CHECK(parts.loss_sum.item<double>() == Approx(ref.loss_sum.item<double>()).epsilon(1e-5));
    CHECK(parts.targets.item<int64_t>() == 35);
    (parts.loss_sum / parts.targets).backward();
    (ref.loss_sum / ref.targets).backward();
    const auto a = fused_model.named_parameters(), r = plain_model.named_parameters();
    for (const auto& p : a) {
      CAPTURE(p.key());
      CHECK(torch::allclose(p.value().grad(), r[p.key()].grad(), 1e-4, 1e-6));
    }
  }
}

TEST_CASE("fused linear cross entropy in bf16: the padded-vocabulary path of CUDA autocast", "[unit][objectives]") {
  // bf16 inputs take the path of CUDA autocast (here with fp32 products standing in for
  // cuBLAS's bf16 x bf16 -> fp32): vocabularies padded to a multiple of 64 (50 -> 64; 64 stays),
  // log-softmax in fp32, the softmax gradient in bf16, ignored rows masked on the hidden side.
  for (const int64_t V : {int64_t{50}, int64_t{64}}) {
    torch::manual_seed(11);
    const int64_t N = 29, C = 24;
    auto targets = torch::randint(V, {N}, torch::kLong);
    targets.narrow(0, 8, 4).fill_(-100);  // chunk 8..11 (rows 4) holds ignored rows only
    targets[N - 1] = -100;
    const auto h0 = (torch::randn({N, C}) * 0.3).to(torch::kBFloat16);  // logits near 0: padding would show
    const auto w0 = torch::randn({V, C}).to(torch::kBFloat16);
    auto hr = h0.to(torch::kFloat64).requires_grad_(true), wr = w0.to(torch::kFloat64).requires_grad_(true);
    const auto ref = reference_sum(hr, wr, targets);
    (ref * 0.37).backward();
    for (int64_t rows : {4, 7, 0}) {
      CAPTURE(V, rows);
      auto h = h0.clone().requires_grad_(true), w = w0.clone().requires_grad_(true);
      LinearCrossEntropyOptions o;
      o.chunk_rows = rows;
      const auto loss = linear_cross_entropy_sum(h, w, targets, o);
      CHECK(loss.scalar_type() == torch::kFloat32);
      CHECK(loss.item<double>() == Approx(ref.item<double>()).epsilon(1e-5));  // fp32 logits: exact loss
      (loss * 0.37).backward();
      CHECK(h.grad().scalar_type() == torch::kBFloat16);
      const auto rel = [](const torch::Tensor& got, const torch::Tensor& want) {
        return ((got.to(torch::kFloat64) - want).norm() / want.norm()).item<double>();
      };
      CHECK(rel(h.grad(), hr.grad()) < 1e-2);  // the softmax gradient is rounded to bf16
      CHECK(rel(w.grad(), wr.grad()) < 1e-2);
      CHECK(h.grad().narrow(0, 8, 4).abs().max().item<float>() == 0.0f);  // ignored rows: no gradient
      CHECK(h.grad()[N - 1].abs().max().item<float>() == 0.0f);
    }
  }
}

TEST_CASE("fused linear cross entropy on CUDA: fp32 as on the CPU, bf16 autocast within bf16 error",
          "[gpu][objectives]") {
  if (!torch::cuda::is_available()) PTM_SKIP("no CUDA device");
  // fp32 means fp32 here: no TF32 products (restored afterwards).
  const bool tf32 = at::globalContext().allowTF32CuBLAS();
  at::globalContext().setAllowTF32CuBLAS(false);
  struct Restore {
    bool v;
    ~Restore() { at::globalContext().setAllowTF32CuBLAS(v); }
  } restore{tf32};
  // V = 1000 and GPT-2's 50257: vocabularies padded to 1024 and 50304 inside (bf16 runs ptm's
  // fused classifier kernel in builds that have it).
  for (const int64_t V : {int64_t{1000}, int64_t{50257}}) {
    torch::manual_seed(6);
    const int64_t N = 300, C = 64;
    auto targets = torch::randint(V, {N}, torch::kLong);
    targets.narrow(0, 10, 20).fill_(-100);
    const auto h0 = torch::randn({N, C}), w0 = torch::randn({V, C}) * 0.3;
    auto hr = h0.clone().requires_grad_(true), wr = w0.clone().requires_grad_(true);
    const auto ref = reference_sum(hr, wr, targets);
    ref.backward();
    const auto rel = [](const torch::Tensor& got, const torch::Tensor& want) {
      const auto g = got.to(torch::kCPU, torch::kFloat64), w = want.to(torch::kFloat64);
      return ((g - w).norm() / w.norm()).item<double>();
    };
    for (int64_t rows : {int64_t{64}, int64_t{0}}) {  // several chunks; the CUDA default (one chunk here)
      for (const bool bf16 : {false, true}) {
        CAPTURE(V, rows, bf16);
        auto h = h0.cuda().requires_grad_(true), w = w0.cuda().requires_grad_(true);
        LinearCrossEntropyOptions o;
        o.chunk_rows = rows;
        torch::Tensor loss;
        {
          train::AutocastGuard guard(torch::kCUDA, bf16 ? "bf16" : "fp32");
          loss = linear_cross_entropy_sum(h, w, targets.cuda(), o);
        }
        CHECK(loss.scalar_type() == torch::kFloat32);
        loss.backward();
        CHECK(h.grad().scalar_type() == torch::kFloat32);  // gradients in the parameters' dtype
        const double tol = bf16 ? 0.02 : 1e-4;
        CHECK(rel(loss, ref) <= tol);
        CHECK(rel(h.grad(), hr.grad()) <= 5 * tol);
        CHECK(rel(w.grad(), wr.grad()) <= 5 * tol);
        CHECK(h.grad().narrow(0, 10, 20).abs().max().item<float>() == 0.0f);  // ignored rows
      }
    }
  }
}
