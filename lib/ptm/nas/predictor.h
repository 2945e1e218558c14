// An accuracy predictor to pre-screen candidates: ridge regression on a genome's encoding,
// fitted on the genomes measured so far. Cheap and transparent; check its ranking quality
// (kendall_tau on held-out points) before trusting it.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/nas/genome.h"
#include "ptm/nas/search_space.h"

namespace ptm::nas {

enum class Encoding {
  OneHot,  // per layer: one bit per heads choice, one per width choice, and "dropped" when the space drops layers
  Sizes,   // per layer: heads / largest heads, width / largest width (0 when dropped), and "kept" when layers drop
};

// The encoding of `g`, a genome inside `space` (std::invalid_argument otherwise).
std::vector<double> encode(const SearchSpace& space, const Genome& g, Encoding encoding);

struct RidgeModel {
  std::vector<double> weights;
  double intercept = 0;
  double predict(const std::vector<double>& x) const;
};

// Minimises |y - Xw - b|^2 + lambda |w|^2 (the intercept b is not penalised) by solving the
// centred normal equations. std::invalid_argument on empty or ragged input or lambda < 0.
RidgeModel ridge_fit(const std::vector<std::vector<double>>& x, const std::vector<double>& y, double lambda);

class RidgePredictor {
 public:
  explicit RidgePredictor(SearchSpace space, Encoding encoding = Encoding::OneHot, double lambda = 1e-3);
  void fit(const std::vector<Genome>& genomes, const std::vector<double>& targets);
  double predict(const Genome& g) const;  // std::logic_error before fit()
  bool fitted() const { return fitted_; }
  nlohmann::json to_json() const;  // encoding, lambda, weights, intercept

 private:
  SearchSpace space_;
  Encoding encoding_;
  double lambda_;
  RidgeModel model_;
  bool fitted_ = false;
};

// Kendall's tau-a between two equally long sequences: (concordant - discordant) / pairs.
double kendall_tau(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace ptm::nas
