// The shards of one split, read as one sequence (see token_split.h).
#include "ptm/data/token_split.h"

#include <algorithm>

namespace ptm::data {

TokenSplit::TokenSplit(const std::string& dir, const std::string& split) : manifest_(read_manifest(dir)) {
  for (const auto& sh : manifest_.shards(split)) {
    shards_.emplace_back(sh.file);
    shards_.back().check_ids(manifest_.vocab_size, manifest_.path);  // now, not as "index out of range" in training
    starts_.push_back(total_);
    total_ += shards_.back().size();
  }
}

void TokenSplit::copy(int64_t start, int64_t n, int64_t* out) const {
  size_t k = std::upper_bound(starts_.begin(), starts_.end(), start) - starts_.begin() - 1;
  while (n > 0) {
    const int64_t off = start - starts_[k];
    const int64_t take = std::min(n, shards_[k].size() - off);
    shards_[k].read(off, take, out);
    out += take; start += take; n -= take; ++k;
  }
}

}  // namespace ptm::data
