// The ridge predictor: closed-form fits worked by hand, encodings written out by hand, and
// recovery of a known linear accuracy model from sampled genomes.
#include "ptm/nas/predictor.h"

#include <cmath>

#include "catch.h"

using namespace ptm::nas;

TEST_CASE("ridge regression matches fits worked by hand", "[unit][nas]") {
  // x = 0, 1, 2; y = 1, 3, 5. Centred: Sxy = 4, Sxx = 2. lambda 2: w = 4 / (2 + 2) = 1,
  // b = mean y - w mean x = 3 - 1 = 2. lambda 0: the line itself, w = 2, b = 1.
  const std::vector<std::vector<double>> x = {{0}, {1}, {2}};
  const RidgeModel shrunk = ridge_fit(x, {1, 3, 5}, 2.0);
  CHECK(shrunk.weights[0] == Approx(1.0));
  CHECK(shrunk.intercept == Approx(2.0));
  CHECK(shrunk.predict({2}) == Approx(4.0));
  const RidgeModel exact = ridge_fit(x, {1, 3, 5}, 0.0);
  CHECK(exact.weights[0] == Approx(2.0));
  CHECK(exact.intercept == Approx(1.0));
  // y = 3 + 2 x1 - x2 on the corners of the unit square.
  const RidgeModel two = ridge_fit({{0, 0}, {1, 0}, {0, 1}, {1, 1}}, {3, 5, 2, 4}, 0.0);
  CHECK(two.weights[0] == Approx(2.0));
  CHECK(two.weights[1] == Approx(-1.0));
  CHECK(two.intercept == Approx(3.0));
  // A constant feature gets no weight.
  const RidgeModel constant = ridge_fit({{7, 0}, {7, 1}, {7, 2}}, {1, 3, 5}, 0.0);
  CHECK(constant.weights[0] == 0.0);
  CHECK(constant.weights[1] == Approx(2.0));
  CHECK_THROWS_AS(ridge_fit({{1}, {1, 2}}, {1, 2}, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(ridge_fit({}, {}, 1.0), std::invalid_argument);
}

TEST_CASE("genome encodings are one-hot choices or normalised sizes per layer", "[unit][nas]") {
  SearchSpace s;
  s.n_layer = 2;
  s.heads = {2, 4};
  s.inner = {64, 128};
  s.min_depth = 1;
  const Genome g = Genome::parse("4/64,-", "test");
  CHECK(encode(s, g, Encoding::OneHot) == std::vector<double>{0, 1, 1, 0, 0, 0, 0, 0, 0, 1});
  CHECK(encode(s, g, Encoding::Sizes) == std::vector<double>{1, 0.5, 1, 0, 0, 0});
  s.min_depth = 2;  // no layer drops: no dropped/kept feature
  CHECK(encode(s, Genome::parse("2/128,4/64", "test"), Encoding::OneHot) == std::vector<double>{1, 0, 0, 1, 0, 1, 1, 0});
  CHECK_THROWS_AS(encode(s, g, Encoding::OneHot), std::invalid_argument);  // outside the space
}

TEST_CASE("the predictor recovers a linear accuracy model and ranks held-out genomes", "[unit][nas]") {
  SearchSpace s;
  s.n_layer = 6;
  s.heads = {2, 4, 8};
  s.inner = {64, 128, 256};
  s.min_depth = 2;
  const auto linear = [](const Genome& g) {
    double acc = 0.5;
    for (size_t l = 0; l < g.layers.size(); ++l)
      acc += 0.01 * static_cast<double>(g.layers[l].heads) * (1 + 0.1 * static_cast<double>(l)) +
             1e-4 * static_cast<double>(g.layers[l].inner) + (g.kept(l) ? 0.02 : 0.0);
    return acc;
  };
  std::mt19937_64 rng(5);
  std::vector<Genome> train, test;
  std::vector<double> y;
  for (int i = 0; i < 150; ++i) train.push_back(s.sample(rng)), y.push_back(linear(train.back()));
  for (int i = 0; i < 40; ++i) test.push_back(s.sample(rng));
  for (Encoding e : {Encoding::Sizes, Encoding::OneHot}) {
    RidgePredictor p(s, e, 1e-9);
    CHECK_THROWS_AS(p.predict(test[0]), std::logic_error);
    p.fit(train, y);
    for (const auto& g : test) CHECK(p.predict(g) == Approx(linear(g)).margin(1e-6));
  }
  // A saturating, noisy accuracy: the ranking still holds up.
  std::normal_distribution<double> noise(0, 0.005);
  const auto curved = [&](const Genome& g) { return std::tanh(linear(g) - 0.5) + noise(rng); };
  std::vector<double> yc, truth, predicted;
  for (const auto& g : train) yc.push_back(curved(g));
  RidgePredictor p(s, Encoding::OneHot, 1e-2);
  p.fit(train, yc);
  for (const auto& g : test) truth.push_back(curved(g)), predicted.push_back(p.predict(g));
  CHECK(kendall_tau(predicted, truth) > 0.7);
  CHECK(p.to_json()["weights"].size() == 6 * 7);
}

TEST_CASE("Kendall's tau counts concordant and discordant pairs", "[unit][nas]") {
  CHECK(kendall_tau({1, 2, 3}, {1, 3, 2}) == Approx(1.0 / 3));  // 2 concordant, 1 discordant
  CHECK(kendall_tau({1, 2, 3}, {3, 2, 1}) == Approx(-1.0));
  CHECK(kendall_tau({1}, {1}) == 0.0);
}
