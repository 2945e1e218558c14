// Binding and checks of the run section.
#include "ptm/config/run_config.h"

#include <cctype>

namespace ptm::config {

bool valid_device_spec(const std::string& spec) {
  if (spec == "auto" || spec == "cpu" || spec == "cuda") return true;
  if (spec.rfind("cuda:", 0) != 0 || spec.size() == 5) return false;
  for (size_t i = 5; i < spec.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(spec[i]))) return false;
  return true;
}

void bind(Section& s, RunConfig& c, const std::string& default_name) {
  c.name = default_name;
  s.opt("name", c.name, "run name, the folder under root");
  s.opt("root", c.root, "folder that holds run directories");
  s.opt("dir", c.dir, "explicit run directory (overrides root/name)");
  if (s.opt("device", c.device, "auto, cpu, cuda or cuda:N").ok() && !valid_device_spec(c.device))
    s.problem("device", "'" + c.device + "' is not a device; expected auto, cpu, cuda or cuda:N");
  s.opt("seed", c.seed, "random seed").min(0);
  s.opt("threads", c.threads, "CPU threads, 0 = default").min(0).max(1024);
  s.opt("dist_timeout_s", c.dist_timeout_s, "data parallel: seconds to wait for the other ranks").min(1);
  s.opt("log_level", c.log_level, "log level").one_of({"trace", "debug", "info", "warn", "error", "off"});
  if (c.name.empty() && c.dir.empty()) s.problem("name", "the run needs a name (or run.dir)");
  if (c.name.find('/') != std::string::npos)
    s.problem("name", "a run name is one folder name; use run.dir for a path");
  s.finish();
}

}  // namespace ptm::config
