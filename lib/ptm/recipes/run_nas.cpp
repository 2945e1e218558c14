// ptm nas search / export: recipe -> super-network -> measured sub-networks -> run directory.
#include "ptm/recipes/run_nas.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>

#include "ptm/bench/stats.h"
#include "ptm/config/emit.h"
#include "ptm/config/load.h"
#include "ptm/config/overrides.h"
#include "ptm/core/environment.h"
#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/core/log.h"
#include "ptm/core/run_dir.h"
#include "ptm/models/vit.h"
#include "ptm/nas/extract.h"
#include "ptm/nas/front_plot.h"
#include "ptm/nas/model_space.h"
#include "ptm/nas/predictor_screen.h"
#include "ptm/nas/search.h"
#include "ptm/optim/optimizer.h"
#include "ptm/train/checkpoint.h"
#include "ptm/train/trainer.h"

namespace ptm::recipes {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool is_cost(const std::string& name) { return nas::is_cost_objective(name); }

// Metrics that are better when lower; every other evaluation metric is maximised (stored negated).
bool lower_is_better(const std::string& metric) {
  return metric == "loss" || metric == "perplexity" || metric == "mse";
}

// The objective names as stored (all minimised): a maximised metric m becomes "neg_m".
std::vector<std::string> stored_names(const std::vector<std::string>& objectives) {
  std::vector<std::string> out;
  for (const auto& o : objectives) out.push_back(is_cost(o) || lower_is_better(o) ? o : "neg_" + o);
  return out;
}

void check_sections(const Recipe& r) {
  std::vector<Diagnostic> missing;
  if (!r.model) missing.push_back({Origin{}, "model", "missing: ptm nas search needs the super-network's model: section"});
  if (!r.nas) missing.push_back({Origin{}, "nas", "missing: ptm nas search needs a nas: section (objectives, population, ...)"});
  if (r.init_from.empty())
    missing.push_back({Origin{}, "init_from", "missing: the trained super-network to search (init_from.checkpoint)"});
  if (r.nas && !r.data)
    for (const auto& o : r.nas->objectives)
      if (!is_cost(o)) missing.push_back({r.nas->origin, "data", "missing: objective '" + o + "' is measured on a data: section"});
  if (!missing.empty()) throw ConfigError(missing);
}

// Median wall time of the extracted sub-network's forward pass on random tokens (images for a ViT).
double latency_ms(models::ModelImpl& model, const models::Subnet& subnet, const nas::LatencyConfig& l,
                  const torch::Device& device) {
  auto small = nas::extract_subnet(model, subnet).model;
  small->to(device);
  small->eval();
  torch::NoGradGuard no_grad;
  data::Batch b;
  if (const auto* vit = dynamic_cast<const models::ViTImpl*>(&model)) {  // images: seq_len does not apply
    const auto& o = vit->options();
    b.images = torch::randn({l.batch, o.num_channels, o.image_size, o.image_size}, torch::TensorOptions().device(device));
  } else {
    b.input_ids = torch::randint(0, model.vocab_size(), {l.batch, l.seq_len}, torch::TensorOptions().dtype(torch::kLong).device(device));
  }
  const auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  for (int64_t i = 0; i < l.warmup; ++i) small->forward(b);
  sync();
  std::vector<double> ms;
  for (int64_t i = 0; i < l.repeats; ++i) {
    const auto t0 = Clock::now();
    small->forward(b);
    sync();
    ms.push_back(1000.0 * seconds_since(t0));
  }
  return bench::summarize(ms).p50;
}

class SubnetMeter {
 public:
  SubnetMeter(const Recipe& recipe, models::ModelImpl& model, objectives::Objective* objective, torch::Device device)
      : recipe_(recipe), c_(*recipe.nas), model_(model), objective_(objective), device_(device) {}

