// The accuracy predictor as a screen of NSGA-II offspring, and its ranking quality.
#include "ptm/nas/predictor_screen.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ptm/models/elastic.h"
#include "ptm/nas/model_space.h"
#include "ptm/nas/nsga2.h"
#include "ptm/nas/predictor.h"

namespace ptm::nas {
namespace {

// The measured (genome, metric) pairs of `points` (stored, minimised values), feasible ones only.
void measured_metric(const std::vector<EvaluatedPoint>& points, size_t metric, std::vector<Genome>& genomes,
                     std::vector<double>& values) {
  for (const auto& p : points)
    if (p.eval.feasible) {
      genomes.push_back(p.genome);
      values.push_back(p.eval.objectives.at(metric));
    }
}

}  // namespace

Screen predictor_screen(const PredictorConfig& c, const SearchSpace& space, size_t metric, models::ModelImpl& model) {
  const auto encoding = c.encoding == "sizes" ? Encoding::Sizes : Encoding::OneHot;
  return [=, &model](const std::vector<Genome>& pool, size_t keep, const SearchResult& so_far) {
    std::vector<size_t> picked(pool.size());
    std::iota(picked.begin(), picked.end(), size_t{0});
    std::vector<Genome> genomes;
    std::vector<double> values;
    measured_metric(so_far.evaluated, metric, genomes, values);
    if (static_cast<int64_t>(genomes.size()) < c.min_points) {
      picked.resize(keep);
      return picked;
    }
    RidgePredictor predictor(space, encoding, c.lambda);
    predictor.fit(genomes, values);
    std::vector<std::vector<double>> points;
    for (const auto& g : pool)
      points.push_back({predictor.predict(g), static_cast<double>(models::subnet_parameters(model, to_subnet(g)))});
    picked.clear();
    for (auto front : non_dominated_sort(points)) {
      if (picked.size() + front.size() > keep) {
        const auto crowd = crowding_distance(points, front);
        std::vector<size_t> order(front.size());
        std::iota(order.begin(), order.end(), size_t{0});
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return crowd[a] > crowd[b]; });
        for (size_t i = 0; picked.size() < keep; ++i) picked.push_back(front[order[i]]);
        break;
      }
      picked.insert(picked.end(), front.begin(), front.end());
    }
    return picked;
  };
}

std::vector<double> predictor_tau(const PredictorConfig& c, const SearchSpace& space, const SearchResult& r,
                                  size_t metric) {
  const auto encoding = c.encoding == "sizes" ? Encoding::Sizes : Encoding::OneHot;
  int64_t last = 0;
  for (const auto& p : r.evaluated) last = std::max(last, p.generation);
  std::vector<double> tau;
  for (int64_t g = 1; g <= last; ++g) {
    std::vector<EvaluatedPoint> before, now;
    for (const auto& p : r.evaluated)
      if (p.generation < g) before.push_back(p);
      else if (p.generation == g) now.push_back(p);
    std::vector<Genome> train_g, test_g;
    std::vector<double> train_v, test_v, predicted;
    measured_metric(before, metric, train_g, train_v);
    measured_metric(now, metric, test_g, test_v);
    if (static_cast<int64_t>(train_g.size()) < c.min_points || test_g.size() < 2) {
      tau.push_back(std::nan(""));
      continue;
    }
    RidgePredictor predictor(space, encoding, c.lambda);
    predictor.fit(train_g, train_v);
    for (const auto& g2 : test_g) predicted.push_back(predictor.predict(g2));
    tau.push_back(kendall_tau(predicted, test_v));
  }
  return tau;
}

}  // namespace ptm::nas
