// Exact and MinHash/LSH near-duplicate detection (see dedup.h).
#include "ptm/data/dedup.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PTM_MINHASH_AVX512 1
#endif

#include "ptm/core/errors.h"
#include "ptm/core/splitmix.h"

namespace ptm::data {
namespace {

// Whitespace as the C locale's isspace has it (the words of a document), without its call.
inline bool is_space(char ch) { return ch == ' ' || (ch >= '\t' && ch <= '\r'); }

// mins[i] = min(mins[i], (a[i] * x + b[i]) >> 32) over the shingle hashes x in xs, for
// i < n: most of the time near deduplication takes. Integer arithmetic: every version gives
// the same values.
void min_hashes_scalar(const uint64_t* a, const uint64_t* b, uint32_t* mins, size_t n, const uint64_t* xs,
                       size_t nx) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t m = mins[i];
    for (size_t k = 0; k < nx; ++k) {
      const auto v = static_cast<uint32_t>((a[i] * xs[k] + b[i]) >> 32);
      if (v < m) m = v;
    }
    mins[i] = m;
  }
}

#ifdef PTM_MINHASH_AVX512
// Eight 64-bit products at a time (AVX-512DQ's vpmullq), picked at run time.
__attribute__((target("avx512f,avx512dq,avx512vl"))) void min_hashes_avx512(const uint64_t* a, const uint64_t* b,
                                                                            uint32_t* mins, size_t n,
                                                                            const uint64_t* xs, size_t nx) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m512i va = _mm512_loadu_si512(a + i), vb = _mm512_loadu_si512(b + i);
    auto* m = reinterpret_cast<__m256i*>(mins + i);
    __m256i vm = _mm256_loadu_si256(m);
    for (size_t k = 0; k < nx; ++k) {
      const __m512i h = _mm512_add_epi64(_mm512_mullo_epi64(va, _mm512_set1_epi64(static_cast<long long>(xs[k]))), vb);
      // The masked forms: GCC 12 warns about the undefined operand of the unmasked ones.
      vm = _mm256_min_epu32(vm, _mm512_maskz_cvtepi64_epi32(0xFF, _mm512_maskz_srli_epi64(0xFF, h, 32)));
    }
    _mm256_storeu_si256(m, vm);
  }
  min_hashes_scalar(a + i, b + i, mins + i, n - i, xs, nx);
}
#endif

using MinHashes = void (*)(const uint64_t*, const uint64_t*, uint32_t*, size_t, const uint64_t*, size_t);
MinHashes pick_min_hashes() {
#ifdef PTM_MINHASH_AVX512
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return min_hashes_avx512;
#endif
  return min_hashes_scalar;
}
const MinHashes min_hashes = pick_min_hashes();

// A shingle's hash: splitmix64(h ^ word) chained over its words, oldest first. For the
// shingles of `k` words ending at w[first..m), four chains at a time (each is a run of
// dependent multiplies; side by side they overlap).
void shingle_hashes(const uint64_t* w, size_t m, size_t k, size_t first, std::vector<uint64_t>& out) {
  size_t e = first;
  for (; e + 4 <= m; e += 4) {
    const uint64_t* p = w + e + 1 - k;
    uint64_t h0 = 0, h1 = 0, h2 = 0, h3 = 0;
    for (size_t j = 0; j < k; ++j) {
      h0 = splitmix64(h0 ^ p[j]);
      h1 = splitmix64(h1 ^ p[j + 1]);
      h2 = splitmix64(h2 ^ p[j + 2]);
      h3 = splitmix64(h3 ^ p[j + 3]);
    }
    out.insert(out.end(), {h0, h1, h2, h3});
  }
  for (; e < m; ++e) {
    uint64_t h = 0;
    for (size_t j = e + 1 - k; j <= e; ++j) h = splitmix64(h ^ w[j]);
    out.push_back(h);
  }
}

// Words ended by DocumentHasher::end_word whose shingles are not taken yet (a hasher is used
// by one thread at a time and takes them before feed() or finish() returns), and scratch.
constexpr size_t kWordBatch = 4096;
thread_local std::vector<uint64_t> t_words, t_window, t_shingles;

// Takes the words in t_words: into the ring of the last `ring.size()` words (word number c at
// ring[c % size]) and, with the words before them, into the shingles' minimums.
void take_words(std::vector<uint64_t>& ring, uint64_t& count, const std::vector<uint64_t>& a,
                const std::vector<uint64_t>& b, std::vector<uint32_t>& mins) {
  if (t_words.empty()) return;
  const size_t n = ring.size();
  const size_t before = static_cast<size_t>(std::min<uint64_t>(count, n - 1));
  t_window.clear();
  for (uint64_t c = count - before; c < count; ++c) t_window.push_back(ring[c % n]);
  for (const uint64_t w : t_words) {
    t_window.push_back(w);
    ring[count++ % n] = w;
  }
  t_words.clear();
  t_shingles.clear();
  shingle_hashes(t_window.data(), t_window.size(), n, std::max(before, n - 1), t_shingles);
  if (!t_shingles.empty()) min_hashes(a.data(), b.data(), mins.data(), mins.size(), t_shingles.data(), t_shingles.size());
}

}  // namespace

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

void DocumentHasher::add_shingle(uint64_t x) { min_hashes(a_.data(), b_.data(), mins_.data(), mins_.size(), &x, 1); }

// Words are taken in batches (take_words): the shingles' hashes side by side, and each
// minimum updated by a batch at once.
void DocumentHasher::end_word() {
  in_word_ = false;
  if (!c_.near) return;
  t_words.push_back(splitmix64(word_));
  word_ = 0;
  if (t_words.size() == kWordBatch) take_words(words_, count_, a_, b_, mins_);
}

// The exact hash sees the words joined by single spaces, so documents that differ only in
// whitespace are exact duplicates. They are gathered first: one SHA-256 update per call.
void DocumentHasher::feed(std::string_view text) {
  std::string joined;
  joined.reserve(text.size() + 1);
  for (size_t i = 0; i < text.size();) {
    if (is_space(text[i])) {
      if (in_word_) end_word();
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && !is_space(text[j])) ++j;
    if (!in_word_ && any_word_) joined += ' ';
    any_word_ = in_word_ = true;
    joined.append(text.data() + i, j - i);
    if (c_.near)
      for (size_t k = i; k < j; ++k) {
        word_ = (word_ ^ static_cast<unsigned char>(text[k])) * 0x100000001b3ull;  // FNV-1a
        if (word_ == 0) word_ = 1;
      }
    i = j;
  }
  sha_.update(joined);
  if (c_.near) take_words(words_, count_, a_, b_, mins_);
}

DocumentHasher::Result DocumentHasher::finish() {
  Result r;
  if (c_.near) {
    if (in_word_) end_word();
    take_words(words_, count_, a_, b_, mins_);
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