  nas::Evaluation operator()(const nas::Genome& g) {
    const auto subnet = nas::to_subnet(g);
    nas::Evaluation e;
    const auto params = static_cast<double>(models::subnet_parameters(model_, subnet));
    if (c_.max_params > 0 && params > static_cast<double>(c_.max_params)) {
      e.feasible = false;
      e.violation = params / static_cast<double>(c_.max_params) - 1.0;
      e.why = "params " + std::to_string(static_cast<int64_t>(params)) + " > max_params " + std::to_string(c_.max_params);
      return e;
    }
    double latency = -1;
    const bool timed = c_.max_latency_ms > 0 ||
                       std::find(c_.objectives.begin(), c_.objectives.end(), "latency_ms") != c_.objectives.end();
    if (timed) latency = latency_ms(model_, subnet, c_.latency, device_);
    if (c_.max_latency_ms > 0 && latency > c_.max_latency_ms) {
      e.feasible = false;
      e.violation = latency / c_.max_latency_ms - 1.0;
      e.why = "latency " + std::to_string(latency) + " ms > max_latency_ms " + std::to_string(c_.max_latency_ms);
      return e;
    }
    for (const auto& o : c_.objectives) {
      if (o == "params") {
        e.objectives.push_back(params);
      } else if (o == "macs") {
        // Per example of latency.seq_len tokens, as `ptm info --model` counts the extracted model.
        const auto small = nas::extract_subnet(model_, subnet).model;
        e.objectives.push_back(small->forward_flops(c_.latency.seq_len) / 2.0);
      } else if (o == "latency_ms") {
        e.objectives.push_back(latency);
      } else {
        const double v = metric(subnet, o);
        e.objectives.push_back(lower_is_better(o) ? v : -v);
      }
    }
    log::info("nas: " + g.str() + " -> " + nlohmann::json(e.objectives).dump());
    return e;
  }

 private:
  double metric(const models::Subnet& subnet, const std::string& name) {
    models::set_subnet(model_, subnet);
    data::StreamOptions o;
    o.batch_size = recipe_.train.batch_size;
    o.split = "val";
    o.train = false;
    o.seed = recipe_.run.seed;
    auto stream = recipe_.data(o);
    if (!stream) throw ConfigError(Origin{}, "data", "the data set has no validation split to measure sub-networks on");
    const auto r = train::evaluate(model_, *objective_, *stream, device_, c_.eval_batches > 0 ? c_.eval_batches : INT64_MAX,
                                   recipe_.train.precision);
    models::set_subnet(model_, {});
    if (!r.contains(name) || !r[name].is_number())
      throw ConfigError(c_.origin, "nas.objectives",
                        "'" + name + "' is not an evaluation metric of objective " + objective_->name() + " (it gives " +
                            r.dump() + ")");
    return r[name].get<double>();
  }

  const Recipe& recipe_;
  const nas::NasConfig& c_;
  models::ModelImpl& model_;
  objectives::Objective* objective_;
  torch::Device device_;
};

}  // namespace

