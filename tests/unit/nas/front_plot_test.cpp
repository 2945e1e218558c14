// The front plot draws what points.json holds: fronts sorted along x, negated objectives shown
// as maximised values, infeasible points left out, the baseline beside the search, the cost on
// x and the metric on y.
#include "ptm/nas/front_plot.h"

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"

using namespace ptm::nas;
using nlohmann::json;
using ptm::test::contains;

namespace {

json point(double params, double neg_accuracy, double latency, bool feasible = true) {
  return {{"genome", "g"},
          {"objectives", {{"neg_accuracy", neg_accuracy}, {"params", params}, {"latency_ms", latency}}},
          {"feasible", feasible}};
}

}  // namespace

TEST_CASE("a front plot shows both searches' points and fronts, cost against metric", "[unit][nas]") {
  // Objectives as ptm nas search stores them: accuracy maximised, so negated.
  json nsga = {{"objectives", {"neg_accuracy", "params", "latency_ms"}},
               {"evaluated", {point(300, -0.9, 7), point(100, -0.5, 2), point(200, -0.4, 3), point(900, -0.95, 9, false)}},
               {"front", {point(300, -0.9, 7), point(100, -0.5, 2)}}};
  json random = {{"objectives", nsga["objectives"]}, {"evaluated", {point(150, -0.3, 1)}}, {"front", {point(150, -0.3, 1)}}};
  CHECK(front_axes(nsga, "p") == std::make_pair(std::string("params"), std::string("neg_accuracy")));
  const std::string svg = front_plot_svg(nsga, &random, "run");
  CHECK(contains(svg, "data-series=\"NSGA-II front\" data-x=\"100 300\" data-y=\"0.5 0.9\""));
  CHECK(contains(svg, "data-series=\"NSGA-II (all)\" data-x=\"300 100 200\" data-y=\"0.9 0.5 0.4\""));
  CHECK(contains(svg, "data-series=\"random search front\" data-x=\"150\" data-y=\"0.3\""));
  CHECK(contains(svg, ">params</text>"));
  CHECK(contains(svg, ">accuracy</text>"));
  CHECK(contains(svg, "Pareto front: accuracy vs params"));
  CHECK_FALSE(contains(front_plot_svg(nsga, nullptr, "run"), "random search"));
  CHECK(contains(front_plot_svg(random, nullptr, "run", "random"), "data-series=\"random search front\""));

  // Two metrics: the first two objectives.
  json two = {{"objectives", {"loss", "neg_accuracy"}},
              {"evaluated", {{{"objectives", {{"loss", 2.5}, {"neg_accuracy", -0.7}}}, {"feasible", true}}}},
              {"front", json::array()}};
  CHECK(contains(front_plot_svg(two, nullptr, "run"), "data-series=\"NSGA-II (all)\" data-x=\"2.5\" data-y=\"0.7\""));

  // Not a search result: IoError naming the file.
  json bad = {{"objectives", {"params"}}};
  CHECK_THROWS_WITH(front_plot_svg(bad, nullptr, "run"), Catch::Contains("run/points.json"));
  bad = {{"objectives", {"params", "loss"}}, {"evaluated", {{{"objectives", {{"params", 1}}}, {"feasible", true}}}}};
  CHECK_THROWS_AS(front_plot_svg(bad, nullptr, "run"), ptm::IoError);
}
