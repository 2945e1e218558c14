// Environment fingerprint through LibTorch's runtime queries.
#include "ptm/core/environment.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>

#ifdef PTM_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#include "ptm/config/run_config.h"
#include "ptm/core/errors.h"
#include "ptm/core/version.h"
#include "ptm/dist/rank_layout.h"

namespace ptm {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

std::string version_triplet(long v, long major_div, long minor_div) {
  if (v <= 0) return "";
  return std::to_string(v / major_div) + "." + std::to_string((v % major_div) / minor_div) + "." +
         std::to_string(v % minor_div);
}

// The NVIDIA kernel driver's version ("570.124.06") from /proc/driver/nvidia/version; "" without one.
std::string nvidia_driver_version() {
  std::ifstream in("/proc/driver/nvidia/version");
  std::string word, prev;
  while (in >> word) {
    if (prev == "Module" && !word.empty() && std::isdigit(static_cast<unsigned char>(word[0]))) return word;
    prev = word;
  }
  return "";
}

int gpu_count() {
  const auto& hooks = at::detail::getCUDAHooks();
  return hooks.hasCUDA() ? hooks.getNumGPUs() : 0;
}

}  // namespace

std::string torch_version() { return TORCH_VERSION; }

nlohmann::json environment() {
  const auto& hooks = at::detail::getCUDAHooks();
  nlohmann::json env;
  env["ptm"] = {{"version", version()}, {"git_revision", git_revision()}};
  env["torch"] = {{"version", torch_version()}};
  const bool cuda = hooks.hasCUDA();
  env["cuda"] = {{"available", cuda}, {"device_count", gpu_count()}};
  if (cuda) {
    // CUDART encodes major*1000 + minor*10; cuDNN major*10000 + minor*100 + patch (>= 9).
    const long rt = hooks.versionCUDART();
    env["cuda"]["runtime"] = std::to_string(rt / 1000) + "." + std::to_string((rt % 1000) / 10);
    env["cudnn"] = {{"available", hooks.hasCuDNN()}, {"version", version_triplet(hooks.versionCuDNN(), 10000, 100)}};
  } else {
    env["cudnn"] = {{"available", false}};
  }
  nlohmann::json devices = nlohmann::json::array();
#ifdef PTM_WITH_CUDA
  for (int i = 0; i < gpu_count(); ++i) {
    const auto* p = at::cuda::getDeviceProperties(static_cast<c10::DeviceIndex>(i));
    devices.push_back({{"index", i},
                       {"name", p->name},
                       {"capability", std::to_string(p->major) + "." + std::to_string(p->minor)},
                       {"memory_gib", static_cast<double>(p->totalGlobalMem) / (1024.0 * 1024.0 * 1024.0)},
                       {"multiprocessors", p->multiProcessorCount}});
  }
#endif
  env["cuda"]["devices"] = devices;
  env["cuda"]["driver"] = nvidia_driver_version();
#ifdef PTM_WITH_CUDA
  int driver_api = 0;
  if (cuda && cudaDriverGetVersion(&driver_api) == cudaSuccess && driver_api > 0)
    env["cuda"]["driver_api"] = std::to_string(driver_api / 1000) + "." + std::to_string((driver_api % 1000) / 10);
#endif
  env["cpu"] = {{"model", cpu_model()},
                {"hardware_threads", std::thread::hardware_concurrency()},
                {"intra_op_threads", at::get_num_threads()},
                {"inter_op_threads", at::get_num_interop_threads()},
                {"parallel_backend", at::get_parallel_info().find("OpenMP") != std::string::npos ? "OpenMP" : "native"}};
#ifdef PTM_WITH_CUDA
  const bool built_cuda = true;
#else
  const bool built_cuda = false;
#endif
#ifdef PTM_WITH_CUDA_KERNELS
  const bool built_kernels = true;  // ptm's own CUDA kernels (lib/ptm/kernels)
#else
  const bool built_kernels = false;
#endif
  env["build"] = {{"type", build_type()},
                  {"compiler", compiler()},
                  {"cuda", built_cuda},
                  {"cuda_kernels", built_kernels},
                  {"cxx_standard", __cplusplus}};
  // The rank layout a launcher (torchrun, srun, ptm launch) gives this process.
  try {
    const auto l = dist::detect_rank_layout();
    env["ranks"] = {{"launcher", l.launcher}, {"rank", l.rank},         {"world", l.world},
                    {"local_rank", l.local_rank}, {"local_world", l.local_world}, {"layout", l.describe()}};
  } catch (const ConfigError& e) {
    env["ranks"] = {{"error", e.what()}};
  }
  return env;
}

