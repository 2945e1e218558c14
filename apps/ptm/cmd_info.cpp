// `ptm info`: versions, CUDA/cuDNN, devices, threads, build options.
#include <iostream>
#include <memory>

#include "commands.h"
#include "ptm/core/environment.h"

namespace ptm::cli {

void add_info(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand("info", "Show ptm, LibTorch, CUDA and device information");
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "print the fingerprint as JSON");
  sub->callback([&action, json] {
    action = [json] {
      const auto env = environment();
      std::cout << (*json ? env.dump(2) + "\n" : environment_report(env));
      return 0;
    };
  });
}

}  // namespace ptm::cli
