// What ptm runs on: versions, CUDA/cuDNN, devices, threads, build options. Used by
// `ptm info`, cmdline.txt and benchmark fingerprints.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ptm {

std::string torch_version();  // "2.11.0"

// The full fingerprint as JSON (ptm, torch, cuda with runtime/driver/devices, cudnn, cpu model
// and threads, build).
nlohmann::json environment();

// Human-readable report of environment() for `ptm info`.
std::string environment_report(const nlohmann::json& env);

// "auto" -> "cuda:0" when a GPU is present, else "cpu"; checks that a requested GPU exists.
// Throws ConfigError naming run.device when it does not.
std::string resolve_device(const std::string& spec);

// The provenance lines of cmdline.txt and checkpoints: ptm version, git revision, torch
// version, CUDA runtime, device name.
std::vector<std::pair<std::string, std::string>> provenance(const std::string& device);

// Applies run.threads (0 keeps LibTorch's default).
void set_threads(int threads);

}  // namespace ptm
