// The peak-FLOPs table and the MFU arithmetic.
#include "ptm/bench/mfu.h"

#include <vector>

namespace ptm::bench {
namespace {

struct GpuPeak {
  const char* match;  // substring of the CUDA device name; first match wins
  const char* label;
  double bf16, tf32, fp32;  // dense TFLOP/s (fp16 = bf16)
};

// NVIDIA data sheets, dense. More specific names first (an "H100 PCIe" also contains "H100").
const std::vector<GpuPeak>& table() {
  static const std::vector<GpuPeak> t{
      {"H100 PCIe", "NVIDIA H100 PCIe", 756.0, 378.0, 51.0}, {"H100 NVL", "NVIDIA H100 NVL", 835.0, 417.5, 60.0},
      {"H100", "NVIDIA H100 SXM", 989.4, 494.7, 66.9},       {"H200", "NVIDIA H200", 989.4, 494.7, 66.9},
      {"GH200", "NVIDIA GH200", 989.4, 494.7, 66.9},         {"A100", "NVIDIA A100", 312.0, 156.0, 19.5},
  };
  return t;
}

}  // namespace

std::optional<PeakFlops> gpu_peak_flops(const std::string& device_name, const std::string& precision) {
  for (const auto& g : table()) {
    if (device_name.find(g.match) == std::string::npos) continue;
    double tflops = 0;
    if (precision == "bf16" || precision == "fp16")
      tflops = g.bf16;
    else if (precision == "tf32")
      tflops = g.tf32;
    else if (precision == "fp32")
      tflops = g.fp32;
    else
      return std::nullopt;
    return PeakFlops{tflops * 1e12, std::string("table: ") + g.label + " " + precision + " dense"};
  }
  return std::nullopt;
}

double step_flops(double forward_flops_per_sample, long long batch, bool train) {
  return (train ? 3.0 : 1.0) * forward_flops_per_sample * static_cast<double>(batch);
}

std::optional<double> mfu(double flops_per_step, double step_seconds, const std::optional<PeakFlops>& peak) {
  if (!peak || peak->flops <= 0 || step_seconds <= 0) return std::nullopt;
  return flops_per_step / step_seconds / peak->flops;
}

std::string flop_formula(bool train) {
  const std::string f =
      "F(T) = ModelImpl::forward_flops(T) = 2 x multiply-accumulates of all matmuls for one sample of T tokens "
      "(projections, attention scores and values, MLP, head; images: one image)";
  return train ? "flops_per_step = 3 x F(T) x batch (forward + backward = 2 x forward) + G(T) x batch (G: forward-only "
                 "work of the objective, a distillation teacher's forward; else 0); " + f +
                     "; mfu = flops_per_step / step_seconds / peak_flops"
               : "flops_per_step = F(T) x batch (forward only); " + f +
                     "; mfu = flops_per_step / step_seconds / peak_flops";
}

}  // namespace ptm::bench
