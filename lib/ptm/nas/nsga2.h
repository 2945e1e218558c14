// The multi-objective parts of NSGA-II (Deb et al. 2002) and the hypervolume indicator.
// All objectives are minimised; a caller maximising accuracy passes its negation.
#pragma once
#include <cstddef>
#include <vector>

namespace ptm::nas {

// True when a is no worse than b in every objective and better in at least one.
bool dominates(const std::vector<double>& a, const std::vector<double>& b);

// Fronts of indices into `points`, front 0 (the non-dominated points) first; indices ascend
// within a front. Equal points share a front.
std::vector<std::vector<size_t>> non_dominated_sort(const std::vector<std::vector<double>>& points);

// Crowding distance of each member of `front` (aligned with it): per objective, the gap between
// its neighbours divided by the front's range in that objective, summed; the extremes of any
// objective get +inf (so do all members of a front of two or fewer).
std::vector<double> crowding_distance(const std::vector<std::vector<double>>& points, const std::vector<size_t>& front);

// The volume dominated by `points` and bounded by `reference` (exact, by slicing, for any
// number of objectives; meant for 2 and 3). Points not strictly better than the reference in
// every objective add nothing and are ignored. std::invalid_argument on mismatched sizes.
double hypervolume(const std::vector<std::vector<double>>& points, const std::vector<double>& reference);

}  // namespace ptm::nas
