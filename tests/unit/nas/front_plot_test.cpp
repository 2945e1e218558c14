// The front plot draws what the results hold: fronts sorted along x, negated objectives shown
// as maximised values, infeasible points left out, the baseline beside the search.
#include "ptm/nas/front_plot.h"

#include "catch.h"
#include "helpers.h"

using namespace ptm::nas;
using ptm::test::contains;

namespace {

EvaluatedPoint point(const std::string& genome, std::vector<double> objectives, bool feasible = true) {
  EvaluatedPoint p;
  p.genome = Genome::parse(genome, "test");
  p.eval.objectives = std::move(objectives);
  p.eval.feasible = feasible;
  return p;
}

}  // namespace

TEST_CASE("a front plot shows both searches' points and fronts in the chosen objectives", "[unit][nas]") {
  SearchResult nsga, random;
  // Objectives: (params, -accuracy, latency); plotted: params against accuracy.
  nsga.evaluated = {point("4/64", {300, -0.9, 7}), point("1/64", {100, -0.5, 2}), point("2/64", {200, -0.4, 3}),
                    point("8/64", {900, -0.95, 9}, false)};
  nsga.front = {0, 1};
  random.evaluated = {point("2/32", {150, -0.3, 1})};
  random.front = {0};
  FrontPlotOptions o;
  o.objective_names = {"parameters", "accuracy", "latency"};
  o.negate = {false, true, false};
  const std::string svg = front_plot_svg(nsga, &random, o);
  CHECK(contains(svg, "data-series=\"NSGA-II front\" data-x=\"100 300\" data-y=\"0.5 0.9\""));
  CHECK(contains(svg, "data-series=\"NSGA-II (all)\" data-x=\"300 100 200\" data-y=\"0.9 0.5 0.4\""));
  CHECK(contains(svg, "data-series=\"random search front\" data-x=\"150\" data-y=\"0.3\""));
  CHECK(contains(svg, ">parameters</text>"));
  CHECK(contains(svg, ">accuracy</text>"));
  o.y = 2;
  CHECK(contains(front_plot_svg(nsga, nullptr, o), "data-series=\"NSGA-II front\" data-x=\"100 300\" data-y=\"2 7\""));
  CHECK_FALSE(contains(front_plot_svg(nsga, nullptr, o), "random search"));
  o.y = 3;
  CHECK_THROWS_AS(front_plot_svg(nsga, nullptr, o), std::invalid_argument);
}
