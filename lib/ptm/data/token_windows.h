// Data set "tokens": language-modelling windows from prepared token shards.
#pragma once
#include "ptm/data/dataset.h"

namespace ptm::data {

struct TokenWindowsOptions {
  std::string path;      // folder with manifest.json and shards
  int64_t seq_len = 256;
};

std::unique_ptr<BatchStream> make_token_windows(const TokenWindowsOptions& o, const StreamOptions& s);
StreamBuilder token_windows_factory(config::Section& s);

}  // namespace ptm::data
