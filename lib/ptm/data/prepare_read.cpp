// Pass 1 (the scan) and pass 2's reader of `ptm data prepare` (see prepare_read.h).
#include "ptm/data/prepare_read.h"

#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <string_view>

#include "ptm/core/errors.h"
#include "ptm/data/byte_source.h"
#include "ptm/data/dedup.h"
#include "ptm/data/doc_stream.h"

namespace fs = std::filesystem;

namespace ptm::data::prep {
namespace {

// The mixture order as text for scan.json: one character per document.
constexpr char kSourceDigits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
static_assert(sizeof(kSourceDigits) - 1 == kMaxSources);

void set_candidate_bases(Scan& s) {
  int64_t base = 0;
  for (auto& f : s.files) {
    f.cand_base = base;
    base += f.candidates;
  }
}

// The sizes of one source's kept documents, in an anonymous file until the mixture is planned.
class SizeLog {
 public:
  SizeLog() : f_(std::tmpfile()) {
    if (!f_) throw IoError("cannot create a temporary file for the mixture's document sizes");
  }
  ~SizeLog() { std::fclose(f_); }
  SizeLog(const SizeLog&) = delete;
  SizeLog& operator=(const SizeLog&) = delete;
  void add(int64_t n) {
    if (std::fwrite(&n, sizeof(n), 1, f_) != 1) throw IoError("cannot write the mixture's temporary file");
  }
  void rewind() { std::rewind(f_); }
  bool next(int64_t& n) { return std::fread(&n, sizeof(n), 1, f_) == 1; }

 private:
  std::FILE* f_;
};

IoError invalid_utf8_error(const std::string& path, int64_t at) {
  return IoError(path + ": invalid UTF-8 at byte " + std::to_string(at + 1) +
                 " of the text (prepare.invalid_utf8 is error; replace or skip go on)");
}

}  // namespace

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

// Pass 1: every file once, hashing it, counting documents, deduplicating, keeping the
// tokenizer's sample (whole kept documents, in corpus order, until `tokenizer_train_bytes`;
// with weights, each source gives its weight's share of it) when `sample` is given. With
// weights, plans the mixture from the kept documents' sizes.
Scan scan_files(const std::vector<std::vector<std::string>>& sources, const PrepareConfig& c,
                std::vector<std::string>* sample) {
  int64_t total = 0, done = 0;
  for (const auto& files : sources)
    for (const auto& f : files) total += static_cast<int64_t>(fs::file_size(f));
  Progress progress("read", total);
  const Utf8Policy policy = utf8_policy(c.invalid_utf8);
  const bool mixing = !c.weights.empty();
  double weight_sum = 0;
  for (const double w : c.weights) weight_sum += w;
  std::vector<int64_t> used(sources.size(), 0);
  std::vector<std::unique_ptr<SizeLog>> sizes;
  for (size_t k = 0; mixing && k < sources.size(); ++k) sizes.push_back(std::make_unique<SizeLog>());
  int component = 0;
  auto sampling = [&] {
    if (!sample) return false;
    if (c.tokenizer_train_bytes == 0) return true;
    const double cap = mixing ? c.weights[component] / weight_sum * static_cast<double>(c.tokenizer_train_bytes)
                              : static_cast<double>(c.tokenizer_train_bytes);
    return static_cast<double>(used[component]) < cap;
  };
  Scan scan;
  DocumentHasher hasher(c.dedup);
  Deduplicator dedup(c.dedup);
  for (const auto& files : sources) {
    for (const auto& path : files) {
      ByteSource src(path, true);
      FileInfo f;
      f.path = path;
      f.component = component;
      // `text` may be empty when only the length `n` matters (a text file not sampled).
      auto take = [&](size_t n, std::string& text) {
        if (n == 0) return;  // empty documents are skipped, not counted as filtered
        const auto hash = c.dedup.any() ? hasher.finish() : DocumentHasher::Result{};
        if (!keep_document(c, n)) {
          ++scan.dropped_length;
          return;
        }
        ++f.candidates;
        if (c.dedup.any()) {
          const auto verdict = dedup.add(hash);
          scan.duplicate.push_back(verdict != Deduplicator::Verdict::kKeep);
          if (verdict != Deduplicator::Verdict::kKeep) return;
        }
        ++f.kept;
        scan.text_bytes += static_cast<int64_t>(n);
        if (mixing) sizes[component]->add(static_cast<int64_t>(n));
        if (sampling()) {
          used[component] += static_cast<int64_t>(n);
          sample->push_back(std::move(text));
        }
      };
      if (c.format == "text") {
        const bool keep_text = sampling();
        Utf8Check check(policy == Utf8Policy::kReplace);
        std::string text, block;
        int64_t n = 0;
        bool more = true;
        while (more) {
          more = src.read_more(block, size_t{1} << 20);
          check.feed(block, !more);  // the last call flushes an incomplete sequence at the end
          if (check.invalid() > 0 && policy == Utf8Policy::kError) throw invalid_utf8_error(path, check.first_at());
          n += static_cast<int64_t>(block.size());
          if (c.dedup.any()) hasher.feed(block);
          if (keep_text) text += block;
          block.clear();
          progress.update(done + src.raw_bytes());
        }
        f.documents = 1;
        f.text_bytes = n;
        if (check.invalid() > 0) {
          ++scan.invalid_utf8_documents;
          scan.invalid_utf8_sequences += check.invalid();
        }
        if (check.invalid() > 0 && policy == Utf8Policy::kSkip) {
          ++scan.dropped_invalid_utf8;
          if (c.dedup.any()) hasher.finish();  // not a candidate
        } else {
          if (n == 0 && c.dedup.any()) hasher.finish();  // take() skips empty documents
          take(static_cast<size_t>(n), text);  // sampling() == keep_text: `used` did not move
        }
      } else {
        RecordReader records(src, c.format, c.field, policy);
        std::string text;
        while (records.next(text)) {
          ++f.documents;
          f.text_bytes += static_cast<int64_t>(text.size());
          if (c.dedup.any()) {
            hasher.feed(text);
            if (text.empty()) hasher.finish();  // take() skips empty documents
          }
          take(text.size(), text);
          progress.update(done + src.raw_bytes());
        }
        // Records skipped for invalid UTF-8 were read too.
        const int64_t invalid = records.parser().invalid_records();
        scan.invalid_utf8_documents += invalid;
        scan.invalid_utf8_sequences += records.parser().invalid_sequences();
        if (policy == Utf8Policy::kSkip) {
          f.documents += invalid;
          scan.dropped_invalid_utf8 += invalid;
        }
      }
      f.sha256 = src.sha256();
      f.bytes = src.raw_bytes();
      done += f.bytes;
      scan.documents += f.kept;
      scan.files.push_back(std::move(f));
    }
    ++component;
  }
  set_candidate_bases(scan);
  scan.dropped_exact = dedup.exact_dropped();
  scan.dropped_near = dedup.near_dropped();
  if (c.dedup.any())
    log::info("prepare: deduplication dropped " + std::to_string(scan.dropped_exact) + " exact and " +
              std::to_string(scan.dropped_near) + " near duplicates");
  if (mixing) {
    std::vector<std::function<bool(int64_t&)>> next;
    for (auto& s : sizes) {
      s->rewind();
      next.push_back([p = s.get()](int64_t& n) { return p->next(n); });
    }
    scan.mix = plan_mixture(c.weights, next, static_cast<uint64_t>(c.seed));
    scan.documents = static_cast<int64_t>(scan.mix.order.size());
    scan.text_bytes = 0;
    for (const auto b : scan.mix.bytes) scan.text_bytes += b;
  }
  return scan;
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
