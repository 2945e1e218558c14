// Confusion-matrix and correlation metrics.
#include "ptm/train/eval_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace ptm::train {
namespace {

double safe_div(double a, double b) { return b == 0 ? 0.0 : a / b; }

// Average ranks (1-based), ties sharing the mean of their positions.
std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) r[order[k]] = mean_rank;
    i = j + 1;
  }
  return r;
}

}  // namespace

nlohmann::json classification_metrics(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                                      int64_t num_classes) {
  if (predicted.size() != gold.size()) throw std::invalid_argument("classification_metrics: sizes differ");
  for (size_t i = 0; i < gold.size(); ++i) num_classes = std::max({num_classes, gold[i] + 1, predicted[i] + 1});
  const auto C = static_cast<size_t>(num_classes);
  std::vector<double> confusion(C * C, 0.0);  // [gold, predicted]
  for (size_t i = 0; i < gold.size(); ++i) confusion[gold[i] * C + predicted[i]] += 1;
  const double n = static_cast<double>(gold.size());
  std::vector<double> tp(C), gold_count(C), pred_count(C);
  for (size_t g = 0; g < C; ++g)
    for (size_t p = 0; p < C; ++p) {
      gold_count[g] += confusion[g * C + p];
      pred_count[p] += confusion[g * C + p];
      if (g == p) tp[g] = confusion[g * C + p];
    }
  const double correct = std::accumulate(tp.begin(), tp.end(), 0.0);
  // Macro-F1 over the classes that occur in either gold or predictions (scikit-learn's labels).
  double f1_sum = 0;
  int present = 0;
  for (size_t c = 0; c < C; ++c) {
    if (gold_count[c] == 0 && pred_count[c] == 0) continue;
    ++present;
    const double precision = safe_div(tp[c], pred_count[c]), recall = safe_div(tp[c], gold_count[c]);
    f1_sum += safe_div(2 * precision * recall, precision + recall);
  }
  // Multiclass MCC (Gorodkin): (c*s - sum p_k t_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)).
  double pt = 0, pp = 0, tt = 0;
  for (size_t c = 0; c < C; ++c) {
    pt += pred_count[c] * gold_count[c];
    pp += pred_count[c] * pred_count[c];
    tt += gold_count[c] * gold_count[c];
  }
  const double denom = std::sqrt((n * n - pp) * (n * n - tt));
  nlohmann::json out = {{"accuracy", safe_div(correct, n)},
                        {"macro_f1", present ? f1_sum / present : 0.0},
                        {"mcc", safe_div(correct * n - pt, denom)}};
  if (C == 2) {
    const double precision = safe_div(tp[1], pred_count[1]), recall = safe_div(tp[1], gold_count[1]);
    out["precision"] = precision;
    out["recall"] = recall;
    out["f1"] = safe_div(2 * precision * recall, precision + recall);
  }
  return out;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  if (x.size() != y.size() || x.empty()) return 0.0;
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return safe_div(sxy, std::sqrt(sxx * syy));
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) { return pearson(ranks(x), ranks(y)); }

nlohmann::json regression_metrics(const std::vector<double>& predicted, const std::vector<double>& gold) {
  if (predicted.size() != gold.size()) throw std::invalid_argument("regression_metrics: sizes differ");
  double se = 0;
  for (size_t i = 0; i < gold.size(); ++i) se += (predicted[i] - gold[i]) * (predicted[i] - gold[i]);
  return {{"mse", safe_div(se, static_cast<double>(gold.size()))},
          {"pearson", pearson(predicted, gold)},
          {"spearman", spearman(predicted, gold)}};
}

}  // namespace ptm::train
