// The `run:` section shared by every recipe-driven subcommand: where the run directory goes,
// device, seed, threads, log level. Sugar flags (--run-dir, --device, --seed, --log-level)
// write into this section last.
#pragma once
#include <cstdint>
#include <string>

#include "ptm/config/binder.h"

namespace ptm::config {

struct RunConfig {
  std::string name;             // run name; default: the recipe file's stem
  std::string root = "runs";    // parent folder of run directories
  std::string dir;              // explicit run directory; default <root>/<name>
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int64_t seed = 1337;
  int threads = 0;              // CPU threads for intra-op parallelism; 0 = LibTorch's default
  std::string log_level = "info";
  // Data-parallel runs: how long to wait for the other ranks (connecting, the store, every
  // collective) before stopping with an error.
  int64_t dist_timeout_s = 600;

  std::string run_dir() const { return dir.empty() ? root + "/" + name : dir; }
};

// `default_name` fills `name` when the recipe gives none.
void bind(Section& s, RunConfig& c, const std::string& default_name);

// True for auto, cpu, cuda and cuda:N (N a non-negative integer).
bool valid_device_spec(const std::string& spec);

}  // namespace ptm::config
