// Step-time statistics for `ptm bench`: percentiles (linear interpolation between order
// statistics, numpy's default) and a summary of a list of step times. Torch-free.
#pragma once
#include <vector>

namespace ptm::bench {

// The q-th percentile (q in [0, 100]) of `values`, as numpy.percentile(values, q) computes it:
// sorted values x[0..n-1], position p = q/100 * (n-1), result x[floor(p)] + frac(p) * (x[ceil(p)] - x[floor(p)]).
// 0 for an empty list.
double percentile(std::vector<double> values, double q);

struct Summary {
  double mean = 0, min = 0, max = 0, p50 = 0, p90 = 0, p99 = 0;
  int count = 0;
};

Summary summarize(const std::vector<double>& values);

}  // namespace ptm::bench
