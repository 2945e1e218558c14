// Counting zeros per tensor and layer.
#include "ptm/compress/sparsity_report.h"

#include <cstdio>
#include <regex>

namespace ptm::compress {
namespace {

std::string layer_of(const std::string& name) {
  static const std::regex layer_re(R"((^|\.)((h|layer|layers|blocks)\.\d+)\.)");
  std::smatch m;
  return std::regex_search(name, m, layer_re) ? m[2].str() : "other";
}

nlohmann::json counts(int64_t numel, int64_t zeros) {
  return {{"numel", numel}, {"zeros", zeros}, {"sparsity", numel > 0 ? double(zeros) / double(numel) : 0.0}};
}

}  // namespace

nlohmann::json sparsity_report(models::ModelImpl& model, const Targets& targets) {
  torch::NoGradGuard no_grad;
  nlohmann::json tensors = nlohmann::json::array(), layers = nlohmann::json::array();
  std::vector<std::string> order;
  std::map<std::string, std::pair<int64_t, int64_t>> per_layer;
  int64_t numel = 0, zeros = 0;
  for (const auto& [name, lin] : targets) {
    const auto& w = lin->weight;
    const int64_t n = w.numel(), z = (w == 0).sum().item<int64_t>();
    auto t = counts(n, z);
    t["name"] = name + ".weight";
    t["shape"] = w.sizes().vec();
    tensors.push_back(t);
    const auto layer = layer_of(name);
    if (!per_layer.count(layer)) order.push_back(layer);
    per_layer[layer].first += n;
    per_layer[layer].second += z;
    numel += n;
    zeros += z;
  }
  for (const auto& l : order) {
    auto j = counts(per_layer[l].first, per_layer[l].second);
    j["layer"] = l;
    layers.push_back(j);
  }
  int64_t params = 0, nonzero = 0;
  for (const auto& p : model.parameters()) {
    params += p.numel();
    nonzero += (p != 0).sum().item<int64_t>();
  }
  return {{"tensors", tensors},
          {"layers", layers},
          {"targets", counts(numel, zeros)},
          {"parameters", params},
          {"nonzero_parameters", nonzero}};
}

std::string sparsity_table(const nlohmann::json& report) {
  std::string out;
  char line[160];
  std::snprintf(line, sizeof(line), "%-12s %14s %14s %9s\n", "layer", "weights", "zeros", "sparsity");
  out += line;
  const auto row = [&](const std::string& name, const nlohmann::json& j) {
    std::snprintf(line, sizeof(line), "%-12s %14lld %14lld %8.2f%%\n", name.c_str(),
                  static_cast<long long>(j["numel"].get<int64_t>()), static_cast<long long>(j["zeros"].get<int64_t>()),
                  100.0 * j["sparsity"].get<double>());
    out += line;
  };
  for (const auto& l : report["layers"]) row(l["layer"].get<std::string>(), l);
  row("all targets", report["targets"]);
  std::snprintf(line, sizeof(line), "parameters %lld, nonzero %lld\n",
                static_cast<long long>(report["parameters"].get<int64_t>()),
                static_cast<long long>(report["nonzero_parameters"].get<int64_t>()));
  out += line;
  return out;
}

}  // namespace ptm::compress
