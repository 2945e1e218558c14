// Data set "mixture": language-modelling windows drawn from several prepared folders in
// given proportions (recipe: data: {type: mixture, sources: [{path: DIR, weight: 0.7}, ...]}).
#pragma once
#include "ptm/data/dataset.h"

namespace ptm::data {

struct MixtureSource {
  std::string path;    // folder made by ptm data prepare
  double weight = 1;   // relative share of the windows (>= 0, not all 0)
  std::string name;    // label in the metrics (tokens_seen_<name>)
};

struct TokenMixtureOptions {
  std::vector<MixtureSource> sources;
  int64_t seq_len = 256;
};

std::unique_ptr<BatchStream> make_token_mixture(const TokenMixtureOptions& o, const StreamOptions& s);
StreamBuilder token_mixture_factory(config::Section& s);

}  // namespace ptm::data
