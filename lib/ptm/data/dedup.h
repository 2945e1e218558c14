// Deduplication for `ptm data prepare` (recipe key `dedup:`), decided in corpus order so that
// the same corpus and seed always keep the same documents:
//   exact: a document whose text equals an earlier document's, whitespace runs counted as one
//          space and leading/trailing whitespace ignored (128 bits of SHA-256), is dropped
//   near:  MinHash over word shingles (`shingle` whitespace-separated words; a document with
//          fewer words is one shingle), LSH with `bands` x `rows` values; a document sharing a
//          band with an earlier kept one whose signatures agree on >= `threshold` of the values
//          (the estimated Jaccard similarity) is dropped. Every kept document in a shared band
//          is a candidate, so `bands` and `rows` trade speed for recall, not precision.
// Memory: about 40 bytes per document (exact) and per kept document and band (LSH
// buckets); the signatures of kept documents go to an anonymous temporary file. Torch-free.
#pragma once
#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ptm/config/binder.h"
#include "ptm/core/sha256.h"

namespace ptm::data {

struct DedupConfig {
  bool exact = false;
  bool near = false;
  int shingle = 5;
  double threshold = 0.8;
  int bands = 16, rows = 8;
  int64_t seed = 1;
  bool any() const { return exact || near; }
};

void bind(config::Section& s, DedupConfig& c);

// A document's exact hash and MinHash signature, fed in pieces: any cut gives the same result.
class DocumentHasher {
 public:
  explicit DocumentHasher(const DedupConfig& c);
  void feed(std::string_view text);
  struct Result {
    std::array<uint64_t, 2> exact{};
    std::vector<uint32_t> signature;  // empty unless near deduplication is on
  };
  Result finish();  // then the hasher starts a new document

 private:
  void end_word();
  void add_shingle(uint64_t h);
  const DedupConfig& c_;
  std::vector<uint64_t> a_, b_;  // the permutations: (a*x + b) >> 32, a odd
  Sha256 sha_;
  std::vector<uint32_t> mins_;
  std::vector<uint64_t> words_;  // the last `shingle` word hashes (a ring)
  uint64_t word_ = 0, count_ = 0;
  bool in_word_ = false, any_word_ = false;
};

class Deduplicator {
 public:
  explicit Deduplicator(const DedupConfig& c);
  ~Deduplicator();
  Deduplicator(const Deduplicator&) = delete;
  Deduplicator& operator=(const Deduplicator&) = delete;

  enum class Verdict { kKeep, kExact, kNear };
  // The verdict on the next document in corpus order.
  Verdict add(const DocumentHasher::Result& h);
  int64_t exact_dropped() const { return exact_; }
  int64_t near_dropped() const { return near_; }

 private:
  struct Hash128 {
    size_t operator()(const std::array<uint64_t, 2>& h) const { return static_cast<size_t>(h[0]); }
  };
  double agreement(const std::vector<uint32_t>& sig, uint32_t kept);
  const DedupConfig& c_;
  std::unordered_set<std::array<uint64_t, 2>, Hash128> seen_;
  std::unordered_multimap<uint64_t, uint32_t> buckets_;  // band hash -> the kept documents there
  std::FILE* signatures_ = nullptr;                 // kept documents' signatures, in order
  uint32_t kept_ = 0;
  int64_t exact_ = 0, near_ = 0;
};

}  // namespace ptm::data
