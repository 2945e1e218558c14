// The accuracy predictor in ptm nas search: a screen for NSGA-II offspring (nas::Screen) from
// a ridge regression of the metric on genome encodings, and how well it ranked each generation.
#pragma once
#include <cstddef>
#include <vector>

#include "ptm/models/model.h"
#include "ptm/nas/nas_config.h"
#include "ptm/nas/search.h"

namespace ptm::nas {

// Fits the predictor on every sub-network measured so far and keeps the best fronts of
// (predicted metric, exact parameter count), the last cut by crowding distance. Until
// `min_points` are measured it keeps the first candidates (the breeding order). `metric`: the
// objective's index; `model`: the super-network (parameter counts), which must outlive the screen.
Screen predictor_screen(const PredictorConfig& c, const SearchSpace& space, size_t metric, models::ModelImpl& model);

// For each generation g >= 1: Kendall's tau between the metric predicted from generations < g
// and the metric measured in g (NaN while fewer than min_points were measured before g).
std::vector<double> predictor_tau(const PredictorConfig& c, const SearchSpace& space, const SearchResult& r,
                                  size_t metric);

}  // namespace ptm::nas
