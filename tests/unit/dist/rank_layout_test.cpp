// The rank layout read from torchrun's and srun's variables, and Slurm host lists.
#include <map>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"
#include "ptm/dist/rank_layout.h"

using ptm::dist::detect_rank_layout;
using ptm::dist::expand_slurm_hostlist;

namespace {
ptm::dist::Getenv env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    const auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}
}  // namespace

TEST_CASE("no launcher: one process", "[dist]") {
  const auto l = detect_rank_layout(env_of({{"HOME", "/root"}}));
  CHECK(l.launcher == "single");
  CHECK(l.world == 1);
  CHECK(!l.distributed());
}

TEST_CASE("torchrun's variables give the layout and the agent store", "[dist]") {
  const auto l = detect_rank_layout(env_of({{"RANK", "5"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"},
                                            {"LOCAL_WORLD_SIZE", "4"}, {"MASTER_ADDR", "node7"},
                                            {"MASTER_PORT", "29400"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                                            {"TORCHELASTIC_RESTART_COUNT", "2"},
                                            {"TORCHELASTIC_ERROR_FILE", "/tmp/err.json"}}));
  CHECK(l.launcher == "torchrun");
  CHECK(l.rank == 5);
  CHECK(l.world == 8);
  CHECK(l.local_rank == 1);
  CHECK(l.local_world == 4);
  CHECK(l.master_addr == "node7");
  CHECK(l.master_port == 29400);
  CHECK(l.agent_store);
  CHECK(l.restart_count == 2);
  CHECK(l.error_file == "/tmp/err.json");
  // torchrun with one process is still a launched run (NCCL at world size 1).
  CHECK(detect_rank_layout(env_of({{"RANK", "0"}, {"WORLD_SIZE", "1"}})).distributed());
}

TEST_CASE("srun's variables give the layout, and a batch script outside srun is one process", "[dist]") {
  const auto l = detect_rank_layout(env_of({{"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"},
                                            {"SLURM_LOCALID", "1"}, {"SLURM_NODEID", "1"},
                                            {"SLURM_TASKS_PER_NODE", "2(x2)"},
                                            {"SLURM_JOB_NODELIST", "gpu[07-08]"}, {"SLURM_JOB_ID", "123456"}}));
  CHECK(l.launcher == "slurm");
  CHECK(l.rank == 3);
  CHECK(l.world == 4);
  CHECK(l.local_rank == 1);
  CHECK(l.local_world == 2);
  CHECK(l.master_addr == "gpu07");
  CHECK(l.master_port == 15000 + 123456 % 20000);
  // sbatch's script itself (no job step) runs ptm as one process.
  CHECK(detect_rank_layout(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}})).launcher == "single");
  // Uneven tasks per node: node 1 of "3,1" has one task.
  CHECK(detect_rank_layout(env_of({{"SLURM_STEP_ID", "0"}, {"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"},
                                   {"SLURM_LOCALID", "0"}, {"SLURM_NODEID", "1"}, {"SLURM_TASKS_PER_NODE", "3,1"},
                                   {"SLURM_JOB_NODELIST", "a,b"}}))
            .local_world == 1);
}

TEST_CASE("malformed launcher variables are named", "[dist]") {
  auto message = ptm::test::error_of([] { detect_rank_layout(env_of({{"RANK", "x1"}, {"WORLD_SIZE", "2"}})); });
  CHECK(ptm::test::contains(message, "RANK"));
  CHECK(ptm::test::contains(message, "'x1'"));
  message = ptm::test::error_of([] { detect_rank_layout(env_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}})); });
  CHECK(ptm::test::contains(message, "not below the world size 2"));
  message = ptm::test::error_of(
      [] { detect_rank_layout(env_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}})); });
  CHECK(ptm::test::contains(message, "MASTER_PORT"));
}

TEST_CASE("Slurm host lists expand as scontrol show hostnames does", "[dist]") {
  CHECK(expand_slurm_hostlist("node1") == std::vector<std::string>{"node1"});
  CHECK(expand_slurm_hostlist("node[01-03,07],gpu5") ==
        std::vector<std::string>{"node01", "node02", "node03", "node07", "gpu5"});
  CHECK(expand_slurm_hostlist("a[8-10]-ib") == std::vector<std::string>{"a8-ib", "a9-ib", "a10-ib"});
  CHECK(expand_slurm_hostlist("x[1-2],y[3]") == std::vector<std::string>{"x1", "x2", "y3"});
  CHECK_THROWS_AS(expand_slurm_hostlist("node[3-1]"), ptm::ConfigError);
  CHECK_THROWS_AS(expand_slurm_hostlist("node[1-2"), ptm::ConfigError);
}