nlohmann::json run_nas_search(const Recipe& recipe, const RunOptions& options) {
  check_sections(recipe);
  const auto& c = *recipe.nas;
  const std::string device = resolve_device(recipe.run.device);
  set_threads(recipe.run.threads);
  log::Level level;
  if (log::parse_level(recipe.run.log_level, level)) log::set_level(level);
  const std::string dir = recipe.run.run_dir();
  const std::string state_path = dir + "/search_state.json";
  const bool continuing = !options.overwrite && std::filesystem::exists(state_path) && !RunDir::holds_finished_run(dir);
  if (!options.overwrite && !continuing && RunDir::holds_any_run(dir))
    throw ConfigError(Origin{}, "run.dir", "'" + dir + "' holds an earlier run; pass --overwrite or choose another --run-dir");

  const auto start = Clock::now();
  torch::manual_seed(static_cast<uint64_t>(recipe.run.seed));
  std::shared_ptr<models::ModelImpl> model = recipe.model();
  apply_init_from(recipe.init_from, *model);
  model->to(torch::Device(device));
  model->eval();
  // The space: the nas: section's choices, else the supernet: section's the model was trained with.
  auto space_config = c.space;
  if (space_config.heads.empty() && space_config.inner.empty() && space_config.min_depth == 0 && recipe.supernet)
    space_config = recipe.supernet->space;
  const auto space = nas::model_space(space_config, *model, "nas");
  std::unique_ptr<objectives::Objective> objective;
  if (recipe.data) {
    objective = recipe.objective ? recipe.objective() : objectives::make("causal_lm");
    objective->attach(*model, torch::Device(device));
  }
  if (c.max_params > 0 && models::subnet_parameters(*model, nas::to_subnet(space.smallest())) > c.max_params)
    throw ConfigError(c.origin, "nas.max_params",
                      std::to_string(c.max_params) + " is below the smallest sub-network of the space (" +
                          std::to_string(models::subnet_parameters(*model, nas::to_subnet(space.smallest()))) +
                          " parameters): no sub-network can meet it");

  // The largest and smallest sub-networks first: an objective the evaluation does not give is
  // refused before anything is written, and they set the hypervolume reference point.
  SubnetMeter meter(recipe, *model, objective.get(), torch::Device(device));
  const auto big = meter(space.largest()), small = meter(space.smallest());

  // Nothing is written before this point.
  const RunDir run = RunDir::open(dir, options.overwrite ? RunDir::Mode::Overwrite
                                                        : continuing ? RunDir::Mode::Resume : RunDir::Mode::Fresh);
  run.attach_log();
  run.write_config(config::to_yaml(recipe.resolved));
  run.write_cmdline(options.argv, provenance(device));
  log::info("nas search in " + dir + ": " + c.algorithm + ", " + std::to_string(c.population) + " x " +
            std::to_string(c.generations) + " sub-networks of " + space.largest().str() + " down to " +
            space.smallest().str() + (continuing ? " (continuing " + state_path + ")" : ""));

  nas::SearchOptions so;
  so.algorithm = c.algorithm;
  so.population = c.population;
  so.generations = c.generations;
  so.seed = static_cast<uint64_t>(recipe.run.seed);
  so.crossover_prob = c.crossover_prob;
  so.mutation_prob = c.mutation_prob;
  // Hypervolume reference: 10% beyond the worse of the largest and smallest sub-network.
  if (big.feasible && small.feasible)
    for (size_t i = 0; i < big.objectives.size(); ++i) {
      const double worst = std::max(big.objectives[i], small.objectives[i]);
      const double spread = std::abs(big.objectives[i] - small.objectives[i]);
      so.hv_reference.push_back(worst + 0.1 * (spread > 0 ? spread : std::abs(worst) + 1e-9));
    }
  const auto names = stored_names(c.objectives);
  // Each genome is measured once, also when the baseline draws it again.
  std::map<nas::Genome, nas::Evaluation> measured;
  const nas::Evaluate measure = [&](const nas::Genome& g) {
    const auto it = measured.find(g);
    return it != measured.end() ? it->second : (measured[g] = meter(g));
  };
  const auto progress = [](const std::string& what) {
    return [what](int64_t gen, const nas::SearchResult& r) {
      std::string hv =
          r.hypervolume_per_generation.empty() ? "" : ", hypervolume " + std::to_string(r.hypervolume_per_generation.back());
      log::info("nas: " + what + "generation " + std::to_string(gen) + " done: " + std::to_string(r.evaluated.size()) +
                " sub-networks evaluated, front of " + std::to_string(r.front.size()) + hv);
    };
  };
  const auto metric_at = std::find_if_not(c.objectives.begin(), c.objectives.end(), is_cost);
  const size_t metric = static_cast<size_t>(metric_at - c.objectives.begin());
  if (c.predictor.oversample > 1) {
    so.oversample = c.predictor.oversample;
    so.screen = predictor_screen(c.predictor, space, metric, *model);
    so.screen_settings = nlohmann::json({{"min_points", c.predictor.min_points},
                                         {"encoding", c.predictor.encoding},
                                         {"lambda", c.predictor.lambda},
                                         {"metric", c.objectives[metric]}})
                             .dump();
  }
  const auto result = nas::run_search(space, so, measure, state_path, progress(""));

  auto points = nas::result_json(result, names);
  points["hv_reference"] = so.hv_reference;
  fs_util::write_file_atomic(run.file("points.json"), points.dump(2) + "\n");
  nas::write_points_csv(run.file("points.csv"), result, names, false);
  nas::write_points_csv(run.file("front.csv"), result, names, true);
  nlohmann::json front = nlohmann::json::array();
  for (const auto i : result.front) {
    nlohmann::json p = {{"genome", result.evaluated[i].genome.str()}};
    for (size_t k = 0; k < names.size(); ++k) p[names[k]] = result.evaluated[i].eval.objectives[k];
    front.push_back(p);
  }
  if (result.front.empty()) log::warn("nas: no evaluated sub-network met the constraints (max_params, max_latency_ms)");
  nlohmann::json summary = {{"algorithm", c.algorithm},
                            {"objectives", names},
                            {"evaluated", result.evaluated.size()},
                            {"front", front},
                            {"hypervolume_per_generation", result.hypervolume_per_generation},
                            {"hv_reference", so.hv_reference},
                            {"largest", space.largest().str()},
                            {"smallest", space.smallest().str()}};

  if (c.predictor.oversample > 1) {
    const auto tau = predictor_tau(c.predictor, space, result, metric);
    nlohmann::json t = nlohmann::json::array();
    for (double v : tau) t.push_back(std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v));
    summary["predictor"] = {{"oversample", c.predictor.oversample}, {"encoding", c.predictor.encoding},
                            {"kendall_tau_per_generation", t}};
    log::info("nas: predictor's Kendall tau on each generation before measuring it: " + t.dump());
  }

  // The baseline: random search with the same budget, the same reference point and the same
  // measurements (a genome both draw is measured once).
  std::optional<nas::SearchResult> baseline;
  nlohmann::json bpoints;
  if (c.baseline == "random") {
    for (const auto& p : result.evaluated) measured.emplace(p.genome, p.eval);
    auto bo = so;
    bo.algorithm = "random";
    bo.oversample = 1;  // random search draws without screening
    bo.screen = {};
    bo.screen_settings.clear();
    baseline = nas::run_search(space, bo, measure, dir + "/baseline_state.json", progress("random baseline: "));
    bpoints = nas::result_json(*baseline, names);
    bpoints["hv_reference"] = so.hv_reference;
    fs_util::write_file_atomic(run.file("baseline_points.json"), bpoints.dump(2) + "\n");
    summary["baseline"] = {{"algorithm", "random"},
                           {"evaluated", baseline->evaluated.size()},
                           {"front_size", baseline->front.size()},
                           {"hypervolume_per_generation", baseline->hypervolume_per_generation}};
    if (!result.hypervolume_per_generation.empty() && !baseline->hypervolume_per_generation.empty())
      log::info("nas: final hypervolume " + std::to_string(result.hypervolume_per_generation.back()) + " (" +
                c.algorithm + ") vs " + std::to_string(baseline->hypervolume_per_generation.back()) + " (random search)");
  }
  // From the JSON just written, by the function ptm report draws a search folder with.
  fs_util::write_file_atomic(run.file("front.svg"),
                             nas::front_plot_svg(points, baseline ? &bpoints : nullptr, dir, c.algorithm));
  summary["seconds"] = seconds_since(start);
  run.write_summary(summary);
  log::close_files();
  return summary;
}

