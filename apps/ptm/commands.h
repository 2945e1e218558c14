// Each subcommand lives in cmd_<name>.cpp and registers itself on the CLI11 app here.
// When CLI11 selects a subcommand, its callback stores the work to run in `action`;
// main() runs it inside the one place that maps errors to exit codes.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace ptm::cli {

using Action = std::function<int()>;

void add_info(CLI::App& app, Action& action);
void add_list(CLI::App& app, Action& action);
void add_validate(CLI::App& app, Action& action);
void add_config(CLI::App& app, Action& action);
void add_data(CLI::App& app, Action& action);
void add_export(CLI::App& app, Action& action);
void add_eval(CLI::App& app, Action& action);
void add_generate(CLI::App& app, Action& action);
void add_merge(CLI::App& app, Action& action);
void add_report(CLI::App& app, Action& action);
void add_bench(CLI::App& app, Action& action, const std::vector<std::string>& argv);
void add_launch(CLI::App& app, Action& action);
void add_prune(CLI::App& app, Action& action, const std::vector<std::string>& argv);
void add_nas(CLI::App& app, Action& action, const std::vector<std::string>& argv);
// pretrain, finetune (cmd_train.cpp)
void add_train_commands(CLI::App& app, Action& action, const std::vector<std::string>& argv);

}  // namespace ptm::cli
