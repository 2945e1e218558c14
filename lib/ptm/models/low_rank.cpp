// Factorised Linear layers: storing, running and recording them (see low_rank.h).
#include "ptm/models/low_rank.h"

#include <algorithm>

namespace ptm::models {
namespace {

// torch::nn::Module keeps its parameters in a protected dict and has no public way to drop
// one; a pointer to that member, formed in a derived class, reaches it on any module.
struct ParameterDict : torch::nn::Module {
  static void erase(torch::nn::Module& m, const std::string& name) {
    auto& params = m.*(&ParameterDict::parameters_);
    if (params.contains(name)) params.erase(name);
  }
};

std::string shape(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? ", " : "") + std::to_string(t.size(d));
  return s + "]";
}

}  // namespace

bool is_factorised(const LinearImpl& lin) { return !lin.weight.defined() && lin.named_children().contains("v"); }

int64_t factorised_rank(const LinearImpl& lin) {
  if (!is_factorised(lin)) return 0;
  return lin.named_children()["v"]->as<LinearImpl>()->options.out_features();
}

void factorise(LinearImpl& lin, const torch::Tensor& u, const torch::Tensor& v) {
  if (!lin.weight.defined()) throw RuntimeError("low rank: the layer is already factorised");
  const int64_t out = lin.options.out_features(), in = lin.options.in_features();
  if (u.dim() != 2 || v.dim() != 2 || u.size(0) != out || v.size(1) != in || u.size(1) != v.size(0))
    throw RuntimeError("low rank: factors " + shape(u) + " x " + shape(v) + " do not make a [" + std::to_string(out) +
                       ", " + std::to_string(in) + "] weight");
  const int64_t r = v.size(0);
  const auto opts = lin.weight.options();
  const bool bias = lin.bias.defined();
  torch::NoGradGuard no_grad;
  Linear first(torch::nn::LinearOptions(in, r).bias(false)), second(torch::nn::LinearOptions(r, out).bias(bias));
  first->to(opts.device(), opts.dtype().toScalarType());
  second->to(opts.device(), opts.dtype().toScalarType());
  first->weight.copy_(v);
  second->weight.copy_(u);
  if (bias) second->bias.copy_(lin.bias);
  first->weight.set_requires_grad(lin.weight.requires_grad());
  second->weight.set_requires_grad(lin.weight.requires_grad());
  if (bias) second->bias.set_requires_grad(lin.bias.requires_grad());
  ParameterDict::erase(lin, "weight");
  ParameterDict::erase(lin, "bias");
  lin.weight = torch::Tensor();
  lin.bias = torch::Tensor();
  lin.register_module("v", first);
  lin.register_module("u", second);
  if (!lin.is_training()) {
    first->eval();
    second->eval();
  }
}

torch::Tensor factorised_forward(LinearImpl& lin, const torch::Tensor& x) {
  const auto children = lin.named_children();
  return children["u"]->as<LinearImpl>()->forward(children["v"]->as<LinearImpl>()->forward(x));
}

std::pair<torch::Tensor, torch::Tensor> truncated_svd(const torch::Tensor& w, int64_t rank) {
  torch::NoGradGuard no_grad;
  const auto [U, S, Vh] = torch::linalg_svd(w.detach().to(torch::kFloat), /*full_matrices=*/false);
  return {U.narrow(1, 0, rank) * S.narrow(0, 0, rank).unsqueeze(0), Vh.narrow(0, 0, rank).contiguous()};
}

std::map<std::string, int64_t> low_rank_layers(const torch::nn::Module& model) {
  std::map<std::string, int64_t> out;
  for (const auto& item : model.named_modules("", /*include_self=*/false))
    if (const auto* lin = item.value()->as<LinearImpl>())
      if (const int64_t r = factorised_rank(*lin)) out[item.key()] = r;
  return out;
}

void require_unfactorised(const torch::nn::Module& model) {
  const auto factorised = low_rank_layers(model);
  if (factorised.empty()) return;
  const auto& [name, rank] = *factorised.begin();
  throw ConfigError(Origin{}, "model.low_rank",
                    std::to_string(factorised.size()) + " Linear layer(s) of the model are factorised (" + name +
                        " into rank " + std::to_string(rank) +
                        (factorised.size() > 1 ? ", ..." : "") +
                        "), which a Hugging Face model cannot hold (transformers has no Linear of two factors); "
                        "keep the ptm run instead (ptm eval --from, init_from.checkpoint)");
}

void apply_low_rank(torch::nn::Module& model, const std::map<std::string, int64_t>& ranks,
                    const std::map<std::string, Origin>& origins) {
  if (ranks.empty()) return;
  const auto modules = model.named_modules("", /*include_self=*/false);
  std::vector<Diagnostic> problems;
  std::vector<std::pair<LinearImpl*, int64_t>> chosen_layers;
  for (const auto& [name, rank] : ranks) {
    const auto it = origins.find(name);
    const Origin where = it == origins.end() ? Origin{} : it->second;
    const std::string key = "model.low_rank." + name;
    auto* m = modules.find(name);
    auto* lin = m ? (*m)->as<LinearImpl>() : nullptr;
    if (!lin) {
      problems.push_back({where, key, m ? "is not a Linear layer of the model" : "the model has no layer of this name"});
      continue;
    }
    const int64_t most = std::min(lin->options.in_features(), lin->options.out_features());
    if (rank < 1 || rank > most) {
      problems.push_back({where, key, "rank must lie in [1, " + std::to_string(most) + "] (min(in, out) of this [" +
                                          std::to_string(lin->options.out_features()) + ", " +
                                          std::to_string(lin->options.in_features()) + "] layer), got " +
                                          std::to_string(rank)});
      continue;
    }
    chosen_layers.emplace_back(lin, rank);
  }
  if (!problems.empty()) throw ConfigError(problems);
  // The rank-r truncation of the fresh initialisation (checkpoints then overwrite it).
  for (auto& [lin, rank] : chosen_layers) {
    const auto [u, v] = truncated_svd(lin->weight, rank);
    factorise(*lin, u, v);
  }
}

}  // namespace ptm::models
