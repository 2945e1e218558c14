// One split of a prepared folder (ptm data prepare) as one sequence of tokens: its shards
// concatenated, ids checked against the manifest's vocabulary. Shared by the "tokens" and
// "mixture" data sets. Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ptm/data/manifest.h"
#include "ptm/data/shard.h"

namespace ptm::data {

class TokenSplit {
 public:
  // IoError when the manifest, a shard or the split is missing or damaged, or an id is not
  // below the manifest's vocab_size.
  TokenSplit(const std::string& dir, const std::string& split);

  int64_t size() const { return total_; }
  int64_t vocab_size() const { return manifest_.vocab_size; }
  size_t shards() const { return shards_.size(); }
  const Manifest& manifest() const { return manifest_; }
  // Copies tokens [start, start+n) of the concatenated shards, widened to int64.
  void copy(int64_t start, int64_t n, int64_t* out) const;

 private:
  Manifest manifest_;
  std::vector<ShardReader> shards_;
  std::vector<int64_t> starts_;
  int64_t total_ = 0;
};

}  // namespace ptm::data
