// Binding of the `prune:` section, with the checks that need no model.
#include "ptm/compress/prune_config.h"

#include <algorithm>

#include "ptm/compress/criteria.h"
#include "ptm/compress/layer_prune.h"
#include "ptm/compress/low_rank.h"
#include "ptm/core/text.h"

namespace ptm::compress {
namespace {

// The granularities a key is used with (empty: all).
std::vector<std::string> owners_of(const std::string& key) {
  if (key == "sparsity" || key == "initial_sparsity" || key == "rounds" || key == "round_steps" || key == "rewind")
    return {"unstructured"};
  if (key == "end_step" || key == "every") return {"unstructured", "low_rank"};
  if (key == "n" || key == "m") return {"nm"};
  if (key == "structured") return {"structured"};
  if (key == "remove_layers") return {"layers"};
  if (key == "targets") return {"unstructured", "nm", "low_rank"};
  if (key == "rank" || key == "energy" || key == "nuclear") return {"low_rank"};
  return {};
}

// rank: r | energy: e (exactly one of them).
void bind_low_rank(config::Section& s, PruneConfig& c) {
  const bool by_rank = s.node() && s.node()->find("rank"), by_energy = s.node() && s.node()->find("energy");
  if (by_rank && by_energy)
    s.problem("energy", "give prune.rank or prune.energy, not both");
  else if (!by_rank && !by_energy)
    s.problem("rank", "missing: granularity low_rank needs prune.rank (the rank kept in every target) or "
                      "prune.energy (the share of each target's squared singular values kept, e.g. 0.9)");
  if (by_rank) s.req("rank", c.rank, "the rank kept in every target (1 .. min(in, out))").min(1);
  if (by_energy)
    s.req("energy", c.energy, "the share of each target's squared singular values kept, in (0, 1]")
        .above(0.0)
        .max(1.0);
}

// rewind: none | init | {to_step: k, weights: true|false}.
void bind_rewind(config::Section& s, PruneConfig& c) {
  const config::Node* n = s.node()->find("rewind");
  if (!n->is_map()) {
    std::string kind;
    if (s.opt("rewind", kind, "none | init | {to_step: k}").one_of({"none", "init"}).ok() && kind == "init")
      c.rewind_step = 0;
    return;
  }
  config::Section r = s.sub("rewind");
  r.req("to_step", c.rewind_step, "the step whose weights each round starts from (0: the initial weights)").min(0);
  r.opt("weights", c.rewind_weights,
        "rewind the weights (false: keep them, restart only the optimizer and the LR schedule)");
  r.finish();
}

// The gradual schedule of pruning during training. Its keys are read only when given, so the
// config.yaml of a ptm prune run (which refuses them) holds none.
template <class Mine>
void bind_schedule(config::Section& s, PruneConfig& c, const Mine& mine) {
  const auto given = [&](const std::string& key) {
    if (!s.node() || !s.node()->find(key)) {
      s.allow(key);
      return false;
    }
    if (c.schedule_key.empty()) {
      c.schedule_key = key;
      c.schedule_origin = s.where(key);
    }
    return mine(key);
  };
  if (given("initial_sparsity") &&
      s.opt("initial_sparsity", c.initial_sparsity, "sparsity of the first pruning step").min(0.0).ok()) {
    if (c.initial_sparsity >= 1.0)
      s.problem("initial_sparsity", "must lie in [0, 1), got " + std::to_string(c.initial_sparsity));
    else if (c.sparsity < c.initial_sparsity)
      s.problem("sparsity", "the final sparsity " + std::to_string(c.sparsity) + " is below prune.initial_sparsity " +
                                std::to_string(c.initial_sparsity) + ": a gradual schedule only adds zeros");
  }
  if (given("start_step")) s.opt("start_step", c.start_step, "the first pruning step").min(0);
  if (given("end_step") && s.opt("end_step", c.end_step, "the last pruning step").min(1).ok() &&
      c.end_step <= c.start_step)
    s.problem("end_step", "must be after prune.start_step (" + std::to_string(c.start_step) + "), got " +
                              std::to_string(c.end_step));
  if (given("every")) s.opt("every", c.every, "steps between pruning steps").min(1);
  if (given("nuclear"))
    s.opt("nuclear", c.nuclear, "lambda of the nuclear-norm sub-gradient lambda U V^T added to each target's gradient")
        .min(0.0);
  // Iterative rounds instead of the cubic schedule.
  const auto present = [&](const char* key) { return s.node() && s.node()->find(key); };
  if (given("rounds")) s.opt("rounds", c.rounds, "pruning rounds, each ending with a pruning step").min(1);
  if (given("round_steps")) s.opt("round_steps", c.round_steps, "optimizer steps of each round").min(1);
  if (given("rewind")) bind_rewind(s, c);
  if (c.granularity != "unstructured") return;  // mine() named the keys
  if (present("rounds")) {
    for (const char* key : {"initial_sparsity", "start_step", "end_step", "every"})
      if (present(key))
        s.problem(key, "belongs to the gradual (cubic) schedule; with prune.rounds the pruning steps are the ends "
                       "of the rounds (prune.round_steps, 2 x prune.round_steps, ...)");
    if (!present("round_steps")) s.problem("rounds", "needs prune.round_steps, the optimizer steps of each round");
    if (c.round_steps > 0 && c.rewind_step >= c.round_steps)
      s.problem("rewind", "to_step " + std::to_string(c.rewind_step) +
                              " must be before the first round ends (prune.round_steps: " +
                              std::to_string(c.round_steps) + ")");
  } else {
    for (const char* key : {"round_steps", "rewind"})
      if (present(key)) s.problem(key, "only used with prune.rounds (iterative pruning in rounds)");
  }
}

}  // namespace

void bind(config::Section& s, PruneConfig& c) {
  c.origin = s.where("criterion");
  s.opt("granularity", c.granularity, "unstructured | nm | structured | layers | low_rank")
      .one_of({"unstructured", "nm", "structured", "layers", "low_rank"});
  if (c.granularity == "low_rank") {
    c.criterion = "svd";
    s.opt("criterion", c.criterion, "how layers are factorised (ptm list low_rank_methods)")
        .one_of(low_rank_methods().names());
  } else if (c.granularity == "layers") {
    c.criterion = "block_influence";
    s.opt("criterion", c.criterion, "how layers are scored (ptm list layer_criteria)").one_of(layer_criteria().names());
  } else {
    s.opt("criterion", c.criterion, "how weights are scored (ptm list criteria)").one_of(criteria().names());
  }
  const auto mine = [&](const std::string& key) {
    const auto owners = owners_of(key);
    if (owners.empty() || std::find(owners.begin(), owners.end(), c.granularity) != owners.end()) return true;
    s.allow(key);
    if (s.node() && s.node()->find(key))
      s.problem(key, "only used with granularity: " + text::join(owners, " | ") +
                         " (this section has granularity: " + c.granularity + ")");
    return false;
  };
  if (mine("sparsity") && s.opt("sparsity", c.sparsity, "share of the target weights set to zero").min(0.0).ok() &&
      c.sparsity >= 1.0)
    s.problem("sparsity", "must lie in [0, 1), got " + std::to_string(c.sparsity));
  if (c.granularity == "unstructured")
    s.opt("scope", c.scope, "layer | row | global: where the lowest scores are compared")
        .one_of({"layer", "row", "global"});
  else if (c.granularity == "structured")
    s.opt("scope", c.scope, "layer | global: units ranked within each layer or across layers")
        .one_of({"layer", "global"});
  else
    s.allow("scope");
  if (mine("n")) s.opt("n", c.n, "weights kept in every group of m").min(1);
  if (mine("m")) {
    s.opt("m", c.m, "group size along the input dimension").min(1);
    if (c.n > c.m) s.problem("n", "must be <= m (" + std::to_string(c.m) + "), got " + std::to_string(c.n));
  }
  if (mine("structured")) {
    config::Section axes = s.sub("structured");
    if (axes.node() && axes.node()->is_map()) {
      for (const auto& key : axes.node()->keys()) {
        AxisAmount a{key, 0.0, axes.where(key)};
        if (axes.req(key, a.fraction, "share of the axis's units removed").min(0.0).ok() && a.fraction >= 1.0)
          axes.problem(key, "must lie in [0, 1), got " + std::to_string(a.fraction));
        c.structured.push_back(a);
      }
    }
    if (c.structured.empty())
      s.problem("structured", "needs at least one axis and the share of its units removed, e.g. {heads: 0.25}");
    axes.finish();
  }
  if (mine("remove_layers"))
    s.req("remove_layers", c.remove_layers, "how many whole layers are removed").min(1);
  const bool by_rank = mine("rank");
  if (mine("energy") && by_rank) bind_low_rank(s, c);
  if (mine("targets"))
    s.opt("targets", c.targets, "module-name patterns of the Linear layers pruned (default: all inside the layers)");
  s.opt("calibration_batches", c.calibration_batches, "train-split batches read by data-driven criteria").min(1);
  s.opt("eval_batches", c.eval_batches, "validation batches evaluated before and after pruning (0: all)").min(0);
  s.opt("recover", c.recover, "fine-tune after pruning with the train: section, pruned weights kept at zero");
  bind_schedule(s, c, mine);
  s.finish();
}

}  // namespace ptm::compress
