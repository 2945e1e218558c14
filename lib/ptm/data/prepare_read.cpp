// scan.json and pass 2's reader of `ptm data prepare` (see prepare_read.h; pass 1 itself is in
// prepare_scan.cpp).
#include "ptm/data/prepare_read.h"

#include <cstdio>
#include <deque>
#include <string_view>

#include "ptm/core/errors.h"
#include "ptm/data/byte_source.h"
#include "ptm/data/doc_stream.h"

namespace ptm::data::prep {
namespace {

// The mixture order as text for scan.json: one character per document.
constexpr char kSourceDigits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
static_assert(sizeof(kSourceDigits) - 1 == kMaxSources);

}  // namespace

void set_candidate_bases(Scan& s) {
  int64_t base = 0;
  for (auto& f : s.files) {
    f.cand_base = base;
    base += f.candidates;
  }
}

bool keep_document(const PrepareConfig& c, size_t bytes) {
  const auto n = static_cast<int64_t>(bytes);
  return n >= c.min_document_bytes && (c.max_document_bytes == 0 || n <= c.max_document_bytes);
}

std::string mb(double bytes) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.1f", bytes / 1e6);
  return b;
}

nlohmann::json to_json(const Scan& s) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : s.files)
    files.push_back({{"path", f.path}, {"sha256", f.sha256}, {"bytes", f.bytes}, {"documents", f.documents},
                     {"candidates", f.candidates}, {"kept", f.kept}, {"text_bytes", f.text_bytes},
                     {"component", f.component}});
  std::string dup;  // one character per candidate: '1' for a dropped duplicate
  for (const bool b : s.duplicate) dup += b ? '1' : '0';
  std::string order;
  for (const uint8_t k : s.mix.order) order += kSourceDigits[k];
  return {{"files", files}, {"documents", s.documents}, {"text_bytes", s.text_bytes},
          {"dropped", {s.dropped_length, s.dropped_exact, s.dropped_near}}, {"duplicate", dup},
          {"invalid_utf8", {s.invalid_utf8_documents, s.invalid_utf8_sequences, s.dropped_invalid_utf8}},
          {"mixture", {{"order", order}, {"documents", s.mix.documents}, {"bytes", s.mix.bytes}}}};
}

Scan scan_from_json(const nlohmann::json& j) {
  Scan s;
  for (const auto& f : j.at("files"))
    s.files.push_back({f.at("path"), f.at("sha256"), f.at("bytes"), f.at("documents"), f.at("candidates"),
                       f.at("kept"), f.at("text_bytes"), f.at("component"), 0});
  set_candidate_bases(s);
  s.documents = j.at("documents");
  s.text_bytes = j.at("text_bytes");
  s.dropped_length = j.at("dropped").at(0);
  s.dropped_exact = j.at("dropped").at(1);
  s.dropped_near = j.at("dropped").at(2);
  s.invalid_utf8_documents = j.at("invalid_utf8").at(0);
  s.invalid_utf8_sequences = j.at("invalid_utf8").at(1);
  s.dropped_invalid_utf8 = j.at("invalid_utf8").at(2);
  for (const char ch : j.at("duplicate").get<std::string>()) s.duplicate.push_back(ch == '1');
  const auto& m = j.at("mixture");
  for (const char ch : m.at("order").get<std::string>())
    s.mix.order.push_back(static_cast<uint8_t>(std::string_view(kSourceDigits).find(ch)));
  s.mix.documents = m.at("documents").get<std::vector<int64_t>>();
  s.mix.bytes = m.at("bytes").get<std::vector<int64_t>>();
  return s;
}

// The kept documents of some files (one weighted source, or all), read again in order.
class DocCursor {
 public:
  DocCursor(const PrepareConfig& c, const Scan& scan, std::vector<size_t> files)
      : c_(c), scan_(scan), files_(std::move(files)) {}

