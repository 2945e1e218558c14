// Chunked, fused linear + cross entropy (see the header for why).
#include "ptm/objectives/linear_cross_entropy.h"

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <limits>

#include "ptm/core/autocast_scope.h"
#include "ptm/models/linear.h"

#ifdef PTM_WITH_CUDA_KERNELS
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <cstdlib>
#include <cstring>

#include "ptm/kernels/fused_classifier.h"
#endif

namespace ptm::objectives {
namespace {

using torch::Tensor;

struct Result {
  Tensor loss;         // float scalar
  Tensor grad_hidden;  // [N, C] d(loss)/d(hidden), when asked
  Tensor grad_weight;  // [V, C] d(loss)/d(weight) in fp32, when asked
};

// Rows per chunk: the caller's, else the default height with the rows spread evenly over the
// chunks it takes (16384 rows at 5336 a chunk: four of 4096, not three full and one of 376).
int64_t chunk_rows(const LinearCrossEntropyOptions& o, int64_t N, int64_t V, const torch::Device& device) {
  if (o.chunk_rows > 0) return o.chunk_rows;
  const int64_t rows = default_chunk_rows(V, device);
  if (N <= rows) return std::max<int64_t>(1, N);
  const int64_t chunks = (N + rows - 1) / rows;
  return (N + chunks - 1) / chunks;
}

// out = a b with bf16/fp16 operands and an fp32 result. On CUDA one cuBLAS product that writes
// fp32 (aten::mm.dtype_out; cuBLAS accumulates in fp32 either way), which saves writing bf16
// logits and converting them. Elsewhere (tests on the CPU): the same product in fp32.
void mm_float_out(Tensor& out, const Tensor& a, const Tensor& b) {
  if (out.is_cuda())
    at::mm_out(out, a, b, torch::kFloat32);
  else
    at::mm_out(out, a.to(torch::kFloat32), b.to(torch::kFloat32));
}

// ptm's fused classifier kernel serves bf16 on CUDA in builds that have it, unless
// PTM_FUSED_CLASSIFIER=0 (A/B runs, or to rule it out).
bool use_classifier_kernel(const Tensor& h) {
#ifdef PTM_WITH_CUDA_KERNELS
  static const bool enabled = [] {
    const char* v = std::getenv("PTM_FUSED_CLASSIFIER");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }();
  return enabled && h.is_cuda() && h.scalar_type() == torch::kBFloat16;
#else
  (void)h;
  return false;
#endif
}

// Softmax cross entropy of bf16 logits [n, Vp] in place (kernels/fused_classifier.h): per-row
// losses into row_loss; the logits become the gradient, 0 on rows with ignored targets.
void classifier_kernel(Tensor& logits, const Tensor& targets, int64_t V, int64_t ignore_index, Tensor& row_loss) {
#ifdef PTM_WITH_CUDA_KERNELS
  const c10::cuda::CUDAGuard guard(logits.device());
  kernels::fused_classifier_bf16(logits.data_ptr(), row_loss.data_ptr<float>(), targets.data_ptr<int64_t>(),
                                 logits.size(0), V, logits.size(1), ignore_index,
                                 c10::cuda::getCurrentCUDAStream(logits.device().index()).stream());
#else
  (void)logits, (void)targets, (void)V, (void)ignore_index, (void)row_loss;
#endif
}

// The bf16/fp16 path (CUDA autocast). The vocabulary is padded to a multiple of 64 with zero
// rows of the weight: cuBLAS has no fast kernels for leading dimensions like GPT-2's 50257
// (measured on an H100: the three [16k, 50257] products of the unpadded head took 32.6 ms of an
// 83 ms step, in Turing-era `align1` kernels). Per chunk, the loss and the gradient g of the
// [n, Vp] logits come from either
//  - bf16 logits and ptm's fused classifier kernel (CUDA builds with ptm's kernels, bf16), or
//  - ATen ops: fp32 logits straight from the product, the padding set to -inf, log-softmax in
//    place (the loss is -logp[target]), one pass that writes the softmax in the compute dtype;
//    rows with ignored targets are then masked on the [n, C] side of the two products.
Result run_reduced(const Tensor& hidden, const Tensor& weight, const Tensor& targets,
                   const LinearCrossEntropyOptions& o, at::ScalarType compute, bool want_grad_hidden,
                   bool want_grad_weight) {
  const auto h = hidden.to(compute).contiguous();  // [N, C]
  const int64_t N = h.size(0), C = h.size(1), V = weight.size(0);
  const int64_t Vp = models::padded_width(V, 64);
  const auto w = at::constant_pad_nd(weight.to(compute), {0, 0, 0, Vp - V});  // [Vp, C], the padding rows zero
  const int64_t rows = chunk_rows(o, N, Vp, h.device());
  const int64_t height = std::min(rows, N);
  const bool want_grad = want_grad_hidden || want_grad_weight;
  const bool kernel = use_classifier_kernel(h);
  const auto f32 = h.options().dtype(torch::kFloat32);

  Result r;
  r.loss = torch::zeros({}, f32);
  if (want_grad_hidden) r.grad_hidden = torch::empty({N, C}, h.options());
  Tensor gw;  // [Vp, C] fp32; the first chunk's product writes it
  if (want_grad_weight) gw = N > 0 ? torch::empty({Vp, C}, f32) : torch::zeros({Vp, C}, f32);
  // Kernel: one bf16 buffer, logits then gradient. ATen: fp32 logits, and the gradient apart.
  const auto logits_buffer = torch::empty({height, Vp}, kernel ? h.options() : f32);
  const auto grad_buffer = want_grad && !kernel ? torch::empty({height, Vp}, h.options()) : logits_buffer;
  const auto row_loss_buffer = kernel ? torch::empty({height}, f32) : Tensor();
  const auto t = kernel ? targets.to(h.device(), torch::kLong).contiguous() : targets;
  for (int64_t start = 0; start < N; start += rows) {
    const int64_t n = std::min(rows, N - start);
    const auto hc = h.narrow(0, start, n);
    const auto tc = t.narrow(0, start, n);
    auto z = logits_buffer.narrow(0, 0, n);
    auto g = grad_buffer.narrow(0, 0, n);
    Tensor validf;  // [n, 1]: rows whose target counts, when g still holds ignored rows
    if (kernel) {
      at::mm_out(z, hc, w.t());  // [n, Vp] bf16, as autocast's linear makes them
      auto row_loss = row_loss_buffer.narrow(0, 0, n);
      classifier_kernel(z, tc, V, o.ignore_index, row_loss);  // z is now g
      r.loss.add_(row_loss.sum());
    } else {
      mm_float_out(z, hc, w.t());  // [n, Vp] fp32
      if (Vp > V) z.narrow(1, V, Vp - V).fill_(-std::numeric_limits<float>::infinity());
      at::_log_softmax_out(z, z, 1, /*half_to_float=*/false);  // log-probabilities, in place
      const auto valid = tc.ne(o.ignore_index);                                       // [n]
      const auto safe = torch::where(valid, tc, torch::zeros_like(tc)).unsqueeze(1);  // [n, 1]
      const auto row_loss = z.gather(1, safe).squeeze(1).neg();
      r.loss.add_(torch::where(valid, row_loss, torch::zeros_like(row_loss)).sum());
      if (!want_grad) continue;
      validf = valid.to(compute).unsqueeze(1);
      at::exp_out(g, z);                      // softmax, written in the compute dtype
      g.scatter_add_(1, safe, validf.neg());  // - one-hot at the target (ignored rows: nothing)
    }
    if (want_grad_hidden) {
      auto rows_grad = r.grad_hidden.narrow(0, start, n);
      at::mm_out(rows_grad, g, w);                   // [n, C]
      if (validf.defined()) rows_grad.mul_(validf);  // ignored rows: no gradient
    }
    if (want_grad_weight) {  // [Vp, C]; ignored rows contribute nothing
      const auto hm = validf.defined() ? hc * validf : hc;
      if (start == 0) {
        mm_float_out(gw, g.t(), hm);
      } else {
        auto part = torch::empty({Vp, C}, f32);
        mm_float_out(part, g.t(), hm);
        gw.add_(part);
      }
    }
  }
  if (want_grad_weight) r.grad_weight = gw.narrow(0, 0, V);
  return r;
}

Result run(const Tensor& hidden, const Tensor& weight, const Tensor& targets, const LinearCrossEntropyOptions& o,
           bool want_grad_hidden, bool want_grad_weight) {
  const auto type = hidden.device().type();
  const bool autocast = type == at::kCUDA && at::autocast::is_autocast_enabled(at::kCUDA);
  const auto compute = autocast ? at::autocast::get_autocast_dtype(at::kCUDA) : hidden.scalar_type();
  // The products below run in dtypes chosen here; out= / in-place products are not autocast-aware.
  const auto off = AutocastScope::off(type);
  if (compute == torch::kBFloat16 || compute == torch::kHalf)
    return run_reduced(hidden, weight, targets, o, compute, want_grad_hidden, want_grad_weight);
  const auto h = hidden.to(compute).contiguous();  // [N, C]
  const auto w = weight.to(compute).contiguous();  // [V, C]
  const int64_t N = h.size(0), V = w.size(0), C = h.size(1);
  const int64_t rows = chunk_rows(o, N, V, h.device());
  const bool want_grad = want_grad_hidden || want_grad_weight;

  Result r;
  r.loss = torch::zeros({}, h.options().dtype(torch::kFloat32));
  if (want_grad_hidden) r.grad_hidden = torch::empty({N, C}, h.options());
  // fp32: the first chunk's product writes the weight gradient (no zero-filled buffer first)
  const bool write_first = compute == torch::kFloat32 && N > 0;
  if (want_grad_weight)
    r.grad_weight = write_first ? torch::empty({V, C}, h.options())
                                : torch::zeros({V, C}, h.options().dtype(torch::kFloat32));
  const auto buffer = torch::empty({std::min(rows, N), V}, h.options());  // one chunk of logits, reused
  // CPU fp32: ATen's softmax kernel takes each row's max, exponentials, sum and scale while the
  // row is in L1/L2, in place; separate amax / sub / exp / sum / mul ops make five passes over
  // the chunk (measured: 4.8 against 9.1 ms per 2048 x 8192 logits on 2 cores).
  const bool cpu_softmax = type == at::kCPU && compute == torch::kFloat32;
  for (int64_t start = 0; start < N; start += rows) {
    const int64_t n = std::min(rows, N - start);
    const auto hc = h.narrow(0, start, n);
    const auto tc = targets.narrow(0, start, n);
    auto logits = buffer.narrow(0, 0, n);
    at::mm_out(logits, hc, w.t());  // [n, V]
    const auto valid = tc.ne(o.ignore_index);                              // [n]
    const auto safe = torch::where(valid, tc, torch::zeros_like(tc)).unsqueeze(1);  // [n, 1]
    Tensor z;          // becomes softmax(logits), then the gradient
    Tensor row_loss;   // [n] lse - logit[target]
    Tensor inv_sum;    // [n, 1] scale that turns z into the softmax; undefined when z already is one
    if (cpu_softmax) {
      z = logits;
      at::_softmax_out(z, logits, 1, /*half_to_float=*/false);  // in place
      // -log p[target] = lse - logit[target]. Where p[target] underflows (the target more than
      // ~69 nats below the row's max; diverging runs), recompute those rows' logits and take
      // lse - logit exactly.
      const auto p_target = z.gather(1, safe).squeeze(1);  // [n]
      row_loss = p_target.log().neg_();
      const auto tiny = p_target < 1e-30;
      if (tiny.any().item<bool>()) {
        const auto idx = tiny.nonzero().squeeze(1);
        const auto zl = at::mm(hc.index_select(0, idx), w.t());
        const auto exact = at::logsumexp(zl, 1) - zl.gather(1, safe.index_select(0, idx)).squeeze(1);
        row_loss.index_copy_(0, idx, exact);
      }
    } else {
      z = compute == torch::kFloat32 ? logits : logits.to(torch::kFloat32);
      const auto target_logit = z.gather(1, safe).squeeze(1);  // [n]
      const auto max = z.amax(1, /*keepdim=*/true);            // [n, 1]
      z.sub_(max).exp_();                                      // exp(z - max), in place
      const auto sum = z.sum(1, /*keepdim=*/true);             // [n, 1]
      row_loss = (max + sum.log()).squeeze(1) - target_logit;
      inv_sum = sum.reciprocal();
    }
    r.loss.add_(torch::where(valid, row_loss, torch::zeros_like(row_loss)).sum());
    if (!want_grad) continue;
    const auto validf = valid.to(torch::kFloat32).unsqueeze(1);  // [n, 1]
    // Softmax, with the rows of ignored targets zeroed, in one pass (on the CPU none when every
    // target counts: the host check costs no sync there).
    if (inv_sum.defined())
      z.mul_(validf * inv_sum);
    else if (!valid.all().item<bool>())
      z.mul_(validf);
    z.scatter_add_(1, safe, validf.neg());  // - one-hot at the target
    const auto g = compute == torch::kFloat32 ? z : z.to(compute);
    if (want_grad_hidden) {
      auto rows_grad = r.grad_hidden.narrow(0, start, n);
      at::mm_out(rows_grad, g, w);  // [n, C]
    }
    if (want_grad_weight) {
      if (write_first && start == 0)
        at::mm_out(r.grad_weight, g.t(), hc);  // [V, C]
      else if (compute == torch::kFloat32)
        r.grad_weight.addmm_(g.t(), hc);
      else
        r.grad_weight.add_(at::mm(g.t(), hc));
    }
  }
  return r;
}

class LinearCrossEntropyFunction : public torch::autograd::Function<LinearCrossEntropyFunction> {
 public:
  static Tensor forward(torch::autograd::AutogradContext* ctx, const Tensor& hidden, const Tensor& weight,
                        const Tensor& targets, int64_t ignore_index, int64_t chunk_rows) {
    const LinearCrossEntropyOptions o{ignore_index, chunk_rows};
    auto r = run(hidden, weight, targets, o, hidden.requires_grad(), weight.requires_grad());
    // Gradients for a loss of 1; backward scales them by the incoming gradient.
    if (r.grad_hidden.defined()) ctx->saved_data["grad_hidden"] = r.grad_hidden.to(hidden.scalar_type());
    if (r.grad_weight.defined()) ctx->saved_data["grad_weight"] = r.grad_weight.to(weight.scalar_type());
    return r.loss;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto& g = grad_outputs[0];
    const auto scaled = [&](const char* key) {
      const auto it = ctx->saved_data.find(key);
      if (it == ctx->saved_data.end()) return Tensor();
      const auto saved = it->second.toTensor();
      return saved * g.to(saved.scalar_type());
    };
    return {scaled("grad_hidden"), scaled("grad_weight"), Tensor(), Tensor(), Tensor()};
  }
};

}  // namespace

int64_t default_chunk_rows(int64_t vocab_size, const torch::Device& device) {
  // CPU: about 4M logits (16 MB in fp32) per chunk, which stays in the last-level cache while
  // it is turned into gradients (the three products of 2048 x 8192 logits, 2 cores: 83 ms in
  // chunks of 512 rows, 86 ms in chunks of 128), but at least 512 rows: the chunk's rows are
  // the inner dimension of the weight gradient's product, and every chunk adds into the whole
  // [V, C] gradient. With GPT-2's 50257 tokens, 83-row chunks made ptm's matrix products take
  // 1.4x the peer's unchunked ones (scripts/bench_cpu_shapes.sh --profile). CUDA: 256M logits
  // (1 GB of fp32 logits and 0.5 GB of bf16 gradient for the chunk), large products, few fp32
  // weight-gradient sums.
  if (device.is_cuda()) return std::max<int64_t>(1, (int64_t{1} << 28) / std::max<int64_t>(1, vocab_size));
  return std::max<int64_t>(512, (int64_t{1} << 22) / std::max<int64_t>(1, vocab_size));
}

torch::Tensor linear_cross_entropy_sum(const torch::Tensor& hidden, const torch::Tensor& weight,
                                       const torch::Tensor& targets, const LinearCrossEntropyOptions& options) {
  TORCH_CHECK(hidden.dim() == 2 && weight.dim() == 2 && hidden.size(1) == weight.size(1),
              "linear_cross_entropy: hidden [N, C] and weight [V, C] expected, got ", hidden.sizes(), " and ",
              weight.sizes());
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == hidden.size(0),
              "linear_cross_entropy: targets [N] expected, got ", targets.sizes(), " for ", hidden.size(0), " rows");
  const bool grad = torch::GradMode::is_enabled() && (hidden.requires_grad() || weight.requires_grad());
  if (!grad) return run(hidden, weight, targets, options, false, false).loss;
  return LinearCrossEntropyFunction::apply(hidden, weight, targets, options.ignore_index, options.chunk_rows);
}

}  // namespace ptm::objectives
