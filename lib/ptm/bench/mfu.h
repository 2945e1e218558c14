// Model FLOPs utilisation for `ptm bench`. Torch-free.
//   forward FLOPs per sample  F(T) = ModelImpl::forward_flops(T): 2 x the multiply-accumulates
//                                    of every matmul (projections, attention scores and values,
//                                    MLP, LM/MLM head) for one sample of T tokens (images: one image)
//   FLOPs per step            train: 3 x F(T) x B  (backward = 2 x forward)   infer: F(T) x B
//   MFU                       FLOPs per step / seconds per step / peak FLOP/s of the device
// Peak FLOP/s: dense (no sparsity) tensor-core figures of known GPUs from their data sheets, or
// the user's --peak-flops (the only source on a CPU); otherwise MFU is null.
#pragma once
#include <optional>
#include <string>

namespace ptm::bench {

struct PeakFlops {
  double flops = 0;    // FLOP/s
  std::string source;  // "table: NVIDIA H100 SXM bf16 dense" or "--peak-flops"
};

// Peak FLOP/s of a GPU named like CUDA's device name ("NVIDIA H100 80GB HBM3", "NVIDIA H200",
// "NVIDIA A100-SXM4-80GB") for `precision` bf16 | fp16 | tf32 | fp32; nullopt when unknown.
std::optional<PeakFlops> gpu_peak_flops(const std::string& device_name, const std::string& precision);

// FLOPs of one step: 3 x forward (train) or 1 x forward (infer), for `batch` samples.
double step_flops(double forward_flops_per_sample, long long batch, bool train);

// flops_per_step / step_seconds / peak; nullopt without a peak or with a non-positive time.
std::optional<double> mfu(double flops_per_step, double step_seconds, const std::optional<PeakFlops>& peak);

// The formula as printed in the report and stored in the JSON.
std::string flop_formula(bool train);

}  // namespace ptm::bench
