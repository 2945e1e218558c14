// One block per row: pass 1 takes the row's max and sum of exponentials in one online sweep
// (16-byte loads, fp32), pass 2 rereads the row (mostly from L2) and writes the gradient over
// it. Two reads and one write of bf16 logits, against five fp32 passes for log-softmax, its
// exponential and the casts around them.
#include "ptm/kernels/fused_classifier.h"

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace ptm::kernels {
namespace {

constexpr int kThreads = 1024;
constexpr int kVec = 8;  // bf16 values per 16-byte access

struct MaxSum {
  float m;  // running max
  float s;  // sum of exp(x - m)
};

__device__ __forceinline__ MaxSum combine(MaxSum a, MaxSum b) {
  if (a.m < b.m) {
    const MaxSum t = a;
    a = b;
    b = t;
  }
  if (b.m == -INFINITY) return a;  // b empty (or both)
  return {a.m, a.s + b.s * __expf(b.m - a.m)};
}

__device__ __forceinline__ void push(MaxSum& a, float x) {
  if (x > a.m) {
    a.s = a.s * __expf(a.m - x) + 1.0f;
    a.m = x;
  } else {
    a.s += __expf(x - a.m);  // NaN logits make the sum NaN, so the loss shows it
  }
}

__device__ __forceinline__ MaxSum warp_reduce(MaxSum a) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    const MaxSum b{__shfl_xor_sync(0xffffffffu, a.m, offset), __shfl_xor_sync(0xffffffffu, a.s, offset)};
    a = combine(a, b);
  }
  return a;
}

// Every thread returns the block's total.
__device__ MaxSum block_reduce(MaxSum a) {
  __shared__ float shared_m[32], shared_s[32];
  a = warp_reduce(a);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) {
    shared_m[warp] = a.m;
    shared_s[warp] = a.s;
  }
  __syncthreads();
  const int warps = blockDim.x / 32;
  a = lane < warps ? MaxSum{shared_m[lane], shared_s[lane]} : MaxSum{-INFINITY, 0.0f};
  return warp_reduce(a);
}

__global__ void __launch_bounds__(kThreads)
    fused_classifier_kernel(__nv_bfloat16* logits, float* row_loss, const int64_t* targets, int64_t vocab,
                            int64_t padded_vocab, int64_t ignore_index) {
  __nv_bfloat16* x = logits + blockIdx.x * padded_vocab;
  const int64_t vectors = padded_vocab / kVec;
  const int64_t target = targets[blockIdx.x];
  const bool ignored = target == ignore_index;
  const bool in_range = target >= 0 && target < vocab;

  MaxSum acc{-INFINITY, 0.0f};
  for (int64_t v = threadIdx.x; v < vectors; v += blockDim.x) {
    uint4 raw = reinterpret_cast<const uint4*>(x)[v];
    const __nv_bfloat16* e = reinterpret_cast<const __nv_bfloat16*>(&raw);
#pragma unroll
    for (int k = 0; k < kVec; ++k)
      if (v * kVec + k < vocab) push(acc, __bfloat162float(e[k]));
  }
  // Read before the reduction's barrier: after it, other threads overwrite the row.
  const float target_logit = !ignored && in_range && threadIdx.x == 0 ? __bfloat162float(x[target]) : 0.0f;
  acc = block_reduce(acc);
  const float lse = acc.m + logf(acc.s);
  if (threadIdx.x == 0) row_loss[blockIdx.x] = ignored ? 0.0f : in_range ? lse - target_logit : NAN;

  for (int64_t v = threadIdx.x; v < vectors; v += blockDim.x) {
    uint4 raw = reinterpret_cast<const uint4*>(x)[v];
    __nv_bfloat16* e = reinterpret_cast<__nv_bfloat16*>(&raw);
#pragma unroll
    for (int k = 0; k < kVec; ++k) {
      const int64_t i = v * kVec + k;
      float g = 0.0f;
      if (!ignored && i < vocab) g = __expf(__bfloat162float(e[k]) - lse) - (i == target ? 1.0f : 0.0f);
      e[k] = __float2bfloat16(g);
    }
    reinterpret_cast<uint4*>(x)[v] = raw;
  }
}

}  // namespace

void fused_classifier_bf16(void* logits, float* row_loss, const int64_t* targets, int64_t rows, int64_t vocab,
                           int64_t padded_vocab, int64_t ignore_index, void* stream) {
  if (rows <= 0) return;
  if (padded_vocab % kVec != 0 || padded_vocab < vocab || reinterpret_cast<uintptr_t>(logits) % 16 != 0)
    throw std::runtime_error("fused_classifier_bf16: rows must be 16-byte aligned with a padded width that is a "
                             "multiple of 8 (got " + std::to_string(padded_vocab) + " for " + std::to_string(vocab) + ")");
  fused_classifier_kernel<<<static_cast<unsigned>(rows), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      static_cast<__nv_bfloat16*>(logits), row_loss, targets, vocab, padded_vocab, ignore_index);
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("fused_classifier_bf16: launch failed: ") + cudaGetErrorString(err));
}

}  // namespace ptm::kernels