std::string environment_report(const nlohmann::json& env) {
  std::ostringstream out;
  auto row = [&](const std::string& k, const std::string& v) { out << "  " << k << std::string(k.size() < 18 ? 18 - k.size() : 1, ' ') << v << "\n"; };
  out << "ptm\n";
  row("version", env["ptm"]["version"].get<std::string>());
  row("git revision", env["ptm"]["git_revision"].get<std::string>());
  row("build", env["build"]["type"].get<std::string>() + ", " + env["build"]["compiler"].get<std::string>() +
                   ", CUDA " + (env["build"]["cuda"].get<bool>() ? "on" : "off") + ", ptm CUDA kernels " +
                   (env["build"].value("cuda_kernels", false) ? "on" : "off"));
  out << "torch\n";
  row("version", env["torch"]["version"].get<std::string>());
  out << "cuda\n";
  const bool cuda = env["cuda"]["available"].get<bool>();
  row("available", cuda ? "yes" : "no");
  if (cuda) {
    row("runtime", env["cuda"]["runtime"].get<std::string>());
    if (!env["cuda"].value("driver", std::string()).empty()) row("driver", env["cuda"]["driver"].get<std::string>());
    row("cudnn", env["cudnn"]["available"].get<bool>() ? env["cudnn"]["version"].get<std::string>() : "no");
    for (const auto& d : env["cuda"]["devices"]) {
      std::ostringstream v;
      v.precision(1);
      v << std::fixed << d["name"].get<std::string>() << ", sm_" << d["capability"].get<std::string>() << ", "
        << d["memory_gib"].get<double>() << " GiB, " << d["multiprocessors"].get<int>() << " SMs";
      row("device " + std::to_string(d["index"].get<int>()), v.str());
    }
  }
  out << "cpu\n";
  row("model", env["cpu"]["model"].get<std::string>());
  row("threads", std::to_string(env["cpu"]["intra_op_threads"].get<int>()) + " intra-op, " +
                     std::to_string(env["cpu"]["inter_op_threads"].get<int>()) + " inter-op, " +
                     std::to_string(env["cpu"]["hardware_threads"].get<unsigned>()) + " hardware (" +
                     env["cpu"]["parallel_backend"].get<std::string>() + ")");
  if (env.contains("ranks")) {
    out << "ranks\n";
    row("layout", env["ranks"].contains("error") ? env["ranks"]["error"].get<std::string>()
                                                 : env["ranks"]["layout"].get<std::string>());
  }
  return out.str();
}

std::string resolve_device(const std::string& spec) {
  if (!config::valid_device_spec(spec))
    throw ConfigError(Origin{}, "run.device", "'" + spec + "' is not a device; expected auto, cpu, cuda or cuda:N");
  const int n = gpu_count();
  if (spec == "auto") return n > 0 ? "cuda:0" : "cpu";
  if (spec == "cpu") return "cpu";
  const int index = spec == "cuda" ? 0 : std::stoi(spec.substr(5));
  if (n == 0) throw ConfigError(Origin{}, "run.device", "'" + spec + "' requested but CUDA is not available here");
  if (index >= n)
    throw ConfigError(Origin{}, "run.device",
                      "'" + spec + "' requested but only " + std::to_string(n) + " GPU(s) are visible");
  return "cuda:" + std::to_string(index);
}

std::vector<std::pair<std::string, std::string>> provenance(const std::string& device) {
  const auto env = environment();
  std::string device_name = device;
  if (device.rfind("cuda", 0) == 0) {
    const int index = device.size() > 5 ? std::stoi(device.substr(5)) : 0;
    for (const auto& d : env["cuda"]["devices"])
      if (d["index"].get<int>() == index) device_name += " (" + d["name"].get<std::string>() + ")";
  } else {
    device_name += " (" + env["cpu"]["model"].get<std::string>() + ", " +
                   std::to_string(env["cpu"]["intra_op_threads"].get<int>()) + " threads)";
  }
  return {{"ptm", version()},
          {"git_revision", git_revision()},
          {"torch", torch_version()},
          {"cuda", env["cuda"]["available"].get<bool>() ? env["cuda"]["runtime"].get<std::string>() : "none"},
          {"device", device_name}};
}

void set_threads(int threads) {
  if (threads > 0) at::set_num_threads(threads);
}

}  // namespace ptm
