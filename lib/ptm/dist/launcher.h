// `ptm launch`: starts one ptm process per rank on this machine with the variables torchrun
// sets (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), forwards
// SIGINT/SIGTERM to them, and when one rank fails stops the others: no rank is left waiting
// for a peer that is gone. Torch-free (POSIX processes).
#pragma once
#include <string>
#include <vector>

namespace ptm::dist {

struct LaunchOptions {
  int nproc = 2;
  int master_port = 0;      // 0: a free port of this machine
  int grace_seconds = 30;   // after a rank failed: SIGTERM to the others, SIGKILL after this
  std::string executable;   // default: this process's own binary
};

// Runs `args` (a ptm command line without "ptm") as `nproc` ranks; returns the exit code of
// the run: 0 when every rank succeeded, else the first failing rank's code (128+signal for a
// rank killed by a signal). Reports each rank's pid and the first failure on stderr.
int launch(const LaunchOptions& options, const std::vector<std::string>& args);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

}  // namespace ptm::dist