namespace {

// The front point an export asks for, as its index into points.json's "front".
size_t choose_point(const NasExportOptions& o, const nlohmann::json& points) {
  const auto& names = points.at("objectives");
  const auto& front = points.at("front");
  if (front.empty()) throw ConfigError(Origin{o.from + "/points.json"}, "front", "the search found no feasible sub-network");
  const auto column = [&](const std::string& name) -> int64_t {
    for (size_t k = 0; k < names.size(); ++k)
      if (names[k] == name) return static_cast<int64_t>(k);
    return -1;
  };
  int64_t metric = -1;
  for (size_t k = 0; k < names.size(); ++k)
    if (!is_cost(names[k].get<std::string>())) metric = static_cast<int64_t>(k);
  std::vector<size_t> order(front.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // points.json names each objective of a point.
  const auto value = [&](size_t i, int64_t k) {
    return front[i].at("objectives").at(names[static_cast<size_t>(k)].get<std::string>()).get<double>();
  };
  if (o.pick) {
    const int64_t p = column("params");
    if (p < 0) throw ConfigError(Origin{}, "--pick", "the search did not record params; use --genome");
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return value(a, p) < value(b, p); });
    if (*o.pick < 0 || *o.pick >= static_cast<int64_t>(order.size()))
      throw ConfigError(Origin{}, "--pick", "must lie in [0, " + std::to_string(order.size() - 1) + "] (front points by size)");
    return order[static_cast<size_t>(*o.pick)];
  }
  const std::string cost = o.max_params ? "params" : "latency_ms";
  const double limit = o.max_params ? static_cast<double>(*o.max_params) : *o.max_latency_ms;
  const int64_t k = column(cost);
  const std::string flag = o.max_params ? "--max-params" : "--max-latency-ms";
  if (k < 0) throw ConfigError(Origin{}, flag, "the search did not record " + cost);
  int64_t best = -1;
  for (size_t i = 0; i < front.size(); ++i) {
    if (value(i, k) > limit) continue;
    // The best metric under the limit (or, without a metric, the largest that fits).
    const int64_t by = metric >= 0 ? metric : k;
    const bool better = best < 0 || (metric >= 0 ? value(i, by) < value(best, by) : value(i, by) > value(best, by));
    if (better) best = static_cast<int64_t>(i);
  }
  if (best < 0) throw ConfigError(Origin{}, flag, "no front point has " + cost + " <= " + std::to_string(limit));
  return static_cast<size_t>(best);
}

}  // namespace

