// The SVG plot code of reports: tick choice, number formats, escaping, the data a plot
// carries, the log scale, and a legend that stays out of the plot area.
#include "ptm/report/svg_plot.h"

#include <cmath>
#include <regex>

#include "catch.h"
#include "helpers.h"

using namespace ptm::report;
using ptm::test::contains;

TEST_CASE("axis ticks are 1-2-5 steps and decades", "[unit][report]") {
  CHECK(linear_ticks(0, 100, 6) == std::vector<double>{0, 20, 40, 60, 80, 100});
  CHECK(linear_ticks(0.13, 0.61, 5) == std::vector<double>{0.2, 0.3, 0.4, 0.5, 0.6});
  CHECK(linear_ticks(-1, 1, 4) == std::vector<double>{-1, -0.5, 0, 0.5, 1});
  CHECK(log_ticks(0.05, 200) == std::vector<double>{0.1, 1, 10, 100});
  CHECK(log_ticks(1.5, 30) == std::vector<double>{2, 5, 10, 20});  // under two decades: 1-2-5
  CHECK(tick_labels({0, 0.5, 1}) == std::vector<std::string>{"0", "0.5", "1"});
  CHECK(tick_labels({379.2e6, 379.4e6, 379.6e6}) == std::vector<std::string>{"379.2M", "379.4M", "379.6M"});
}

TEST_CASE("numbers and text are formatted for pages", "[unit][report]") {
  CHECK(format_number(2.345678, 4) == "2.346");
  CHECK(format_number(12345, 3, true) == "12.3k");
  CHECK(format_number(4.5e9, 2, true) == "4.5G");
  CHECK(format_number(NAN) == "-");
  CHECK(escape("a<b & \"c\"") == "a&lt;b &amp; &quot;c&quot;");
  CHECK(palette(0) != palette(1));
  CHECK(palette(10) == palette(0));
}

TEST_CASE("a line plot carries its data, picks a log scale for wide positive ranges, and keeps the legend below",
          "[unit][report]") {
  LinePlot p;
  p.title = "loss <train>";
  p.series.push_back({"run & a", "#123456", {{1, 10.0}, {2, NAN}, {3, 0.5}}, false});
  p.series.push_back({"b", "#654321", {{1, 2.0}, {3, 1.0}}, true});
  std::string svg = line_plot_svg(p);
  CHECK(contains(svg, "data-title=\"loss &lt;train&gt;\""));
  CHECK(contains(svg, "data-y-scale=\"log\""));  // 0.5 .. 10
  CHECK(contains(svg, "data-series=\"run &amp; a\" data-x=\"1 3\" data-y=\"10 0.5\""));  // NaN left out
  CHECK(contains(svg, "data-series=\"b\" data-x=\"1 3\" data-y=\"2 1\""));
  CHECK(contains(svg, "<circle"));  // markers of series b
  // The plot area ends at height - 42 (x axis labels below it); the legend comes after that.
  std::smatch m;
  REQUIRE(std::regex_search(svg, m, std::regex("<text x=\"[0-9.]+\" y=\"([0-9.]+)\" class=\"legend\">")));
  CHECK(std::stod(m[1]) > p.height - 42 + 30);
  p.y_scale = LinePlot::YScale::Linear;
  CHECK(contains(line_plot_svg(p), "data-y-scale=\"linear\""));
  p.series = {{"c", "#000", {{0, -1.0}, {5, 20.0}}, false}};  // not all positive: linear
  p.y_scale = LinePlot::YScale::Auto;
  CHECK(contains(line_plot_svg(p), "data-y-scale=\"linear\""));
  p.series = {};
  CHECK(contains(line_plot_svg(p), "no data"));
}

TEST_CASE("a scatter series draws markers without joining them", "[unit][report]") {
  LinePlot p;
  p.series.push_back({"scatter", "#111111", {{1, 2.0}, {3, 1.0}, {2, 5.0}}, true, false});
  p.series.push_back({"line", "#222222", {{1, 1.0}, {3, 3.0}}, false});
  const std::string svg = line_plot_svg(p);
  CHECK(contains(svg, "data-series=\"scatter\" data-x=\"1 3 2\" data-y=\"2 1 5\""));
  const size_t scatter = svg.find("data-series=\"scatter\""), line = svg.find("data-series=\"line\"");
  REQUIRE(line > scatter);
  const std::string group = svg.substr(scatter, line - scatter);
  CHECK_FALSE(contains(group, "<polyline"));
  size_t dots = 0;
  for (size_t at = group.find("<circle"); at != std::string::npos; at = group.find("<circle", at + 1)) ++dots;
  CHECK(dots == 3);
  CHECK(contains(svg.substr(line), "<polyline"));
  // Its legend entry is a marker, the line series' a stroke.
  CHECK(contains(svg, "r=\"3.5\" fill=\"#111111\""));
  CHECK(contains(svg, "stroke=\"#222222\" stroke-width=\"3\""));
}

TEST_CASE("a bar chart carries its values", "[unit][report]") {
  BarChart c;
  c.title = "step time";
  c.bars = {{"eager", 12.5, "#111"}, {"graph", 8.25, "#222"}};
  const std::string svg = bar_chart_svg(c);
  CHECK(contains(svg, "data-label=\"eager\" data-value=\"12.5\""));
  CHECK(contains(svg, "data-label=\"graph\" data-value=\"8.25\""));
}
