// What ptm runs on: versions, CUDA/cuDNN, devices, threads, build options. Used by
// `ptm info`, cmdline.txt and benchmark fingerprints.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace ptm {

std::string torch_version();  // "2.11.0"

// The full fingerprint as JSON (ptm, torch, cuda, cudnn, devices, threads, build).
nlohmann::json environment();

// Human-readable report of environment() for `ptm info`.
std::string environment_report(const nlohmann::json& env);

// "auto" -> "cuda:0" when a GPU is present, else "cpu"; checks that a requested GPU exists.
// Throws ConfigError naming run.device when it does not.
std::string resolve_device(const std::string& spec);

// Applies run.threads (0 keeps LibTorch's default).
void set_threads(int threads);

}  // namespace ptm
