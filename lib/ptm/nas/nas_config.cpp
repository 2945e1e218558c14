// Binding of the supernet: and nas: sections, with the checks that need no model.
#include "ptm/nas/nas_config.h"

#include <algorithm>
#include <set>

#include "ptm/compress/criteria.h"

namespace ptm::nas {
namespace {

void bind_space(config::Section& s, SpaceConfig& c) {
  c.origin = s.where("heads");
  for (const auto& [key, list, what] : {std::tuple<const char*, std::vector<int64_t>*, const char*>{
                                            "heads", &c.heads, "per-layer choices of attention heads"},
                                        {"inner", &c.inner, "per-layer choices of MLP width"}}) {
    if (!s.opt(key, *list, what).ok()) continue;
    for (const auto v : *list)
      if (v < 1) s.problem(key, "entries must be >= 1, got " + std::to_string(v));
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
  s.opt("min_depth", c.min_depth, "fewest layers a sub-network keeps (0: all)").min(0);
}

}  // namespace

// is_cost_objective: nas/front_plot.cpp (torch-free, ptm report uses it too).

void bind(config::Section& s, SupernetConfig& c) {
  s.opt("sampling", c.sampling, "sandwich | sortednet | uniform").one_of({"sandwich", "sortednet", "uniform"});
  s.opt("subnets", c.subnets, "sub-networks trained per step").min(1);
  if (c.sampling == "sandwich" && c.subnets < 2)
    s.problem("subnets", "sandwich sampling trains the largest and the smallest sub-network: needs >= 2, got " +
                             std::to_string(c.subnets));
  bind_space(s, c.space);
  auto reorders = compress::criteria().names();
  reorders.push_back("none");
  s.opt("reorder", c.reorder, "criterion that sorts heads and neurons before training (none: no sorting)")
      .one_of(reorders);
  s.opt("calibration_batches", c.calibration_batches, "train batches read by data-driven reorder criteria").min(1);
  if (s.opt("inplace_distill", c.inplace_distill,
            "the largest sub-network learns from the labels, the others from its detached logits (BigNAS)")
          .ok() &&
      c.inplace_distill && c.sampling != "sandwich")
    s.problem("inplace_distill", "needs sampling: sandwich (its first sub-network, the largest, is the teacher), got " +
                                     c.sampling);
  s.opt("temperature", c.temperature, "softening of the logits in in-place distillation").min(1e-6);
  s.finish();
}

void bind(config::Section& s, NasConfig& c) {
  c.origin = s.where("objectives");
  if (s.opt("objectives", c.objectives, "two or three of: an evaluation metric (loss, accuracy, ...), params, macs, latency_ms")
          .ok()) {
    if (c.objectives.size() < 2 || c.objectives.size() > 3)
      s.problem("objectives", "needs two or three objectives, got " + std::to_string(c.objectives.size()));
    const std::set<std::string> distinct(c.objectives.begin(), c.objectives.end());
    if (distinct.size() != c.objectives.size()) s.problem("objectives", "names an objective twice");
    int64_t metrics = 0;
    for (const auto& o : c.objectives) metrics += is_cost_objective(o) ? 0 : 1;
    if (metrics > 1) s.problem("objectives", "at most one evaluation metric (the others: params, macs, latency_ms)");
  }
  s.opt("algorithm", c.algorithm, "nsga2 | random (the baseline)").one_of({"nsga2", "random"});
  s.opt("baseline", c.baseline, "random: a random search with the same budget too, for comparison (none: only the search)")
      .one_of({"none", "random"});
  if (c.baseline == "random" && c.algorithm == "random")
    s.problem("baseline", "the search is already random search (algorithm: random); use baseline: none");
  s.opt("population", c.population, "sub-networks per generation").min(2);
  s.opt("generations", c.generations, "generations (random search: the same number of evaluations)").min(1);
  s.opt("crossover_prob", c.crossover_prob, "chance that two parents are crossed").min(0.0).max(1.0);
  s.opt("mutation_prob", c.mutation_prob, "chance that a layer's choice mutates").min(0.0).max(1.0);
  s.opt("max_params", c.max_params, "sub-networks above this many parameters are infeasible (0: no limit)").min(0);
  s.opt("max_latency_ms", c.max_latency_ms, "sub-networks slower than this are infeasible (0: no limit)").min(0.0);
  s.opt("eval_batches", c.eval_batches, "validation batches per sub-network (0: all)").min(0);
  {
    config::Section l = s.sub("latency");
    l.opt("batch", c.latency.batch, "examples per timed forward pass").min(1);
    l.opt("seq_len", c.latency.seq_len, "tokens per example").min(1);
    l.opt("warmup", c.latency.warmup, "untimed passes first").min(0);
    l.opt("repeats", c.latency.repeats, "timed passes (the median is reported)").min(1);
    l.finish();
  }
  {
    config::Section p = s.sub("predictor");
    p.opt("oversample", c.predictor.oversample, "offspring bred per evaluation, screened by the predictor (1: none)")
        .min(1);
    p.opt("min_points", c.predictor.min_points, "measured sub-networks before the predictor screens").min(2);
    p.opt("encoding", c.predictor.encoding, "genome encoding: onehot | sizes").one_of({"onehot", "sizes"});
    p.opt("lambda", c.predictor.lambda, "ridge penalty").min(0.0);
    p.finish();
    const bool metric = std::any_of(c.objectives.begin(), c.objectives.end(), [](const std::string& o) { return !is_cost_objective(o); });
    if (c.predictor.oversample > 1 && !metric)
      s.problem("predictor", "predicts the evaluation metric, but the objectives have none");
    if (c.predictor.oversample > 1 && c.algorithm != "nsga2")
      s.problem("predictor", "screens NSGA-II offspring; random search (the baseline) is not screened");
  }
  bind_space(s, c.space);
  s.finish();
}

}  // namespace ptm::nas
