// Rank choice, targets and factorisation of ptm prune's low_rank granularity (low_rank.h).
#include "ptm/compress/low_rank.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "ptm/compress/axes.h"
#include "ptm/core/errors.h"
#include "ptm/models/low_rank.h"

namespace ptm::compress {
namespace {

class Svd : public LowRankMethod {
 public:
  std::pair<torch::Tensor, torch::Tensor> factors(const torch::Tensor& w, int64_t rank) override {
    return models::truncated_svd(w, rank);
  }
};

Registry<LowRankFactory> make_registry() {
  Registry<LowRankFactory> r("low_rank_methods");
  r.add("svd", "W ~ U_r S_r V_r^T, the weight's truncated SVD (the best rank r in Frobenius norm; no data)",
        [] { return std::make_unique<Svd>(); });
  return r;
}

torch::Tensor singular_values(const torch::Tensor& w) {
  torch::NoGradGuard no_grad;
  return torch::linalg_svdvals(w.detach().to(torch::kDouble).cpu());
}

// The FFN Linears: the modules whose weights the `neurons` axis scores.
std::set<std::string> ffn_modules(const models::ModelImpl& model) {
  std::set<std::string> out;
  for (const auto& axis : prunable_axes(model))
    if (axis.name == "neurons")
      for (const auto& layer : axis.layers)
        for (const auto& t : layer.tensors)
          if (t.scored) out.insert(t.tensor.substr(0, t.tensor.rfind('.')));
  return out;
}

}  // namespace

Registry<LowRankFactory>& low_rank_methods() {
  static Registry<LowRankFactory> r = make_registry();
  return r;
}

int64_t energy_rank(const torch::Tensor& singular_values, double energy) {
  const auto sq = singular_values.to(torch::kDouble).cpu().square();
  const auto cum = sq.cumsum(0);
  const int64_t n = cum.numel();
  const double total = cum[n - 1].item<double>();
  if (total <= 0) return 1;  // a zero matrix
  const auto* c = cum.data_ptr<double>();
  for (int64_t r = 1; r <= n; ++r)
    if (c[r - 1] >= energy * total) return r;
  return n;  // rounding: the sum of all of them is the total
}

int64_t chosen_rank(const PruneConfig& c, const torch::Tensor& w) {
  return c.rank > 0 ? c.rank : energy_rank(singular_values(w), c.energy);
}

Targets low_rank_targets(const PruneConfig& c, models::ModelImpl& model) {
  Targets targets;
  if (!c.targets.empty()) {
    targets = select_targets(model, c.targets);
    if (targets.empty())
      throw ConfigError(c.origin, "prune.targets", "match no (unfactorised) Linear layer of the " + model.arch() + " model");
  } else {
    const auto ffn = ffn_modules(model);
    if (ffn.empty())
      throw ConfigError(c.origin, "prune.targets",
                        "missing: the " + model.arch() +
                            " model declares no FFN layers (gpt and bert do): name the Linear layers to factorise");
    for (const auto& item : model.named_modules("", /*include_self=*/false))
      if (ffn.count(item.key()))
        if (auto* lin = item.value()->as<models::LinearImpl>(); lin && !models::is_factorised(*lin))
          targets.emplace_back(item.key(), lin);
    if (targets.empty())
      throw ConfigError(c.origin, "prune.targets", "the FFN Linears of the " + model.arch() + " model are factorised already");
  }
  std::vector<Diagnostic> problems;
  for (const auto& [name, lin] : targets) {
    const int64_t most = std::min(lin->options.in_features(), lin->options.out_features());
    if (c.rank > most)
      problems.push_back({c.origin, "prune.rank",
                          std::to_string(c.rank) + " exceeds min(in, out) = " + std::to_string(most) + " of " + name +
                              " [" + std::to_string(lin->options.out_features()) + ", " +
                              std::to_string(lin->options.in_features()) + "]"});
  }
  if (!problems.empty()) throw ConfigError(problems);
  return targets;
}

std::vector<LowRankLayer> factorise_targets(const PruneConfig& c, LowRankMethod& method, const Targets& targets) {
  std::vector<LowRankLayer> out;
  torch::NoGradGuard no_grad;
  for (const auto& [name, lin] : targets) {
    LowRankLayer l;
    l.name = name;
    l.out = lin->options.out_features();
    l.in = lin->options.in_features();
    const int64_t bias = lin->bias.defined() ? l.out : 0;
    l.params_before = l.out * l.in + bias;
    const auto s = singular_values(lin->weight);
    l.rank = c.rank > 0 ? c.rank : energy_rank(s, c.energy);
    const auto sq = s.square();
    l.energy = sq.slice(0, 0, l.rank).sum().item<double>() / std::max(sq.sum().item<double>(), 1e-300);
    if (l.rank >= std::min(l.out, l.in)) {
      l.form = "unchanged";
      l.params_after = l.params_before;
    } else {
      const auto [a, b] = method.factors(lin->weight, l.rank);
      if (l.rank * (l.in + l.out) < l.out * l.in) {
        l.form = "factorised";
        models::factorise(*lin, a, b);
        l.params_after = l.rank * (l.in + l.out) + bias;
      } else {
        l.form = "dense";
        lin->weight.copy_(torch::matmul(a, b));
        l.params_after = l.params_before;
      }
    }
    out.push_back(l);
  }
  return out;
}

Targets after_factorisation(const Targets& targets) {
  Targets out;
  for (const auto& [name, lin] : targets) {
    if (!models::is_factorised(*lin)) {
      out.emplace_back(name, lin);
      continue;
    }
    const auto children = lin->named_children();
    out.emplace_back(name + ".v", children["v"]->as<models::LinearImpl>());
    out.emplace_back(name + ".u", children["u"]->as<models::LinearImpl>());
  }
  return out;
}

nlohmann::json low_rank_report(const std::vector<LowRankLayer>& layers) {
  nlohmann::json rows = nlohmann::json::array();
  int64_t before = 0, after = 0, factorised = 0;
  for (const auto& l : layers) {
    rows.push_back({{"name", l.name},
                    {"shape", {l.out, l.in}},
                    {"rank", l.rank},
                    {"energy", l.energy},
                    {"form", l.form},
                    {"parameters_before", l.params_before},
                    {"parameters", l.params_after}});
    before += l.params_before;
    after += l.params_after;
    factorised += l.form == "factorised" ? 1 : 0;
  }
  return {{"layers", rows},
          {"targets", {{"count", layers.size()}, {"factorised", factorised}, {"parameters_before", before},
                       {"parameters", after}}}};
}

std::string low_rank_table(const std::vector<LowRankLayer>& layers) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-48s %12s %6s %8s %-10s %10s %10s\n", "layer", "shape", "rank", "energy", "form",
                "params", "before");
  out += line;
  for (const auto& l : layers) {
    const std::string shape = std::to_string(l.out) + "x" + std::to_string(l.in);
    std::snprintf(line, sizeof line, "%-48s %12s %6lld %8.4f %-10s %10lld %10lld\n", l.name.c_str(), shape.c_str(),
                  static_cast<long long>(l.rank), l.energy, l.form.c_str(), static_cast<long long>(l.params_after),
                  static_cast<long long>(l.params_before));
    out += line;
  }
  return out;
}

}  // namespace ptm::compress
