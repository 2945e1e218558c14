// `ptm report RUN|BENCH.json [...] [--out report.html]`: one self-contained HTML page of the
// runs' curves and tables and the benchmarks' charts (lib/ptm/report/run_report.h), or a short
// summary on the terminal.
#include <iostream>
#include <memory>

#include "commands.h"
#include "ptm/core/fs_util.h"
#include "ptm/report/run_report.h"

namespace ptm::cli {

void add_report(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("report", "Curves and tables of runs, prunings, searches and benchmarks: an HTML page (--out) or a summary");
  auto runs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  cmd->add_option("runs", *runs, "run directories (one colour each), ptm merge/prune/nas search folders and `ptm bench --json` files")->required()->expected(1, -1);
  cmd->add_option("--out", *out, "write one self-contained HTML page here (inline SVG, no JavaScript)");
  cmd->callback([&action, runs, out] {
    action = [runs, out] {
      const auto data = report::load_inputs(*runs);
      if (out->empty()) {
        std::cout << report::text_summary(data);
        return 0;
      }
      fs_util::write_file_atomic(*out, report::html_report(data));
      std::cout << "report of " << data.runs.size() << " run" << (data.runs.size() == 1 ? "" : "s");
      if (!data.prunes.empty()) std::cout << ", " << data.prunes.size() << " pruning(s)";
      if (!data.searches.empty()) std::cout << ", " << data.searches.size() << " architecture search(es)";
      if (!data.benches.empty()) std::cout << " and " << data.benches.size() << " benchmark(s)";
      std::cout << " -> " << *out << "\n";
      return 0;
    };
  });
}

}  // namespace ptm::cli
