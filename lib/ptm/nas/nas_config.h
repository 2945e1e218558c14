// The recipe sections of ptm nas (a torch-free header: recipe.h includes it).
//   supernet:                 # ptm pretrain|finetune|distill train an elastic super-network
//     sampling: sandwich      # sandwich (largest + smallest + random) | sortednet (nested) | uniform
//     subnets: 4              # sub-networks per step, their gradients summed into one step
//     heads: [2, 3, 4]        # per-layer choices of attention heads (default: 1/4, 2/4, 3/4, 4/4 of the model's)
//     inner: [256, 512, 1024] # per-layer choices of MLP width (default: 1/4 ... 4/4 of the model's)
//     min_depth: 4            # fewest layers kept (default: every layer, depth not elastic)
//     reorder: magnitude_l2   # heads and neurons sorted by this criterion before training (none: kept)
//     calibration_batches: 8  # train batches read by data-driven reorder criteria (wanda, taylor)
//     inplace_distill: false  # sandwich: the largest learns from the labels, the others from its logits
//     temperature: 1.0        # of in-place distillation's softened logits
//   nas:                      # ptm nas search
//     objectives: [loss, params]   # two or three of: an evaluation metric (loss, accuracy, ...), params, macs, latency_ms
//     algorithm: nsga2        # nsga2 | random (the baseline, same number of evaluations)
//     baseline: none          # random: also a random search with the same budget, for comparison
//     population: 16
//     generations: 8
//     crossover_prob: 0.9
//     mutation_prob: 0.2
//     max_params: 0           # constraint (0: none)
//     max_latency_ms: 0       # constraint (0: none)
//     eval_batches: 8         # validation batches per sub-network (0: all)
//     latency: {batch: 1, seq_len: 128, warmup: 2, repeats: 5}
//     predictor:              # pre-screen NSGA-II offspring with a ridge regression of the metric
//       oversample: 1         # candidates bred per evaluation (1: no screening)
//       min_points: 16        # measured points before the predictor is trusted
//       encoding: onehot      # onehot | sizes
//       lambda: 0.001
//     heads/inner/min_depth   # the space searched; default: the supernet: section's
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ptm/config/binder.h"

namespace ptm::nas {

// Per-layer choices of an elastic model (empty lists: derived from the model).
struct SpaceConfig {
  std::vector<int64_t> heads, inner;
  int64_t min_depth = 0;  // 0: every layer kept
  Origin origin;
};

struct SupernetConfig {
  std::string sampling = "sandwich";
  int64_t subnets = 4;
  SpaceConfig space;
  std::string reorder = "magnitude_l2";
  int64_t calibration_batches = 8;
  bool inplace_distill = false;
  double temperature = 1.0;
};

struct LatencyConfig {
  int64_t batch = 1, seq_len = 128, warmup = 2, repeats = 5;
};

struct PredictorConfig {
  int64_t oversample = 1, min_points = 16;
  std::string encoding = "onehot";
  double lambda = 1e-3;
};

struct NasConfig {
  std::vector<std::string> objectives{"loss", "params"};
  std::string algorithm = "nsga2";
  std::string baseline = "none";
  int64_t population = 16, generations = 8;
  double crossover_prob = 0.9, mutation_prob = 0.2;
  int64_t max_params = 0;
  double max_latency_ms = 0;
  int64_t eval_batches = 8;
  LatencyConfig latency;
  PredictorConfig predictor;
  SpaceConfig space;
  Origin origin;
};

// The objectives that measure a sub-network's cost: params, macs (multiply-accumulates of one
// example of latency.seq_len tokens), latency_ms. Every other objective is an evaluation metric.
bool is_cost_objective(const std::string& name);

void bind(config::Section& s, SupernetConfig& c);
void bind(config::Section& s, NasConfig& c);

}  // namespace ptm::nas
