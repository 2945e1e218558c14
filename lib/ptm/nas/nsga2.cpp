// Fast non-dominated sorting, crowding distance and hypervolume by slicing.
#include "ptm/nas/nsga2.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace ptm::nas {

bool dominates(const std::vector<double>& a, const std::vector<double>& b) {
  bool better = false;
  for (size_t k = 0; k < a.size() && k < b.size(); ++k) {
    if (a[k] > b[k]) return false;
    better = better || a[k] < b[k];
  }
  return better;
}

std::vector<std::vector<size_t>> non_dominated_sort(const std::vector<std::vector<double>>& points) {
  const size_t n = points.size();
  std::vector<std::vector<size_t>> dominated(n);  // whom i dominates
  std::vector<size_t> count(n, 0);                // how many dominate i
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j) {
      if (dominates(points[i], points[j])) dominated[i].push_back(j), ++count[j];
      else if (dominates(points[j], points[i])) dominated[j].push_back(i), ++count[i];
    }
  std::vector<std::vector<size_t>> fronts;
  std::vector<size_t> current;
  for (size_t i = 0; i < n; ++i)
    if (count[i] == 0) current.push_back(i);
  while (!current.empty()) {
    std::vector<size_t> next;
    for (size_t i : current)
      for (size_t j : dominated[i])
        if (--count[j] == 0) next.push_back(j);
    std::sort(next.begin(), next.end());
    fronts.push_back(std::move(current));
    current = std::move(next);
  }
  return fronts;
}

std::vector<double> crowding_distance(const std::vector<std::vector<double>>& points, const std::vector<size_t>& front) {
  const size_t n = front.size();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> d(n, 0.0);
  if (n <= 2) return std::vector<double>(n, inf);
  const size_t m = points[front[0]].size();
  std::vector<size_t> order(n);
  for (size_t k = 0; k < m; ++k) {
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return points[front[a]][k] < points[front[b]][k]; });
    const double lo = points[front[order.front()]][k], hi = points[front[order.back()]][k];
    d[order.front()] = d[order.back()] = inf;
    if (!(hi > lo)) continue;  // every member equal here: this objective says nothing
    for (size_t r = 1; r + 1 < n; ++r)
      d[order[r]] += (points[front[order[r + 1]]][k] - points[front[order[r - 1]]][k]) / (hi - lo);
  }
  return d;
}

namespace {

// Volume dominated by `pts` (all strictly inside the reference box) in the first `dims` objectives.
double volume(std::vector<std::vector<double>> pts, const std::vector<double>& ref, size_t dims) {
  if (pts.empty()) return 0.0;
  const size_t k = dims - 1;  // slice along the last objective
  if (dims == 1) {
    double best = ref[0];
    for (const auto& p : pts) best = std::min(best, p[0]);
    return ref[0] - best;
  }
  std::sort(pts.begin(), pts.end(), [k](const auto& a, const auto& b) { return a[k] < b[k]; });
  if (dims == 2) {  // sweep: x ascending along increasing y, each point adds the strip its x improves
    double total = 0, best_x = ref[0];
    for (size_t i = 0; i < pts.size(); ++i) {
      best_x = std::min(best_x, pts[i][0]);
      const double next_y = i + 1 < pts.size() ? pts[i + 1][1] : ref[1];
      total += (ref[0] - best_x) * (next_y - pts[i][1]);
    }
    return total;
  }
  double total = 0;
  for (size_t i = 0; i < pts.size(); ++i) {
    const double next = i + 1 < pts.size() ? pts[i + 1][k] : ref[k];
    if (next > pts[i][k])
      total += volume(std::vector<std::vector<double>>(pts.begin(), pts.begin() + static_cast<long>(i) + 1), ref, dims - 1) *
               (next - pts[i][k]);
  }
  return total;
}

}  // namespace

double hypervolume(const std::vector<std::vector<double>>& points, const std::vector<double>& reference) {
  if (reference.empty()) throw std::invalid_argument("hypervolume: empty reference point");
  std::vector<std::vector<double>> inside;
  for (const auto& p : points) {
    if (p.size() != reference.size())
      throw std::invalid_argument("hypervolume: a point has " + std::to_string(p.size()) + " objectives, the reference " +
                                  std::to_string(reference.size()));
    bool in = true;
    for (size_t k = 0; k < p.size(); ++k) in = in && p[k] < reference[k];  // NaN is never inside
    if (in) inside.push_back(p);
  }
  return volume(std::move(inside), reference, reference.size());
}

}  // namespace ptm::nas
