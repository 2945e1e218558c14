// Metrics computed from a whole evaluation pass (they do not decompose into per-batch sums):
// classification accuracy, macro-F1, Matthews correlation, binary precision/recall; and
// regression MSE, Pearson and Spearman correlation. Definitions follow scikit-learn and
// scipy (zero division gives 0; Spearman ranks ties by their average rank).
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace ptm::train {

// {accuracy, macro_f1, mcc} and, for two classes, {precision, recall, f1} of class 1.
// `num_classes` 0: inferred from the largest id seen.
nlohmann::json classification_metrics(const std::vector<int64_t>& predicted, const std::vector<int64_t>& gold,
                                      int64_t num_classes = 0);

// {mse, pearson, spearman}; correlations are 0 when either side is constant.
nlohmann::json regression_metrics(const std::vector<double>& predicted, const std::vector<double>& gold);

double pearson(const std::vector<double>& x, const std::vector<double>& y);
double spearman(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace ptm::train
