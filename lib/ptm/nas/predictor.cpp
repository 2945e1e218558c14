// Ridge regression by Cholesky factorisation of the (small) regularised Gram matrix.
#include "ptm/nas/predictor.h"

#include <cmath>
#include <stdexcept>

namespace ptm::nas {
namespace {

size_t index_of(const std::vector<int64_t>& v, int64_t x) {
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i] == x) return i;
  return v.size();
}

// Solves A x = b for symmetric positive definite A (Cholesky); A and b are overwritten.
std::vector<double> solve_spd(std::vector<std::vector<double>> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t j = 0; j < n; ++j) {
    double d = a[j][j];
    for (size_t k = 0; k < j; ++k) d -= a[j][k] * a[j][k];
    if (!(d > 0)) throw std::invalid_argument("ridge_fit: singular system (use lambda > 0)");
    a[j][j] = std::sqrt(d);
    for (size_t i = j + 1; i < n; ++i) {
      double s = a[i][j];
      for (size_t k = 0; k < j; ++k) s -= a[i][k] * a[j][k];
      a[i][j] = s / a[j][j];
    }
  }
  for (size_t i = 0; i < n; ++i) {  // L z = b
    for (size_t k = 0; k < i; ++k) b[i] -= a[i][k] * b[k];
    b[i] /= a[i][i];
  }
  for (size_t i = n; i-- > 0;) {  // L^T x = z
    for (size_t k = i + 1; k < n; ++k) b[i] -= a[k][i] * b[k];
    b[i] /= a[i][i];
  }
  return b;
}

}  // namespace

std::vector<double> encode(const SearchSpace& space, const Genome& g, Encoding encoding) {
  const std::string outside = space.check(g);
  if (!outside.empty()) throw std::invalid_argument("encode: genome " + g.str() + " " + outside);
  std::vector<double> x;
  for (size_t l = 0; l < g.layers.size(); ++l) {
    const bool kept = g.kept(l);
    if (encoding == Encoding::OneHot) {
      const size_t h = index_of(space.heads, g.layers[l].heads), w = index_of(space.inner, g.layers[l].inner);
      for (size_t i = 0; i < space.heads.size(); ++i) x.push_back(kept && i == h ? 1.0 : 0.0);
      for (size_t i = 0; i < space.inner.size(); ++i) x.push_back(kept && i == w ? 1.0 : 0.0);
      if (space.can_drop()) x.push_back(kept ? 0.0 : 1.0);
    } else {
      x.push_back(static_cast<double>(g.layers[l].heads) / static_cast<double>(space.heads.back()));
      x.push_back(static_cast<double>(g.layers[l].inner) / static_cast<double>(space.inner.back()));
      if (space.can_drop()) x.push_back(kept ? 1.0 : 0.0);
    }
  }
  return x;
}

double RidgeModel::predict(const std::vector<double>& x) const {
  if (x.size() != weights.size()) throw std::invalid_argument("ridge predict: feature count differs from the fit");
  double y = intercept;
  for (size_t i = 0; i < x.size(); ++i) y += weights[i] * x[i];
  return y;
}

RidgeModel ridge_fit(const std::vector<std::vector<double>>& x, const std::vector<double>& y, double lambda) {
  if (x.empty() || x.size() != y.size()) throw std::invalid_argument("ridge_fit: need as many targets as rows, at least one");
  if (!(lambda >= 0)) throw std::invalid_argument("ridge_fit: lambda must be >= 0");
  const size_t n = x.size(), d = x[0].size();
  for (const auto& row : x)
    if (row.size() != d) throw std::invalid_argument("ridge_fit: rows of different lengths");
  std::vector<double> mx(d, 0.0);
  double my = 0;
  for (size_t r = 0; r < n; ++r) {
    for (size_t j = 0; j < d; ++j) mx[j] += x[r][j] / static_cast<double>(n);
    my += y[r] / static_cast<double>(n);
  }
  // Centred Gram matrix plus lambda I; constant features (all rows equal) get weight 0.
  std::vector<std::vector<double>> a(d, std::vector<double>(d, 0.0));
  std::vector<double> b(d, 0.0);
  for (size_t r = 0; r < n; ++r)
    for (size_t i = 0; i < d; ++i) {
      const double xi = x[r][i] - mx[i];
      b[i] += xi * (y[r] - my);
      for (size_t j = 0; j <= i; ++j) a[i][j] += xi * (x[r][j] - mx[j]);
    }
  for (size_t i = 0; i < d; ++i) {
    for (size_t j = 0; j < i; ++j) a[j][i] = a[i][j];
    a[i][i] += lambda > 0 ? lambda : 0.0;
    if (a[i][i] == 0) a[i][i] = 1;  // a constant feature: b[i] is 0, so its weight is 0
  }
  RidgeModel m;
  m.weights = d ? solve_spd(std::move(a), std::move(b)) : std::vector<double>{};
  m.intercept = my;
  for (size_t j = 0; j < d; ++j) m.intercept -= m.weights[j] * mx[j];
  return m;
}

RidgePredictor::RidgePredictor(SearchSpace space, Encoding encoding, double lambda)
    : space_(std::move(space)), encoding_(encoding), lambda_(lambda) {}

void RidgePredictor::fit(const std::vector<Genome>& genomes, const std::vector<double>& targets) {
  std::vector<std::vector<double>> x;
  for (const auto& g : genomes) x.push_back(encode(space_, g, encoding_));
  model_ = ridge_fit(x, targets, lambda_);
  fitted_ = true;
}

double RidgePredictor::predict(const Genome& g) const {
  if (!fitted_) throw std::logic_error("RidgePredictor::predict before fit");
  return model_.predict(encode(space_, g, encoding_));
}

nlohmann::json RidgePredictor::to_json() const {
  return {{"encoding", encoding_ == Encoding::OneHot ? "one_hot" : "sizes"},
          {"lambda", lambda_},
          {"weights", model_.weights},
          {"intercept", model_.intercept}};
}

double kendall_tau(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw std::invalid_argument("kendall_tau: sequences of different lengths");
  if (a.size() < 2) return 0.0;
  double score = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = i + 1; j < a.size(); ++j) {
      const double s = (a[i] - a[j]) * (b[i] - b[j]);
      score += s > 0 ? 1 : s < 0 ? -1 : 0;
    }
  return score / (static_cast<double>(a.size()) * static_cast<double>(a.size() - 1) / 2);
}

}  // namespace ptm::nas
