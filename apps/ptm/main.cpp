// ptm: one binary, one subcommand per stage of a pretrained model's life.
// This file is the only place that turns errors into messages and exit codes (but for the
// data-parallel heartbeat, which ends a process whose peer was lost: dist/heartbeat.h):
//   0 ok, 1 runtime failure, 2 usage/config/input error, 128+signal after a clean stop.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "ptm/core/environment.h"
#include "ptm/core/errors.h"
#include "ptm/core/signals.h"
#include "ptm/core/text.h"
#include "ptm/core/version.h"
#include "ptm/dist/error_file.h"

namespace {

// LibTorch errors carry a C++ backtrace after this marker; users need the message only.
std::string without_backtrace(const std::string& what) {
  const auto pos = what.find("\nException raised from");
  return pos == std::string::npos ? what : what.substr(0, pos);
}

int report(const std::string& message, int code) {
  std::cerr << "ptm: error: " << message << "\n";
  ptm::dist::write_torchelastic_error(message);
  return code;
}

// CLI11 takes an unknown command word for a stray argument ("A subcommand is required"), and
// `ptm <unknown> --help` prints the top-level help and exits 0. Where a command is required,
// the first word must name one: otherwise "unknown command 'X' (did you mean 'Y'?)", or "".
std::string unknown_command(CLI::App& app, int argc, char** argv) {
  CLI::App* level = &app;
  std::string path = "ptm";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--" || level->get_require_subcommand_min() == 0) break;
    if (!arg.empty() && arg[0] == '-') continue;  // --help, --version: CLI11 handles them
    std::vector<std::string> names;
    CLI::App* next = nullptr;
    for (CLI::App* sub : level->get_subcommands([](CLI::App*) { return true; })) {
      names.push_back(sub->get_name());
      if (sub->check_name(arg)) next = sub;
    }
    if (!next) {
      const std::string near = ptm::text::closest(arg, names);
      return "unknown command '" + arg + "'" + (level == &app ? "" : " for '" + path + "'") +
             (near.empty() ? "" : " (did you mean '" + near + "'?)") + "; commands: " + ptm::text::join(names, ", ");
    }
    level = next;
    path += " " + next->get_name();
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  ptm::signals::install_stop_handlers();

  CLI::App app{"ptm: pretrain, fine-tune, distill, prune and search models on LibTorch.\n"
               "Recipes are YAML files; see `ptm list` and README.md."};
  app.name("ptm");
  app.set_version_flag("--version", "ptm " + ptm::version() + " (git " + ptm::git_revision() + ", torch " +
                                        ptm::torch_version() + ")");
  app.require_subcommand(1);

  ptm::cli::Action action;
  ptm::cli::add_info(app, action);
  ptm::cli::add_list(app, action);
  ptm::cli::add_validate(app, action);
  ptm::cli::add_config(app, action);
  ptm::cli::add_data(app, action);
  ptm::cli::add_eval(app, action);
  ptm::cli::add_export(app, action);
  ptm::cli::add_generate(app, action);
  ptm::cli::add_merge(app, action);
  ptm::cli::add_report(app, action);
  ptm::cli::add_bench(app, action, std::vector<std::string>(argv, argv + argc));
  ptm::cli::add_train_commands(app, action, std::vector<std::string>(argv, argv + argc));
  ptm::cli::add_launch(app, action);
  ptm::cli::add_prune(app, action, std::vector<std::string>(argv, argv + argc));
  ptm::cli::add_nas(app, action, std::vector<std::string>(argv, argv + argc));

  if (const std::string unknown = unknown_command(app, argc, argv); !unknown.empty()) {
    std::cerr << "ptm: error: " << unknown << "\nRun `ptm --help` or `ptm <command> --help`.\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "ptm: error: " << e.what() << "\nRun `ptm --help` or `ptm <command> --help`.\n";
    return 2;
  }

  try {
    const int code = action();
    if (ptm::signals::stop_requested()) return 128 + ptm::signals::stop_signal();
    return code;
  } catch (const ptm::ConfigError& e) {
    return report(e.what(), 2);
  } catch (const ptm::IoError& e) {
    return report(e.what(), 2);
  } catch (const ptm::RuntimeError& e) {
    return report(e.what(), 1);
  } catch (const std::exception& e) {
    return report(without_backtrace(e.what()), 1);
  }
}
