// A thread-safe word -> ids cache for the tokenizer models: sharded, each shard an
// open-addressing table over two arenas (no allocation per entry), cleared when full.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ptm::data {

uint64_t hash_bytes(std::string_view s);

class WordCache {
 public:
  // At most about `max_entries` words are kept; then a shard starts over.
  explicit WordCache(size_t max_entries = size_t{1} << 20);
  ~WordCache();
  WordCache(const WordCache&) = delete;
  WordCache& operator=(const WordCache&) = delete;

  // Appends the cached ids of `word` to `out` and returns true, or returns false.
  bool lookup(std::string_view word, uint64_t hash, std::vector<int32_t>& out) const;
  void insert(std::string_view word, uint64_t hash, const int32_t* ids, size_t count) const;

 private:
  struct Shard;
  static constexpr size_t kShards = 16;
  std::unique_ptr<Shard[]> shards_;
  size_t max_per_shard_;
};

}  // namespace ptm::data
