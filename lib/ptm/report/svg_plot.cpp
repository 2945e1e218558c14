// SVG line plots and bar charts drawn as text.
#include "ptm/report/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace ptm::report {
namespace {

std::string num(double v) {  // coordinates
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

std::string exact(double v) {  // data-* values
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

// A 1-2-2.5-5 step of about span/target as mantissa * 10^exponent.
std::pair<double, int> nice_step_parts(double span, int target) {
  const double raw = span / std::max(1, target);
  int e = static_cast<int>(std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0})
    if (raw <= m * std::pow(10.0, e) * (1 + 1e-12)) return {m, e};
  return {1.0, e + 1};
}

// k * m * 10^e, divided rather than multiplied by a negative power so that 0.3 is 0.3.
double scaled(double km, int e) { return e < 0 ? km / std::pow(10.0, -e) : km * std::pow(10.0, e); }

double nice_step(double span, int target) {
  const auto [m, e] = nice_step_parts(span, target);
  return scaled(m, e);
}

// The legend under the plot area: entries in rows; returns the SVG and the height it takes.
std::pair<std::string, int> legend(const std::vector<Series>& series, double left, double right, double top) {
  std::string out;
  double x = left, y = top + 12;
  int rows = series.empty() ? 0 : 1;
  for (const auto& s : series) {
    const double w = 26 + 6.5 * static_cast<double>(s.name.size()) + 16;
    if (x > left && x + w > right) {
      x = left;
      y += 18;
      ++rows;
    }
    if (s.line)
      out += "<line x1=\"" + num(x) + "\" y1=\"" + num(y - 4) + "\" x2=\"" + num(x + 20) + "\" y2=\"" + num(y - 4) +
             "\" stroke=\"" + escape(s.color) + "\" stroke-width=\"3\"/>";
    else  // a scatter series: its marker
      out += "<circle cx=\"" + num(x + 10) + "\" cy=\"" + num(y - 4) + "\" r=\"3.5\" fill=\"" + escape(s.color) + "\"/>";
    out += "<text x=\"" + num(x + 26) + "\" y=\"" + num(y) + "\" class=\"legend\">" + escape(s.name) + "</text>";
    x += w;
  }
  return {out, rows * 18 + (rows ? 6 : 0)};
}

}  // namespace

std::vector<std::string> tick_labels(const std::vector<double>& ticks) {
  std::vector<std::string> out;
  for (int digits = 3; digits <= 12; ++digits) {  // as few as keep neighbours apart (379.2M, 379.4M)
    out.clear();
    for (double t : ticks) out.push_back(format_number(t, digits, true));
    bool distinct = true;
    for (size_t i = 1; i < out.size(); ++i) distinct = distinct && out[i] != out[i - 1];
    if (distinct) break;
  }
  return out;
}

std::string palette(size_t i) {
  static const char* const kColors[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  return kColors[i % 10];
}

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string format_number(double v, int digits, bool si) {
  if (!std::isfinite(v)) return "-";
  char buf[48];
  const double a = std::fabs(v);
  if (si && a >= 1e3) {
    static const char* const kSuffix[] = {"k", "M", "G", "T", "P"};
    int k = 0;
    double x = v / 1e3;
    while (std::fabs(x) >= 1e3 && k < 4) {
      x /= 1e3;
      ++k;
    }
    std::snprintf(buf, sizeof(buf), "%.*g%s", digits, x, kSuffix[k]);
  } else {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
  }
  return buf;
}

std::vector<double> linear_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) return {lo};
  const auto [m, e] = nice_step_parts(hi - lo, target);
  const double step = scaled(m, e);
  std::vector<double> out;
  for (auto k = static_cast<long long>(std::ceil(lo / step - 1e-9)); scaled(static_cast<double>(k) * m, e) <= hi + step * 1e-9;
       ++k)
    out.push_back(scaled(static_cast<double>(k) * m, e));
  return out;
}

std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> out;
  if (!(lo > 0) || !(hi > lo)) return {lo};
  const bool fine = std::log10(hi / lo) < 2;
  for (int e = static_cast<int>(std::floor(std::log10(lo))); e <= static_cast<int>(std::ceil(std::log10(hi))); ++e)
    for (double m : fine ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
      const double t = m * std::pow(10.0, e);
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) out.push_back(t);
    }
  if (out.size() < 2) out = {lo, hi};  // within one 1-2-5 interval: label the ends
  return out;
}

