// Reading a corpus for `ptm data prepare` (see prepare.h): pass 1 scans every file once
// (hashes, document counts, length filter, deduplication, the tokenizer's sample, the
// mixture's plan) on all cores; pass 2 reads the kept documents again, in order, as pieces to
// encode.
// Torch-free.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptm/core/log.h"
#include "ptm/data/mixture.h"
#include "ptm/data/prepare.h"

namespace ptm::data::prep {

using Clock = std::chrono::steady_clock;
constexpr size_t kChunk = size_t{1} << 18;  // target piece size (see chunks_of)
constexpr size_t kMaxSources = 62;          // weighted sources (one character each in scan.json)

bool keep_document(const PrepareConfig& c, size_t bytes);  // the length filter
std::string mb(double bytes);                               // "12.3" (MB)
int prepare_threads(const PrepareConfig& c);                // `threads`, 0 meaning all cores

// A console line every few seconds: bytes done of a total, MB/s and the time left.
class Progress {
 public:
  Progress(std::string what, int64_t total) : what_(std::move(what)), total_(total), t0_(Clock::now()), last_(t0_) {}
  void update(int64_t done) {
    const auto now = Clock::now();
    if (now - last_ < std::chrono::seconds(2)) return;
    last_ = now;
    const double s = std::chrono::duration<double>(now - t0_).count();
    const double rate = static_cast<double>(done) / std::max(s, 1e-9);
    char line[160];
    std::snprintf(line, sizeof(line), "prepare: %s %s / %s MB (%.0f%%), %.1f MB/s, ETA %.0f s", what_.c_str(),
                  mb(static_cast<double>(done)).c_str(), mb(static_cast<double>(total_)).c_str(),
                  100.0 * static_cast<double>(done) / static_cast<double>(std::max<int64_t>(total_, 1)), rate / 1e6,
                  rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0);
    log::info(line);
  }

 private:
  std::string what_;
  int64_t total_;
  Clock::time_point t0_, last_;
};

// What the first pass learns about each file.
struct FileInfo {
  std::string path, sha256;
  int64_t bytes = 0;      // on disk
  int64_t documents = 0;  // parsed
  int64_t candidates = 0; // passed the length filter
  int64_t kept = 0;       // and deduplication
  int64_t text_bytes = 0; // decompressed
  int component = 0;      // the weighted source it belongs to (0 without weights)
  int64_t cand_base = 0;  // candidates in the files before it (index into Scan::duplicate)
};
struct Scan {
  std::vector<FileInfo> files;
  int64_t documents = 0, text_bytes = 0;  // documents going to the shards and their bytes
  int64_t dropped_length = 0, dropped_exact = 0, dropped_near = 0;
  // Read with invalid UTF-8 (see PrepareResult), and of those dropped (invalid_utf8: skip).
  int64_t invalid_utf8_documents = 0, invalid_utf8_sequences = 0, dropped_invalid_utf8 = 0;
  std::vector<bool> duplicate;  // per candidate (deduplication on): dropped as a duplicate
  MixturePlan mix;              // with weights: the interleave of the sources
};

nlohmann::json to_json(const Scan& s);
Scan scan_from_json(const nlohmann::json& j);
void set_candidate_bases(Scan& s);  // FileInfo::cand_base from the files' candidates

// Pass 1 (prepare_scan.cpp): every file once, hashing it, counting documents, deduplicating,
// keeping the tokenizer's sample (whole kept documents, in corpus order, until
// `tokenizer_train_bytes`; with weights, each source gives its weight's share of it) when
// `sample` is given. With weights, plans the mixture from the kept documents' sizes. Runs on
// `threads` cores with `memory_mb` bounding the text in flight; the result does not depend on
// the number of threads.
Scan scan_files(const std::vector<std::vector<std::string>>& sources, const PrepareConfig& c,
                std::vector<std::string>* sample);

struct Piece {
  std::string text;
  int64_t doc = 0;  // index among the documents going to the shards
  int source = 0;   // the weighted source (0 without weights)
  bool first = false, last = false;
};

class DocCursor;

// Pass 2's reader: the pieces of the documents going to the shards, in order (the mixture's,
// with weights), from document `from` on.
class PieceReader {
 public:
  PieceReader(const PrepareConfig& c, const Scan& scan, int64_t from);
  ~PieceReader();

  std::vector<Piece> batch(size_t bytes) {
    std::vector<Piece> out;
    size_t n = 0;
    Piece p;
    while (n < bytes && next(p)) {
      n += p.text.size();
      bytes_ += static_cast<int64_t>(p.text.size());
      out.push_back(std::move(p));
    }
    return out;
  }
  int64_t bytes() const { return bytes_; }

 private:
  bool next(Piece& p);

  const Scan& scan_;
  std::vector<std::unique_ptr<DocCursor>> cursors_;
  int64_t doc_ = 0, bytes_ = 0;
  int source_ = 0;
  bool in_doc_ = false, first_ = false;
};

}  // namespace ptm::data::prep
