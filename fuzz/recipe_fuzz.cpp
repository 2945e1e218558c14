// Recipe loading: YAML text (config/load.h), command-line overrides (config/overrides.h),
// binding of the run, train and schedule sections, and the YAML dump. The input is the recipe,
// then a NUL byte, then one override per line. Bad input must end in a ConfigError.
#include <cstdint>
#include <string>
#include <vector>

#include "ptm/config/binder.h"
#include "ptm/config/emit.h"
#include "ptm/config/load.h"
#include "ptm/config/overrides.h"
#include "ptm/config/run_config.h"
#include "ptm/core/errors.h"
#include "ptm/optim/schedule.h"
#include "ptm/train/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ptm::config;
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  std::vector<std::string> overrides;
  if (nul != std::string::npos) {
    size_t start = nul + 1;
    while (start <= input.size()) {
      size_t end = input.find('\n', start);
      if (end == std::string::npos) end = input.size();
      overrides.push_back(input.substr(start, end - start));
      start = end + 1;
    }
  }
  try {
    Node root = parse_yaml(input.substr(0, nul), "fuzz.yaml");
    for (const auto& o : overrides) is_override(o);
    apply_overrides(root, overrides);
    to_yaml(root);
    if (!root.is_map()) return 0;
    BindContext ctx;
    Section top(ctx, &root, "", root.origin());
    {
      Section s = top.sub("run");
      RunConfig run;
      bind(s, run, "fuzz");
    }
    {
      Section s = top.sub("train");
      ptm::train::TrainConfig train;
      ptm::train::bind(s, train);
    }
    if (auto schedule = ptm::optim::parse_schedule(top.sub("schedule")); schedule && ctx.problems().empty()) {
      const auto sched = schedule(1000);
      for (int64_t step : {0, 1, 10, 500, 999, 1000, 5000}) sched->factor(step);
    }
    ctx.throw_if_any();
  } catch (const ptm::ConfigError&) {
  }
  return 0;
}
