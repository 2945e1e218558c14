// One evaluation pass (trainer.h): loss, perplexity and the objective's metrics, summed over
// the ranks of a data-parallel run.
#include <algorithm>
#include <cmath>
#include <map>

#include "ptm/core/errors.h"
#include "ptm/train/autocast.h"
#include "ptm/train/eval_metrics.h"
#include "ptm/train/trainer.h"

namespace ptm::train {
namespace {

// Each rank's rows of `local` gathered in the order of the split: data sets hand example i of
// a rank-r share to rank r as its (i / world)-th, so the global order interleaves the ranks.
torch::Tensor gather_in_split_order(dist::Group& group, const torch::Tensor& local) {
  const auto parts = group.all_gather_rows(local);
  std::vector<int64_t> offset, order;
  int64_t total = 0, longest = 0;
  for (const auto& p : parts) {
    offset.push_back(total);
    total += p.size(0);
    longest = std::max(longest, p.size(0));
  }
  for (int64_t i = 0; i < longest; ++i)
    for (size_t r = 0; r < parts.size(); ++r)
      if (i < parts[r].size(0)) order.push_back(offset[r] + i);
  return torch::cat(parts).index_select(0, torch::tensor(order, torch::kInt64).to(local.device()));
}

}  // namespace

nlohmann::json evaluate(models::ModelImpl& model, objectives::Objective& objective, data::BatchStream& stream,
                        const torch::Device& device, int64_t max_batches, const std::string& precision,
                        std::vector<nlohmann::json>* predictions, dist::Group* group) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  AutocastGuard autocast(device, precision);
  torch::Tensor loss = torch::zeros({}, torch::TensorOptions().device(device)), count = loss.clone();
  std::map<std::string, torch::Tensor> sums;
  std::vector<torch::Tensor> predicted, gold, probs;
  int64_t batches = 0;
  while (batches < max_batches) {
    auto b = stream.next();
    if (!b) break;
    const auto batch = b->to(device, true);
    const auto parts = objective.loss(model, batch, false);
    loss += parts.loss_sum.to(torch::kFloat32);
    count += parts.targets;
    for (const auto& [k, v] : parts.sums) sums[k] = sums.count(k) ? sums[k] + v : v.to(torch::kFloat32);
    if (parts.predictions.defined()) {
      predicted.push_back(parts.predictions.detach());
      gold.push_back(parts.references.detach());
      if (parts.probabilities.defined()) probs.push_back(parts.probabilities.detach().to(torch::kFloat32));
    }
    ++batches;
  }
  model.train(was_training);
  if (group) {
    // Every rank must hold the same metric names: one without batches holds none.
    auto extent = torch::tensor({static_cast<double>(batches), -static_cast<double>(batches)}, torch::kFloat64).to(device);
    group->all_reduce(extent, dist::Reduce::Min);
    if (extent[0].item<double>() == 0 && extent[1].item<double>() < 0)
      throw RuntimeError("the evaluation split has too few examples for " + std::to_string(group->world()) +
                         " ranks: some rank got no batch");
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device);
    std::vector<torch::Tensor> parts = {loss.reshape({1}).to(torch::kFloat64), count.reshape({1}).to(torch::kFloat64),
                                        torch::full({1}, static_cast<double>(batches), f64)};
    for (const auto& [k, v] : sums) parts.push_back(v.reshape({1}).to(torch::kFloat64));
    auto all = torch::cat(parts);
    group->all_reduce(all);
    loss = all[0];
    count = all[1];
    batches = static_cast<int64_t>(all[2].item<double>());
    int64_t i = 3;
    for (auto& [k, v] : sums) v = all[i++];
    if (!predicted.empty()) {
      predicted = {gather_in_split_order(*group, torch::cat(predicted))};
      gold = {gather_in_split_order(*group, torch::cat(gold))};
      if (!probs.empty()) probs = {gather_in_split_order(*group, torch::cat(probs))};
    }
  }
  const double n = count.item<double>();
  nlohmann::json out;
  out["loss"] = n > 0 ? loss.item<double>() / n : 0.0;
  out["targets"] = n;
  out["batches"] = batches;
  if (objective.language_model()) out["perplexity"] = std::exp(out["loss"].get<double>());
  for (const auto& [k, v] : sums) out[k] = n > 0 ? v.item<double>() / n : 0.0;
  if (predicted.empty()) return out;
  const auto pred = torch::cat(predicted).cpu(), ref = torch::cat(gold).cpu();
  const auto p_probs = probs.empty() ? torch::Tensor() : torch::cat(probs).cpu();
  const bool classes = pred.scalar_type() == torch::kInt64;
  if (classes) {
    const auto p64 = pred.contiguous(), r64 = ref.to(torch::kInt64).contiguous();
    const std::vector<int64_t> pv(p64.data_ptr<int64_t>(), p64.data_ptr<int64_t>() + p64.numel());
    const std::vector<int64_t> rv(r64.data_ptr<int64_t>(), r64.data_ptr<int64_t>() + r64.numel());
    const int64_t num_classes = p_probs.defined() ? p_probs.size(1) : 0;
    const auto metrics = classification_metrics(pv, rv, num_classes);  // named: items() must not outlive it
    for (const auto& [k, v] : metrics.items()) out[k] = v;
  } else {
    const auto pd = pred.to(torch::kFloat64).contiguous(), rd = ref.to(torch::kFloat64).contiguous();
    const std::vector<double> pv(pd.data_ptr<double>(), pd.data_ptr<double>() + pd.numel());
    const std::vector<double> rv(rd.data_ptr<double>(), rd.data_ptr<double>() + rd.numel());
    const auto metrics = regression_metrics(pv, rv);
    for (const auto& [k, v] : metrics.items()) out[k] = v;
  }
  if (predictions) {
    predictions->clear();
    for (int64_t i = 0; i < pred.size(0); ++i) {
      nlohmann::json row = {{"index", i}};
      if (classes) {
        row["label"] = ref[i].item<int64_t>();
        row["prediction"] = pred[i].item<int64_t>();
      } else {
        row["label"] = ref[i].item<double>();
        row["prediction"] = pred[i].item<double>();
      }
      if (p_probs.defined()) {
        const auto r = p_probs[i].contiguous();
        row["probabilities"] = std::vector<float>(r.data_ptr<float>(), r.data_ptr<float>() + r.numel());
      }
      predictions->push_back(std::move(row));
    }
  }
  return out;
}

}  // namespace ptm::train