nlohmann::json run_nas_export(const NasExportOptions& o) {
  const std::string config_path = o.from + "/config.yaml", points_path = o.from + "/points.json";
  if (!std::filesystem::exists(config_path))
    throw IoError("'" + o.from + "' is not a ptm nas search run (no config.yaml)");
  RecipeSource source;
  source.path = config_path;
  const Recipe recipe = load(source);
  nlohmann::json picked = nlohmann::json::object();
  nas::Genome genome;
  if (!o.genome.empty()) {
    genome = nas::Genome::parse(o.genome, "--genome");
  } else {
    if (!std::filesystem::exists(points_path))
      throw IoError("'" + o.from + "' has no points.json: the search did not finish (run it again to continue it)");
    nlohmann::json points;
    try {
      points = nlohmann::json::parse(fs_util::read_file(points_path));
    } catch (const nlohmann::json::exception& e) {
      throw IoError(points_path + ": not valid JSON (" + e.what() + ")");
    }
    const size_t i = choose_point(o, points);
    picked = points.at("front").at(i);
    genome = nas::Genome::from_json(picked.at("genome"), points_path);
  }
  if (!o.overwrite && RunDir::holds_any_run(o.out))
    throw ConfigError(Origin{}, "--out", "'" + o.out + "' holds an earlier run; pass --overwrite or choose another");
  std::shared_ptr<models::ModelImpl> model = recipe.model();
  apply_init_from(recipe.init_from, *model);
  model->eval();
  const auto subnet = nas::to_subnet(genome);
  try {
    models::set_subnet(*model, subnet);  // the same checks as the search
    models::set_subnet(*model, {});
  } catch (const RuntimeError& e) {
    throw ConfigError(Origin{}, "--genome", e.what());
  }
  auto shrunk = nas::extract_subnet(*model, subnet);
  config::Node resolved = recipe.resolved;
  for (const auto& [key, v] : shrunk.int_options) config::set_path(resolved, "model." + key, config::to_node(v));
  for (const auto& [key, v] : shrunk.list_options) config::set_path(resolved, "model." + key, config::to_node(v));
  resolved.erase("nas");  // a plain model: no search, no super-network training
  resolved.erase("supernet");
  config::set_path(resolved, "run.dir", config::to_node(o.out));

  const RunDir run = RunDir::open(o.out, o.overwrite ? RunDir::Mode::Overwrite : RunDir::Mode::Fresh);
  run.write_config(config::to_yaml(resolved));
  run.write_cmdline(o.argv, provenance("cpu"));
  const optim::Optimizer optimizer({}, recipe.optimizer);
  nlohmann::json state = {{"step", 0}, {"extracted_from", o.from}, {"genome", genome.str()}};
  const auto checkpoint = train::save_checkpoint(o.out, 0, *shrunk.model, optimizer, state);
  nlohmann::json summary = {{"genome", genome.str()},
                            {"from", o.from},
                            {"parameters", models::count_parameters(*shrunk.model)},
                            {"search_point", picked},
                            {"checkpoint", checkpoint}};
  run.write_summary(summary);
  return summary;
}

}  // namespace ptm::recipes
