// One evaluation pass (trainer.h): loss, perplexity and the objective's metrics, summed over
// the ranks of a data-parallel run; for a task mixture's split (data/sourced_stream.h) also
// each source's, as "<name>/<metric>".
#include <algorithm>
#include <cmath>
#include <map>

#include "ptm/core/errors.h"
#include "ptm/data/sourced_stream.h"
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

// Metrics over whole-evaluation outputs into out[prefix + name]: classes (int64 predictions)
// or values.
void add_output_metrics(nlohmann::json& out, const std::string& prefix, const torch::Tensor& pred,
                        const torch::Tensor& ref, const torch::Tensor& probs) {
  if (pred.scalar_type() == torch::kInt64) {
    const auto p64 = pred.contiguous(), r64 = ref.to(torch::kInt64).contiguous();
    const std::vector<int64_t> pv(p64.data_ptr<int64_t>(), p64.data_ptr<int64_t>() + p64.numel());
    const std::vector<int64_t> rv(r64.data_ptr<int64_t>(), r64.data_ptr<int64_t>() + r64.numel());
    const int64_t num_classes = probs.defined() ? probs.size(1) : 0;
    const auto metrics = classification_metrics(pv, rv, num_classes);  // named: items() must not outlive it
    for (const auto& [k, v] : metrics.items()) out[prefix + k] = v;
  } else {
    const auto pd = pred.to(torch::kFloat64).contiguous(), rd = ref.to(torch::kFloat64).contiguous();
    const std::vector<double> pv(pd.data_ptr<double>(), pd.data_ptr<double>() + pd.numel());
    const std::vector<double> rv(rd.data_ptr<double>(), rd.data_ptr<double>() + rd.numel());
    const auto metrics = regression_metrics(pv, rv);
    for (const auto& [k, v] : metrics.items()) out[prefix + k] = v;
  }
}

// Running sums of one source of a task mixture.
struct SourceSums {
  torch::Tensor loss, count;
  std::map<std::string, torch::Tensor> sums;
};

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
  std::vector<torch::Tensor> predicted, gold, probs, from;  // from: each prediction's source
  int64_t batches = 0;
  const auto* sourced = dynamic_cast<const data::SourcedStream*>(&stream);
  const auto names = sourced ? sourced->source_names() : std::vector<std::string>();
  std::vector<SourceSums> per_source;
  for (size_t i = 0; i < names.size(); ++i) per_source.push_back({loss.clone(), loss.clone(), {}});
  const auto add_sums = [](std::map<std::string, torch::Tensor>& to, const std::map<std::string, torch::Tensor>& batch) {
    for (const auto& [k, v] : batch) to[k] = to.count(k) ? to[k] + v : v.to(torch::kFloat32);
  };
  while (batches < max_batches) {
    auto b = stream.next();
    if (!b) break;
    const auto batch = b->to(device, true);
    const auto parts = objective.loss(model, batch, false);
    loss += parts.loss_sum.to(torch::kFloat32);
    count += parts.targets;
    add_sums(sums, parts.sums);
    const int source = sourced ? sourced->batch_source() : -1;
    if (source >= 0) {
      auto& mine = per_source[static_cast<size_t>(source)];
      mine.loss += parts.loss_sum.to(torch::kFloat32);
      mine.count += parts.targets;
      add_sums(mine.sums, parts.sums);
    }
    if (parts.predictions.defined()) {
      predicted.push_back(parts.predictions.detach());
      gold.push_back(parts.references.detach());
      if (parts.probabilities.defined()) probs.push_back(parts.probabilities.detach().to(torch::kFloat32));
      if (sourced)
        from.push_back(
            torch::full({parts.predictions.size(0)}, source, torch::TensorOptions().dtype(torch::kInt64).device(device)));
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
    // Each source's sums, under the keys of the whole (a source this rank saw no batch of has none).
    for (const auto& x : per_source) {
      parts.push_back(x.loss.reshape({1}).to(torch::kFloat64));
      parts.push_back(x.count.reshape({1}).to(torch::kFloat64));
      for (const auto& [k, v] : sums)
        parts.push_back(x.sums.count(k) ? x.sums.at(k).reshape({1}).to(torch::kFloat64) : torch::zeros({1}, f64));
    }
    auto all = torch::cat(parts);
    group->all_reduce(all);
    loss = all[0];
    count = all[1];
    batches = static_cast<int64_t>(all[2].item<double>());
    int64_t i = 3;
    for (auto& [k, v] : sums) v = all[i++];
    for (auto& x : per_source) {
      x.loss = all[i++];
      x.count = all[i++];
      for (const auto& [k, v] : sums) x.sums[k] = all[i++];
    }
    if (!predicted.empty()) {
      predicted = {gather_in_split_order(*group, torch::cat(predicted))};
      gold = {gather_in_split_order(*group, torch::cat(gold))};
      if (!probs.empty()) probs = {gather_in_split_order(*group, torch::cat(probs))};
      if (!from.empty()) from = {gather_in_split_order(*group, torch::cat(from))};
    }
  }
  const double n = count.item<double>();
  nlohmann::json out;
  out["loss"] = n > 0 ? loss.item<double>() / n : 0.0;
  out["targets"] = n;
  out["batches"] = batches;
  if (objective.language_model()) out["perplexity"] = std::exp(out["loss"].get<double>());
  for (const auto& [k, v] : sums) out[k] = n > 0 ? v.item<double>() / n : 0.0;
  // Each source evaluated (with targets), as "<name>/<metric>".
  for (size_t s = 0; s < per_source.size(); ++s) {
    const double ns = per_source[s].count.item<double>();
    if (!(ns > 0)) continue;
    const std::string prefix = names[s] + "/";
    out[prefix + "loss"] = per_source[s].loss.item<double>() / ns;
    out[prefix + "targets"] = ns;
    if (objective.language_model()) out[prefix + "perplexity"] = std::exp(out[prefix + "loss"].get<double>());
    for (const auto& [k, v] : per_source[s].sums) out[prefix + k] = v.item<double>() / ns;
  }
  if (predicted.empty()) return out;
  const auto pred = torch::cat(predicted).cpu(), ref = torch::cat(gold).cpu();
  const auto p_probs = probs.empty() ? torch::Tensor() : torch::cat(probs).cpu();
  const bool classes = pred.scalar_type() == torch::kInt64;
  add_output_metrics(out, "", pred, ref, p_probs);
  const auto source_of = from.empty() ? torch::Tensor() : torch::cat(from).cpu();
  for (size_t s = 0; source_of.defined() && s < per_source.size(); ++s) {
    const auto rows = (source_of == static_cast<int64_t>(s)).nonzero().flatten();
    if (rows.numel() == 0) continue;
    add_output_metrics(out, names[s] + "/", pred.index_select(0, rows), ref.index_select(0, rows),
                       p_probs.defined() ? p_probs.index_select(0, rows) : torch::Tensor());
  }
  if (predictions) {
    predictions->clear();
    for (int64_t i = 0; i < pred.size(0); ++i) {
      nlohmann::json row = {{"index", i}};
      if (source_of.defined() && source_of[i].item<int64_t>() >= 0)
        row["source"] = names[static_cast<size_t>(source_of[i].item<int64_t>())];
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
