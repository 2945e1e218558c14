// Low-rank factorisation of Linear layers (prune.granularity: low_rank), by a method of the
// registry "low_rank_methods":
//   svd  W ~ U_r S_r V_r^T, the weight's truncated SVD: the best rank-r approximation in the
//        Frobenius norm (Eckart-Young); no data
// The rank is the same for every target (prune.rank) or, per target, the smallest r whose
// singular values keep a share of the squared ones (prune.energy: sum_{i<r} s_i^2 >= energy *
// sum_i s_i^2). Each target then computes W_r x + b, stored as two Linears (models/low_rank.h)
// when that is smaller, r (in + out) < in * out; otherwise it stays one Linear holding W_r. At
// full rank a target is left as it was. Default targets: the FFN Linears (the Linears the
// model's `neurons` axis scores: mlp.c_fc and mlp.c_proj of a GPT, intermediate.dense and
// output.dense of a BERT layer).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/compress/prune_config.h"
#include "ptm/compress/targets.h"
#include "ptm/core/registry.h"

namespace ptm::compress {

class LowRankMethod {
 public:
  virtual ~LowRankMethod() = default;
  // w [out, in] -> (A [out, r], B [r, in]) with A B the method's rank-r approximation of w.
  virtual std::pair<torch::Tensor, torch::Tensor> factors(const torch::Tensor& w, int64_t rank) = 0;
};

using LowRankFactory = std::function<std::unique_ptr<LowRankMethod>()>;

Registry<LowRankFactory>& low_rank_methods();

// The smallest r with sum_{i<r} s_i^2 >= energy * sum_i s_i^2 (s: singular values, descending;
// energy in (0, 1]). At least 1.
int64_t energy_rank(const torch::Tensor& singular_values, double energy);

// The rank prune.rank or prune.energy asks of weight w [out, in].
int64_t chosen_rank(const PruneConfig& c, const torch::Tensor& w);

// The targets of c in `model`: prune.targets (ConfigError naming prune.targets when nothing
// matches), by default the FFN Linears (ConfigError when the model declares none). ConfigError
// naming prune.rank when the rank exceeds a target's min(in, out).
Targets low_rank_targets(const PruneConfig& c, models::ModelImpl& model);

// What happened to one target.
struct LowRankLayer {
  std::string name;
  int64_t out = 0, in = 0, rank = 0;
  double energy = 1.0;  // share of sum s_i^2 kept
  std::string form;     // "factorised" | "dense" (holding W_r) | "unchanged" (full rank)
  int64_t params_before = 0, params_after = 0;  // weight and bias
};

// Replaces every target by its rank-r approximation, as described above.
std::vector<LowRankLayer> factorise_targets(const PruneConfig& c, LowRankMethod& method, const Targets& targets);

// The Linears that hold the targets' weights now: a factorised target's v and u, else itself.
Targets after_factorisation(const Targets& targets);

// Per-target rows and totals for summary.json / sparsity.json, and a text table for the log.
nlohmann::json low_rank_report(const std::vector<LowRankLayer>& layers);
std::string low_rank_table(const std::vector<LowRankLayer>& layers);

}  // namespace ptm::compress
