// Where this process sits in a multi-process run, read from the launcher's environment:
// torchrun (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT, TORCHELASTIC_*), Slurm's srun
// (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, the first host of SLURM_JOB_NODELIST), or
// `ptm launch` (which sets torchrun's variables). Torch-free, so `ptm info` and the tests can
// read it cheaply.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ptm::dist {

struct RankLayout {
  std::string launcher = "single";  // single | torchrun | slurm
  int rank = 0;
  int world = 1;
  int local_rank = 0;
  int local_world = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // torchrun's agent already serves the TCPStore on MASTER_PORT: rank 0 connects as a client.
  bool agent_store = false;
  int restart_count = 0;     // TORCHELASTIC_RESTART_COUNT: keys of an earlier attempt are not reused
  std::string error_file;    // TORCHELASTIC_ERROR_FILE: where a failing rank writes its error
  bool distributed() const { return world > 1 || launcher != "single"; }
  std::string describe() const;  // one line for logs and `ptm info`
};

using Getenv = std::function<std::optional<std::string>(const std::string&)>;

// The process environment.
std::optional<std::string> process_env(const std::string& name);

// Detection order: torchrun's variables (RANK and WORLD_SIZE), then srun (SLURM_STEP_ID with
// SLURM_PROCID; a batch script outside srun runs as one process), else one process.
// Malformed values throw ConfigError naming the variable.
RankLayout detect_rank_layout(const Getenv& env = process_env);

// Slurm host lists: "node[01-03,07],gpu5" -> node01, node02, node03, node07, gpu5.
std::vector<std::string> expand_slurm_hostlist(const std::string& list);

}  // namespace ptm::dist