  // Passes over the next `n` kept documents (whole files without reading them).
  void skip(int64_t n) {
    std::string text;
    while (n > 0 && fi_ < files_.size()) {
      const auto& f = file();
      if (!records_) {
        if (f.kept <= n) {
          n -= f.kept;
          ++fi_;
          continue;
        }
        open();  // a JSONL/TSV file: a text file holds one document, skipped whole above
      }
      if (next_record(text)) --n;
      else close();
    }
  }
  // Starts the next kept document; false when there is none.
  bool start() {
    std::string text;
    for (;;) {
      if (records_) {
        if (next_record(text)) {
          for (const auto part : chunks_of(text, kChunk)) pending_.emplace_back(part);
          return true;
        }
        close();
        continue;
      }
      if (fi_ == files_.size()) return false;
      if (file().kept == 0) {
        ++fi_;
        continue;
      }
      open();
      if (chunker_) return true;
    }
  }
  // The next piece of the started document; `last` on its last one.
  bool piece(std::string& text, bool& last) {
    if (!pending_.empty()) {
      text = std::move(pending_.front());
      pending_.pop_front();
      last = pending_.empty();
      return true;
    }
    if (!chunker_ || !chunker_->next(text)) return false;
    last = chunker_->done();
    if (last) close();
    return true;
  }

 private:
  const FileInfo& file() const { return scan_.files[files_[fi_]]; }
  void open() {
    src_ = std::make_unique<ByteSource>(file().path);
    if (c_.format == "text") {
      // skip and error left no document with invalid UTF-8 here (the scan dropped or refused it)
      chunker_ = std::make_unique<StreamChunker>(*src_, kChunk, size_t{1} << 20,
                                                 utf8_policy(c_.invalid_utf8) == Utf8Policy::kReplace);
    } else {
      records_ = std::make_unique<RecordReader>(*src_, c_.format, c_.field, utf8_policy(c_.invalid_utf8));
      cand_ = file().cand_base;
    }
  }
  void close() {
    chunker_.reset();
    records_.reset();
    src_.reset();
    ++fi_;
  }
  // The next record of the open file that passed the filters and deduplication.
  bool next_record(std::string& text) {
    while (records_->next(text)) {
      if (!keep_document(c_, text.size())) continue;
      const auto cand = static_cast<size_t>(cand_++);
      if (!scan_.duplicate.empty() && scan_.duplicate[cand]) continue;
      return true;
    }
    return false;
  }

  const PrepareConfig& c_;
  const Scan& scan_;
  std::vector<size_t> files_;
  size_t fi_ = 0;
  int64_t cand_ = 0;
  std::unique_ptr<ByteSource> src_;
  std::unique_ptr<StreamChunker> chunker_;
  std::unique_ptr<RecordReader> records_;
  std::deque<std::string> pending_;
};

PieceReader::PieceReader(const PrepareConfig& c, const Scan& scan, int64_t from) : scan_(scan) {
  const size_t n = scan.mix.order.empty() ? 1 : scan.mix.documents.size();
  std::vector<std::vector<size_t>> files(n);
  for (size_t i = 0; i < scan.files.size(); ++i)
    files[n == 1 ? 0 : static_cast<size_t>(scan.files[i].component)].push_back(i);
  for (auto& f : files) cursors_.push_back(std::make_unique<DocCursor>(c, scan, std::move(f)));
  std::vector<int64_t> before(n, 0);  // documents of each cursor ahead of `from`
  if (n == 1) before[0] = from;
  else
    for (int64_t d = 0; d < from; ++d) ++before[scan.mix.order[static_cast<size_t>(d)]];
  for (size_t k = 0; k < n; ++k) cursors_[k]->skip(before[k]);
  doc_ = from;
}


PieceReader::~PieceReader() = default;

bool PieceReader::next(Piece& p) {
  for (;;) {
    if (in_doc_) {
      bool last = false;
      if (!cursors_[static_cast<size_t>(source_)]->piece(p.text, last))
        throw IoError("the sources changed while they were being prepared");
      p.doc = doc_ - 1;
      p.source = source_;
      p.first = first_;
      p.last = last;
      first_ = false;
      in_doc_ = !last;
      return true;
    }
    if (doc_ == scan_.documents) return false;
    source_ = scan_.mix.order.empty() ? 0 : scan_.mix.order[static_cast<size_t>(doc_)];
    if (!cursors_[static_cast<size_t>(source_)]->start())
      throw IoError("the sources changed while they were being prepared");
    ++doc_;
    in_doc_ = first_ = true;
  }
}

}  // namespace ptm::data::prep
