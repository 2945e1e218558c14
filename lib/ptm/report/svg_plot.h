// Inline SVG charts for self-contained HTML reports (no JavaScript, no network): line and
// scatter plots with axes, ticks, optional log scale and a legend below the plot area (it
// never covers the data), and horizontal bar charts. Each series carries its values as data-* attributes
// (data-x, data-y: space-separated, %.9g), so tests and scripts can check what is drawn.
// Shared by `ptm report` (training curves) and later prune/NAS/bench reports.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ptm::report {

struct Series {
  std::string name;   // legend text
  std::string color;  // CSS colour
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite y are skipped
  bool markers = false;  // a dot per point (few points, e.g. evaluations)
  bool line = true;      // false with markers: a scatter plot (points in the given order, unjoined)
};

struct LinePlot {
  std::string title;
  std::string x_label = "step";
  std::string y_label;
  std::vector<Series> series;
  std::optional<std::pair<double, double>> x_range;  // shared axes across plots; default: the data's
  enum class YScale { Linear, Log, Auto } y_scale = YScale::Auto;  // Auto: log when y > 0 spans >= 10x
  int width = 600, height = 320;  // SVG user units; the page scales it to its column
};

struct Bar {
  std::string label;
  double value = 0;
  std::string color;
};

struct BarChart {
  std::string title;
  std::string value_label;
  std::vector<Bar> bars;
  std::optional<double> max_value;  // the value of a full-width bar (1 for fractions); default: the largest
  int width = 600;
};

std::string line_plot_svg(const LinePlot& plot);
std::string bar_chart_svg(const BarChart& chart);

// The i-th colour of a palette that stays distinct for about 10 runs (Tableau 10).
std::string palette(size_t i);
// Text escaped for HTML/SVG content and attribute values.
std::string escape(const std::string& text);
// A number with `digits` significant digits, "-" for a non-finite value; large and small
// magnitudes with an SI suffix (12.3k, 4.5M, 1.2G) when `si`.
std::string format_number(double v, int digits = 4, bool si = false);

// Tick positions: 1-2-5 steps on a linear axis, powers of ten (and 2, 5 between them when
// the axis spans less than two decades) on a log axis.
std::vector<double> linear_ticks(double lo, double hi, int target = 6);
std::vector<double> log_ticks(double lo, double hi);
// Labels of ticks: format_number with SI suffixes and as few digits as keep them distinct.
std::vector<std::string> tick_labels(const std::vector<double>& ticks);

}  // namespace ptm::report
