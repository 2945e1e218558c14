// Exact and MinHash/LSH near-duplicate detection (see dedup.h).
#include "ptm/data/dedup.h"

#include <unistd.h>

#include <cctype>
#include <cstring>
#include <limits>

#include "ptm/core/errors.h"
#include "ptm/core/splitmix.h"

namespace ptm::data {

void bind(config::Section& s, DedupConfig& c) {
  s.opt("exact", c.exact, "drop documents whose bytes equal an earlier document's");
  s.opt("near", c.near, "drop near duplicates of earlier kept documents (MinHash/LSH)");
  s.opt("shingle", c.shingle, "words per shingle").min(1).max(64);
  s.opt("threshold", c.threshold, "estimated Jaccard similarity at which a document is a near duplicate").min(0.01).max(1.0);
  s.opt("bands", c.bands, "LSH bands").min(1).max(1024);
  s.opt("rows", c.rows, "MinHash values per band").min(1).max(64);
  s.opt("seed", c.seed, "seed of the MinHash permutations").min(0);
  s.finish();
}

DocumentHasher::DocumentHasher(const DedupConfig& c) : c_(c) {
  if (c.near) {
    const size_t n = static_cast<size_t>(c.bands) * static_cast<size_t>(c.rows);
    for (size_t i = 0; i < n; ++i) {
      a_.push_back(splitmix64(static_cast<uint64_t>(c.seed) * 0x9e3779b97f4a7c15ull + 2 * i) | 1u);
      b_.push_back(splitmix64(static_cast<uint64_t>(c.seed) * 0x9e3779b97f4a7c15ull + 2 * i + 1));
    }
    mins_.assign(n, std::numeric_limits<uint32_t>::max());
    words_.assign(static_cast<size_t>(c.shingle), 0);
  }
}

void DocumentHasher::add_shingle(uint64_t x) {
  for (size_t i = 0; i < mins_.size(); ++i) {
    const auto v = static_cast<uint32_t>((a_[i] * x + b_[i]) >> 32);
    if (v < mins_[i]) mins_[i] = v;
  }
}

void DocumentHasher::end_word() {
  in_word_ = false;
  if (!c_.near) return;
  const size_t n = words_.size();
  words_[count_ % n] = splitmix64(word_);
  ++count_;
  word_ = 0;
  if (count_ < n) return;
  uint64_t h = 0;
  for (size_t k = 0; k < n; ++k) h = splitmix64(h ^ words_[(count_ + k) % n]);  // oldest word first
  add_shingle(h);
}

// The exact hash sees the words joined by single spaces, so documents that differ only in
// whitespace are exact duplicates.
void DocumentHasher::feed(std::string_view text) {
  auto space = [](char ch) { return std::isspace(static_cast<unsigned char>(ch)) != 0; };
  for (size_t i = 0; i < text.size();) {
    if (space(text[i])) {
      if (in_word_) end_word();
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && !space(text[j])) ++j;
    if (!in_word_ && any_word_) sha_.update(std::string_view(" "));
    any_word_ = in_word_ = true;
    sha_.update(text.substr(i, j - i));
    if (c_.near)
      for (size_t k = i; k < j; ++k) {
        word_ = (word_ ^ static_cast<unsigned char>(text[k])) * 0x100000001b3ull;  // FNV-1a
        if (word_ == 0) word_ = 1;
      }
    i = j;
  }
}

DocumentHasher::Result DocumentHasher::finish() {
  Result r;
  if (c_.near) {
    if (in_word_) end_word();
    const size_t n = words_.size();
    if (count_ > 0 && count_ < n) {  // fewer words than a shingle: all of them are one
      uint64_t h = 0;
      for (size_t k = 0; k < count_; ++k) h = splitmix64(h ^ words_[k]);
      add_shingle(h);
    }
    r.signature = mins_;
    mins_.assign(mins_.size(), std::numeric_limits<uint32_t>::max());
    count_ = 0;
    word_ = 0;
  }
  in_word_ = any_word_ = false;
  const auto hex = sha_.hex();
  r.exact = {std::stoull(hex.substr(0, 16), nullptr, 16), std::stoull(hex.substr(16, 16), nullptr, 16)};
  sha_ = Sha256();
  return r;
}

Deduplicator::Deduplicator(const DedupConfig& c) : c_(c) {
  if (c.near && !(signatures_ = std::tmpfile())) throw IoError("cannot create a temporary file for MinHash signatures");
}

Deduplicator::~Deduplicator() {
  if (signatures_) std::fclose(signatures_);
}

double Deduplicator::agreement(const std::vector<uint32_t>& sig, uint32_t kept) {
  std::vector<uint32_t> other(sig.size());
  const size_t bytes = sig.size() * sizeof(uint32_t);
  std::fflush(signatures_);
  if (::pread(fileno(signatures_), other.data(), bytes, static_cast<off_t>(kept) * static_cast<off_t>(bytes)) !=
      static_cast<ssize_t>(bytes))
    throw IoError("cannot read back a MinHash signature from the temporary file");
  size_t same = 0;
  for (size_t i = 0; i < sig.size(); ++i) same += sig[i] == other[i];
  return static_cast<double>(same) / static_cast<double>(sig.size());
}

Deduplicator::Verdict Deduplicator::add(const DocumentHasher::Result& h) {
  if (c_.exact && !seen_.insert(h.exact).second) {
    ++exact_;
    return Verdict::kExact;
  }
  if (!c_.near) return Verdict::kKeep;
  const size_t rows = static_cast<size_t>(c_.rows);
  std::vector<uint64_t> keys(static_cast<size_t>(c_.bands));
  std::unordered_set<uint32_t> checked;  // a candidate found in several bands is compared once
  for (size_t b = 0; b < keys.size(); ++b) {
    uint64_t k = splitmix64(b + 1);
    for (size_t r = 0; r < rows; ++r) k = splitmix64(k ^ h.signature[b * rows + r]);
    keys[b] = k;
    const auto [lo, hi] = buckets_.equal_range(k);
    for (auto it = lo; it != hi; ++it)
      if (checked.insert(it->second).second && agreement(h.signature, it->second) >= c_.threshold) {
        ++near_;
        return Verdict::kNear;
      }
  }
  for (const auto k : keys) buckets_.emplace(k, kept_);
  if (std::fwrite(h.signature.data(), sizeof(uint32_t), h.signature.size(), signatures_) != h.signature.size())
    throw IoError("cannot write MinHash signatures to the temporary file");
  ++kept_;
  return Verdict::kKeep;
}

}  // namespace ptm::data