std::string line_plot_svg(const LinePlot& p) {
  constexpr double kLeft = 64, kRight = 16, kTop = 30, kAxis = 42;
  double xlo = std::numeric_limits<double>::infinity(), xhi = -xlo, ylo = xlo, yhi = -xlo;
  bool all_positive = true;
  for (const auto& s : p.series)
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      xlo = std::min(xlo, x), xhi = std::max(xhi, x), ylo = std::min(ylo, y), yhi = std::max(yhi, y);
      all_positive = all_positive && y > 0;
    }
  const bool empty = !std::isfinite(ylo);
  const bool log_y = !empty && all_positive &&
                     (p.y_scale == LinePlot::YScale::Log || (p.y_scale == LinePlot::YScale::Auto && yhi >= 10 * ylo));
  if (p.x_range) xlo = p.x_range->first, xhi = p.x_range->second;
  if (empty) xlo = 0, xhi = 1, ylo = 0, yhi = 1;
  if (!(xhi > xlo)) xhi = xlo + 1;
  std::vector<double> yt;
  if (log_y) {
    ylo /= 1.05, yhi *= 1.05;
    yt = log_ticks(ylo, yhi);
  } else {
    if (!(yhi > ylo)) ylo -= std::max(1.0, std::fabs(ylo)) * 0.05, yhi += std::max(1.0, std::fabs(yhi)) * 0.05;
    const double step = nice_step(yhi - ylo, 5);
    ylo = std::floor(ylo / step) * step, yhi = std::ceil(yhi / step) * step;
    yt = linear_ticks(ylo, yhi, 5);
  }
  const auto xt = linear_ticks(xlo, xhi, 6);
  const double x0 = kLeft, x1 = p.width - kRight, y0 = kTop, y1 = p.height - kAxis;
  const auto [legend_svg, legend_h] = legend(p.series, x0, x1, y1 + kAxis);
  const double total_h = p.height + legend_h;
  const auto px = [&](double x) { return x0 + (x - xlo) / (xhi - xlo) * (x1 - x0); };
  const auto py = [&](double y) {
    const double f = log_y ? (std::log(y) - std::log(ylo)) / (std::log(yhi) - std::log(ylo)) : (y - ylo) / (yhi - ylo);
    return y1 - f * (y1 - y0);
  };

  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" viewBox=\"0 0 " +
                    std::to_string(p.width) + " " + num(total_h) + "\" role=\"img\" aria-label=\"" + escape(p.title) +
                    "\" data-title=\"" + escape(p.title) + "\" data-y-scale=\"" + (log_y ? "log" : "linear") + "\">";
  out += "<title>" + escape(p.title) + "</title>";
  out += "<text x=\"" + num(x0) + "\" y=\"18\" class=\"title\">" + escape(p.title) + "</text>";
  // Grid, ticks and labels.
  const auto ylabels = tick_labels(yt), xlabels = tick_labels(xt);
  for (size_t i = 0; i < yt.size(); ++i) {
    const double y = py(yt[i]);
    out += "<line x1=\"" + num(x0) + "\" y1=\"" + num(y) + "\" x2=\"" + num(x1) + "\" y2=\"" + num(y) +
           "\" class=\"grid\"/>";
    out += "<text x=\"" + num(x0 - 6) + "\" y=\"" + num(y + 4) + "\" class=\"tick\" text-anchor=\"end\">" +
           ylabels[i] + "</text>";
  }
  for (size_t i = 0; i < xt.size(); ++i) {
    const double x = px(xt[i]);
    out += "<line x1=\"" + num(x) + "\" y1=\"" + num(y0) + "\" x2=\"" + num(x) + "\" y2=\"" + num(y1) +
           "\" class=\"grid\"/>";
    out += "<text x=\"" + num(x) + "\" y=\"" + num(y1 + 16) + "\" class=\"tick\" text-anchor=\"middle\">" +
           xlabels[i] + "</text>";
  }
  out += "<rect x=\"" + num(x0) + "\" y=\"" + num(y0) + "\" width=\"" + num(x1 - x0) + "\" height=\"" + num(y1 - y0) +
         "\" class=\"frame\"/>";
  out += "<text x=\"" + num((x0 + x1) / 2) + "\" y=\"" + num(y1 + 34) + "\" class=\"label\" text-anchor=\"middle\">" +
         escape(p.x_label) + "</text>";
  if (!p.y_label.empty())
    out += "<text transform=\"translate(14 " + num((y0 + y1) / 2) + ") rotate(-90)\" class=\"label\" "
           "text-anchor=\"middle\">" + escape(p.y_label + (log_y ? " (log)" : "")) + "</text>";
  if (empty)
    out += "<text x=\"" + num((x0 + x1) / 2) + "\" y=\"" + num((y0 + y1) / 2) +
           "\" class=\"label\" text-anchor=\"middle\">no data</text>";
  // Series.
  for (const auto& s : p.series) {
    std::string pts, xs, ys, dots;
    for (const auto& [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y) || (log_y && y <= 0)) continue;
      pts += (pts.empty() ? "" : " ") + num(px(x)) + "," + num(py(y));
      xs += (xs.empty() ? "" : " ") + exact(x);
      ys += (ys.empty() ? "" : " ") + exact(y);
      if (s.markers) dots += "<circle cx=\"" + num(px(x)) + "\" cy=\"" + num(py(y)) + "\" r=\"2.5\"/>";
    }
    out += "<g class=\"series\" data-series=\"" + escape(s.name) + "\" data-x=\"" + xs + "\" data-y=\"" + ys +
           "\" stroke=\"" + escape(s.color) + "\" fill=\"" + escape(s.color) + "\">";
    if (!pts.empty() && s.line) out += "<polyline fill=\"none\" stroke-width=\"1.6\" points=\"" + pts + "\"/>";
    out += dots + "</g>";
  }
  out += legend_svg + "</svg>";
  return out;
}

