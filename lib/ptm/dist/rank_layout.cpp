// Launcher environments -> RankLayout.
#include "ptm/dist/rank_layout.h"

#include <cstdlib>

#include "ptm/core/errors.h"

namespace ptm::dist {
namespace {

int env_int(const Getenv& env, const std::string& name, int fallback, int min_value) {
  const auto v = env(name);
  if (!v) return fallback;
  try {
    size_t used = 0;
    const long n = std::stol(*v, &used);
    if (used != v->size() || n < min_value || n > (1 << 30)) throw std::invalid_argument("range");
    return static_cast<int>(n);
  } catch (const std::exception&) {
    throw ConfigError(Origin{"environment"}, name,
                      "'" + *v + "' is not an integer >= " + std::to_string(min_value));
  }
}

// SLURM_TASKS_PER_NODE "2(x3),1": tasks on node `node` (0-based).
int slurm_tasks_on_node(const std::string& spec, int node, const std::string& name) {
  int index = 0;
  size_t pos = 0;
  while (pos < spec.size()) {
    const auto comma = std::min(spec.find(',', pos), spec.size());
    const std::string item = spec.substr(pos, comma - pos);
    pos = comma + 1;
    int tasks = 0, repeat = 1;
    if (std::sscanf(item.c_str(), "%d(x%d)", &tasks, &repeat) < 1 || tasks < 1 || repeat < 1)
      throw ConfigError(Origin{"environment"}, name, "'" + spec + "' is not a Slurm tasks-per-node list like 4(x2),1");
    if (node < index + repeat) return tasks;
    index += repeat;
  }
  throw ConfigError(Origin{"environment"}, name,
                    "'" + spec + "' lists " + std::to_string(index) + " node(s); SLURM_NODEID is " + std::to_string(node));
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::string RankLayout::describe() const {
  std::string s = launcher + ": rank " + std::to_string(rank) + " of " + std::to_string(world) + ", local rank " +
                  std::to_string(local_rank) + " of " + std::to_string(local_world);
  if (distributed()) s += ", master " + master_addr + ":" + std::to_string(master_port) + (agent_store ? " (torchrun agent store)" : "");
  return s;
}

std::vector<std::string> expand_slurm_hostlist(const std::string& list) {
  std::vector<std::string> hosts;
  size_t pos = 0;
  const auto bad = [&] {
    return ConfigError(Origin{"environment"}, "SLURM_JOB_NODELIST", "'" + list + "' is not a Slurm host list");
  };
  while (pos < list.size()) {
    // One item: prefix, optionally followed by [ranges] and a suffix; items end at a comma outside brackets.
    size_t end = pos;
    int depth = 0;
    for (; end < list.size(); ++end) {
      if (list[end] == '[') ++depth;
      if (list[end] == ']') --depth;
      if (list[end] == ',' && depth == 0) break;
    }
    if (depth != 0) throw bad();
    const std::string item = list.substr(pos, end - pos);
    pos = end + 1;
    const auto open = item.find('[');
    if (open == std::string::npos) {
      if (!item.empty()) hosts.push_back(item);
      continue;
    }
    const auto close = item.find(']', open);
    const std::string prefix = item.substr(0, open), suffix = item.substr(close + 1);
    const std::string ranges = item.substr(open + 1, close - open - 1);
    size_t r = 0;
    while (r <= ranges.size()) {
      const auto comma = std::min(ranges.find(',', r), ranges.size());
      const std::string range = ranges.substr(r, comma - r);
      r = comma + 1;
      const auto dash = range.find('-');
      const std::string lo = range.substr(0, dash), hi = dash == std::string::npos ? lo : range.substr(dash + 1);
      if (lo.empty() || hi.empty() || lo.find_first_not_of("0123456789") != std::string::npos ||
          hi.find_first_not_of("0123456789") != std::string::npos || lo.size() > 9 || hi.size() > 9)
        throw bad();
      const long a = std::stol(lo), b = std::stol(hi);
      if (b < a || b - a > 100000) throw bad();
      for (long n = a; n <= b; ++n) {
        std::string num = std::to_string(n);
        if (num.size() < lo.size()) num.insert(0, lo.size() - num.size(), '0');  // zero padding: node[01-10]
        hosts.push_back(prefix + num + suffix);
      }
      if (comma == ranges.size()) break;
    }
  }
  return hosts;
}

RankLayout detect_rank_layout(const Getenv& env) {
  RankLayout l;
  if (env("RANK") && env("WORLD_SIZE")) {
    l.launcher = "torchrun";
    l.world = env_int(env, "WORLD_SIZE", 1, 1);
    l.rank = env_int(env, "RANK", 0, 0);
    l.local_rank = env_int(env, "LOCAL_RANK", l.rank, 0);
    l.local_world = env_int(env, "LOCAL_WORLD_SIZE", l.world, 1);
    l.master_addr = env("MASTER_ADDR").value_or("127.0.0.1");
    l.master_port = env_int(env, "MASTER_PORT", 29500, 1);
    const auto agent = env("TORCHELASTIC_USE_AGENT_STORE");
    l.agent_store = agent && (*agent == "True" || *agent == "true" || *agent == "1");
    l.restart_count = env_int(env, "TORCHELASTIC_RESTART_COUNT", 0, 0);
    l.error_file = env("TORCHELASTIC_ERROR_FILE").value_or("");
  } else if (env("SLURM_STEP_ID") && env("SLURM_PROCID")) {
    l.launcher = "slurm";
    l.rank = env_int(env, "SLURM_PROCID", 0, 0);
    l.world = env_int(env, env("SLURM_STEP_NUM_TASKS") ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS", 1, 1);
    l.local_rank = env_int(env, "SLURM_LOCALID", 0, 0);
    if (env("SLURM_NTASKS_PER_NODE")) {
      l.local_world = env_int(env, "SLURM_NTASKS_PER_NODE", 1, 1);
    } else {
      const char* name = env("SLURM_STEP_TASKS_PER_NODE") ? "SLURM_STEP_TASKS_PER_NODE" : "SLURM_TASKS_PER_NODE";
      if (const auto spec = env(name))
        l.local_world = slurm_tasks_on_node(*spec, env_int(env, "SLURM_NODEID", 0, 0), name);
    }
    if (const auto addr = env("MASTER_ADDR")) {
      l.master_addr = *addr;
    } else if (const auto nodes = env("SLURM_STEP_NODELIST") ? env("SLURM_STEP_NODELIST") : env("SLURM_JOB_NODELIST")) {
      const auto hosts = expand_slurm_hostlist(*nodes);
      if (hosts.empty()) throw ConfigError(Origin{"environment"}, "SLURM_JOB_NODELIST", "is empty");
      l.master_addr = hosts.front();
    }
    // A port derived from the job id, so two jobs sharing a node do not collide.
    l.master_port = env("MASTER_PORT") ? env_int(env, "MASTER_PORT", 29500, 1)
                                       : 15000 + env_int(env, "SLURM_JOB_ID", 0, 0) % 20000;
  }
  if (l.rank >= l.world)
    throw ConfigError(Origin{"environment"}, l.launcher == "slurm" ? "SLURM_PROCID" : "RANK",
                      std::to_string(l.rank) + " is not below the world size " + std::to_string(l.world));
  if (l.local_rank >= l.local_world)
    throw ConfigError(Origin{"environment"}, l.launcher == "slurm" ? "SLURM_LOCALID" : "LOCAL_RANK",
                      std::to_string(l.local_rank) + " is not below the local world size " +
                          std::to_string(l.local_world));
  if (l.master_port > 65535)
    throw ConfigError(Origin{"environment"}, "MASTER_PORT", std::to_string(l.master_port) + " is not a TCP port");
  return l;
}

}  // namespace ptm::dist
