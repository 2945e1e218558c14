// `ptm nas search --config recipes/nas/<name>.yaml` and
// `ptm nas export --from RUN (--pick N | --max-params P | --max-latency-ms L | --genome G) --out DIR`
// (lib/ptm/recipes/run_nas.h); each prints its summary.json.
#include <iostream>
#include <memory>

#include "commands.h"
#include "ptm/recipes/run_nas.h"
#include "recipe_cli.h"

namespace ptm::cli {

void add_nas(CLI::App& app, Action& action, const std::vector<std::string>& argv) {
  auto* nas = app.add_subcommand(
      "nas", "Neural architecture search over an elastic super-network (train it with a supernet: section first)");
  nas->require_subcommand(1);

  auto* search = nas->add_subcommand(
      "search", "NSGA-II (or random) search of the super-network's sub-networks: metric, parameters, measured latency");
  auto args = std::make_shared<RecipeArgs>();
  add_recipe_options(search, *args);
  search->callback([&action, args, argv] {
    action = [args, argv] {
      recipes::RunOptions o;
      o.argv = argv;
      o.overwrite = args->overwrite;
      std::cout << recipes::run_nas_search(recipes::load(args->source()), o).dump(2) << "\n";
      return 0;
    };
  });

  auto* exp = nas->add_subcommand("export", "Write one sub-network of a search as a plain model run directory");
  auto eo = std::make_shared<recipes::NasExportOptions>();
  auto pick = std::make_shared<int64_t>(0);
  auto max_params = std::make_shared<int64_t>(0);
  auto max_latency = std::make_shared<double>(0);
  exp->add_option("--from", eo->from, "the ptm nas search run directory")->required();
  exp->add_option("--out", eo->out, "the new model's run directory")->required();
  auto* pick_opt = exp->add_option("--pick", *pick, "the N-th front point by size (0: smallest)");
  auto* params_opt = exp->add_option("--max-params", *max_params, "the best front point with at most P parameters");
  auto* latency_opt = exp->add_option("--max-latency-ms", *max_latency, "the best front point at most L ms slow");
  auto* genome_opt = exp->add_option("--genome", eo->genome, "this sub-network instead, e.g. 4/512,-,2/256");
  pick_opt->excludes(params_opt)->excludes(latency_opt)->excludes(genome_opt);
  params_opt->excludes(latency_opt)->excludes(genome_opt);
  latency_opt->excludes(genome_opt);
  exp->add_flag("--overwrite", eo->overwrite, "replace an earlier run in --out");
  exp->callback([&action, eo, pick, max_params, max_latency, pick_opt, params_opt, latency_opt, genome_opt, argv] {
    if (!pick_opt->count() && !params_opt->count() && !latency_opt->count() && !genome_opt->count())
      throw CLI::RequiredError("one of --pick, --max-params, --max-latency-ms, --genome");
    if (pick_opt->count()) eo->pick = *pick;
    if (params_opt->count()) eo->max_params = *max_params;
    if (latency_opt->count()) eo->max_latency_ms = *max_latency;
    eo->argv = argv;
    action = [eo] {
      std::cout << recipes::run_nas_export(*eo).dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace ptm::cli
