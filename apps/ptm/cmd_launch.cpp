// `ptm launch --nproc N -- <command>`: a data-parallel run on one machine without torchrun.
#include "commands.h"
#include "ptm/core/errors.h"
#include "ptm/dist/launcher.h"

namespace ptm::cli {

void add_launch(CLI::App& app, Action& action) {
  auto* sub = app.add_subcommand(
      "launch", "Run a ptm command as N data-parallel ranks on this machine (as torchrun does): "
                "ptm launch --nproc 2 -- pretrain --config recipes/pretrain/gpt_tiny.yaml");
  auto options = std::make_shared<dist::LaunchOptions>();
  auto command = std::make_shared<std::vector<std::string>>();
  sub->add_option("--nproc", options->nproc, "ranks to start (one per GPU on GPU machines)")
      ->check(CLI::Range(1, 1024));
  sub->add_option("--master-port", options->master_port, "TCP port of rank 0's store (default: a free one)")
      ->check(CLI::Range(0, 65535));
  sub->add_option("--grace", options->grace_seconds,
                  "seconds the other ranks get to stop after one failed, before they are killed")
      ->check(CLI::Range(1, 3600));
  sub->add_option("command", *command, "the ptm command to run, after --")->required();
  sub->callback([&action, options, command] {
    action = [options, command] {
      const std::string& first = command->front();
      if (first != "pretrain" && first != "finetune" && first != "distill" && first != "bench")
        throw ConfigError(Origin{"command line"}, "launch",
                          "'" + first + "' cannot run data-parallel; expected pretrain, finetune, distill or bench");
      return dist::launch(*options, *command);
    };
  });
}

}  // namespace ptm::cli