std::string bar_chart_svg(const BarChart& c) {
  constexpr double kLabel = 180, kTop = 30, kRow = 24, kRight = 80;
  const double h = kTop + kRow * static_cast<double>(c.bars.size()) + 30;
  double hi = 0;
  for (const auto& b : c.bars)
    if (std::isfinite(b.value)) hi = std::max(hi, b.value);
  if (c.max_value && *c.max_value > 0) hi = std::max(hi, *c.max_value);
  if (!(hi > 0)) hi = 1;
  const double x0 = kLabel, x1 = c.width - kRight;
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" viewBox=\"0 0 " +
                    std::to_string(c.width) + " " + num(h) + "\" role=\"img\" aria-label=\"" + escape(c.title) +
                    "\" data-title=\"" + escape(c.title) + "\">";
  out += "<title>" + escape(c.title) + "</title>";
  out += "<text x=\"8\" y=\"18\" class=\"title\">" + escape(c.title) + "</text>";
  double y = kTop;
  for (const auto& b : c.bars) {
    const double w = std::isfinite(b.value) && b.value > 0 ? b.value / hi * (x1 - x0) : 0;
    out += "<text x=\"" + num(x0 - 6) + "\" y=\"" + num(y + 15) + "\" class=\"tick\" text-anchor=\"end\">" +
           escape(b.label) + "</text>";
    out += "<rect x=\"" + num(x0) + "\" y=\"" + num(y + 3) + "\" width=\"" + num(w) + "\" height=\"" + num(kRow - 6) +
           "\" fill=\"" + escape(b.color) + "\" data-label=\"" + escape(b.label) + "\" data-value=\"" +
           exact(b.value) + "\"/>";
    out += "<text x=\"" + num(x0 + w + 4) + "\" y=\"" + num(y + 15) + "\" class=\"tick\">" +
           format_number(b.value, 4, true) + "</text>";
    y += kRow;
  }
  out += "<text x=\"" + num((x0 + x1) / 2) + "\" y=\"" + num(h - 8) + "\" class=\"label\" text-anchor=\"middle\">" +
         escape(c.value_label) + "</text></svg>";
  return out;
}

}  // namespace ptm::report
