// Pass 1 of `ptm data prepare` (see prepare_read.h) on `threads` cores. The files are cut into
// items in corpus order: a text-format file whole, or a batch of whole lines of a JSONL/TSV
// file (so one big file is shared out too). Workers read, check, parse and hash the items'
// documents (the exact hash and the MinHash signature, which cost the most); every decision
// that depends on the documents before it (length-filter counts, deduplication verdicts, the
// tokenizer's sample, the mixture's sizes) is then taken one item at a time in corpus order
// (ordered_work.h). So the scan, and everything built from it, is the same whatever `threads`.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <optional>
#include <thread>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "ptm/core/errors.h"
#include "ptm/data/byte_source.h"
#include "ptm/data/dedup.h"
#include "ptm/data/doc_stream.h"
#include "ptm/data/ordered_work.h"
#include "ptm/data/prepare_read.h"

namespace fs = std::filesystem;

namespace ptm::data::prep {
namespace {

constexpr size_t kReadBlock = size_t{1} << 20;

struct SourceFile {
  std::string path;
  int component = 0;  // the weighted source (0 without weights)
};

// One document as a worker hands it over.
struct ScannedDoc {
  size_t bytes = 0;
  DocumentHasher::Result hash;  // deduplicating, and the document passes the length filter
  std::string text;             // when it may go to the tokenizer's sample
  bool held = false;            // `text` is there (a text-format file read again if not)
};

// Bytes an item holds per document beyond its text: what a batch of lines is sized by.
size_t doc_cost(const DedupConfig& d) {
  return sizeof(ScannedDoc) + (d.near ? sizeof(uint32_t) * static_cast<size_t>(d.bands * d.rows) : 0);
}

// A unit of work, cut in corpus order.
struct ScanItem {
  size_t file = 0;
  bool whole_file = false;              // a text-format file: the worker reads it
  std::string lines;                    // JSONL/TSV: whole lines of the file
  std::optional<RecordParser> parser;   // positioned at the first of them
  bool file_end = false;                // the last item of its file: `sha256` is set
  std::string sha256;
  int64_t raw_bytes = 0;                // of the file, read from disk up to this item's end
};

struct ScanOut {
  size_t file = 0;
  bool whole_file = false, file_end = false;
  std::string sha256;
  int64_t raw_bytes = 0;
  std::vector<ScannedDoc> docs;
  // JSONL/TSV: records with invalid UTF-8 and their sequences; text: the file's sequences.
  int64_t invalid_records = 0, invalid_sequences = 0;
};

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

// A text-format file, one document, read through the UTF-8 policy: fed to `hasher` when given,
// its text kept in `text` while it is at most `hold` bytes (`held` says whether it all was).
struct TextFile {
  int64_t bytes = 0, invalid = 0, raw_bytes = 0;
  std::string sha256;
  bool held = false;
};
TextFile read_text_file(const std::string& path, Utf8Policy policy, DocumentHasher* hasher, std::string* text,
                        size_t hold) {
  ByteSource src(path, true);
  Utf8Check check(policy == Utf8Policy::kReplace);
  TextFile f;
  f.held = text != nullptr;
  // One block buffer per thread: a fresh 1 MiB one per file costs a page fault per 4 KiB
  // when glibc hands its memory back between files (most text files are small).
  thread_local std::string block;
  block.clear();
  bool more = true;
  while (more) {
    more = src.read_more(block, kReadBlock);
    check.feed(block, !more);  // the last call flushes an incomplete sequence at the end
    if (check.invalid() > 0 && policy == Utf8Policy::kError) throw invalid_utf8_error(path, check.first_at());
    f.bytes += static_cast<int64_t>(block.size());
    if (hasher) hasher->feed(block);
    if (f.held && static_cast<size_t>(f.bytes) > hold) {
      f.held = false;
      *text = std::string();
    }
    if (f.held) *text += block;
    block.clear();
  }
  f.invalid = check.invalid();
  f.sha256 = src.sha256();
  f.raw_bytes = src.raw_bytes();
  return f;
}

// Cuts the files into items, in corpus order (one caller at a time).
class ItemReader {
 public:
  ItemReader(const std::vector<SourceFile>& files, const PrepareConfig& c, size_t batch_bytes)
      : files_(files), c_(c), policy_(utf8_policy(c.invalid_utf8)), batch_(batch_bytes), doc_cost_(doc_cost(c.dedup)) {}

  bool next(ScanItem& it) {
    if (pending_) std::rethrow_exception(std::exchange(pending_, nullptr));
    if (!src_) {
      if (fi_ == files_.size()) return false;
      if (c_.format == "text") {
        it.file = fi_++;
        it.whole_file = true;
        return true;
      }
      src_ = std::make_unique<ByteSource>(files_[fi_].path, true);
      parser_.emplace(files_[fi_].path, c_.format, c_.field, policy_);
      buf_.clear();
      end_ = searched_ = 0;
      lines_ = 0;
      eof_ = false;
    }
    it.file = fi_;
    read_header();
    for (;;) {
      // Whole lines until the batch is full (its text and each document's share of the results).
      while (end_ + lines_ * doc_cost_ < batch_) {
        const void* nl = std::memchr(buf_.data() + searched_, '\n', buf_.size() - searched_);
        if (!nl) {
          searched_ = buf_.size();
          break;
        }
        end_ = searched_ = static_cast<size_t>(static_cast<const char*>(nl) - buf_.data()) + 1;
        ++lines_;
      }
      if (end_ > 0 && end_ + lines_ * doc_cost_ >= batch_) {
        cut(it, end_);
        return true;
      }
      if (eof_) {  // the rest, with a last line that has no '\n'
        std::string sha;
        try {
          sha = src_->sha256();
        } catch (...) {
          pending_ = std::current_exception();
          cut(it, buf_.size());
          return true;
        }
        cut(it, buf_.size());
        it.file_end = true;
        it.sha256 = std::move(sha);
        it.raw_bytes = src_->raw_bytes();
        src_.reset();
        ++fi_;
        return true;
      }
      try {
        if (!src_->read_more(buf_, kReadBlock)) eof_ = true;
      } catch (...) {
        // The lines before a read error are parsed first, as one pass reading along would.
        if (end_ == 0) throw;
        pending_ = std::current_exception();
        cut(it, end_);
        return true;
      }
    }
  }

 private:
  // A TSV file's header, read here: every batch's parser needs its column.
  void read_header() {
    while (parser_->awaits_header()) {
      const size_t nl = buf_.find('\n');
      if (nl == std::string::npos && !eof_) {
        if (!src_->read_more(buf_, kReadBlock)) eof_ = true;
        continue;
      }
      if (nl == std::string::npos && buf_.empty()) return;  // no header: no records
      std::string line = buf_.substr(0, nl), ignored;
      buf_.erase(0, nl == std::string::npos ? buf_.size() : nl + 1);
      parser_->line(line, ignored);
    }
  }
  // The first `n` bytes of the buffer (whole lines) as an item.
  void cut(ScanItem& it, size_t n) {
    it.lines.assign(buf_, 0, n);
    buf_.erase(0, n);
    it.parser = *parser_;
    int64_t lines = static_cast<int64_t>(lines_);
    if (n > end_) ++lines;  // the unterminated last line
    parser_->count_lines(lines);
    it.raw_bytes = src_->raw_bytes();
    searched_ = searched_ > n ? searched_ - n : 0;
    end_ = 0;
    lines_ = 0;
  }

  const std::vector<SourceFile>& files_;
  const PrepareConfig& c_;
  Utf8Policy policy_;
  size_t batch_, doc_cost_;
  size_t fi_ = 0;
  std::unique_ptr<ByteSource> src_;
  std::optional<RecordParser> parser_;
  std::string buf_;
  size_t end_ = 0, searched_ = 0, lines_ = 0;  // whole lines counted into the next batch, searched for '\n'
  bool eof_ = false;
  std::exception_ptr pending_;  // a read error, after the lines read before it
};

}  // namespace

int prepare_threads(const PrepareConfig& c) {
  return c.threads > 0 ? c.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

Scan scan_files(const std::vector<std::vector<std::string>>& sources, const PrepareConfig& c,
                std::vector<std::string>* sample) {
  const auto t0 = Clock::now();
  std::vector<SourceFile> files;
  int64_t total = 0;
  for (size_t k = 0; k < sources.size(); ++k)
    for (const auto& f : sources[k]) {
      files.push_back({f, static_cast<int>(k)});
      total += static_cast<int64_t>(fs::file_size(f));
    }
  const int threads = prepare_threads(c);
  // Items between being cut and being applied: enough for every thread to run ahead a little,
  // together a quarter of the memory bound (an item holds its text about twice at most; the
  // rest is pass 2's, which follows, and what the allocator keeps in between).
  const size_t window = 2 * static_cast<size_t>(threads);
  const size_t budget = static_cast<size_t>(c.memory_mb) << 20;
  const size_t batch = std::clamp<size_t>(budget / (8 * window), size_t{64} << 10, size_t{4} << 20);

  Progress progress("read", total);
  const Utf8Policy policy = utf8_policy(c.invalid_utf8);
  const bool mixing = !c.weights.empty();
  double weight_sum = 0;
  for (const double w : c.weights) weight_sum += w;
  std::vector<int64_t> used(sources.size(), 0);
  std::vector<std::unique_ptr<SizeLog>> sizes;
  for (size_t k = 0; mixing && k < sources.size(); ++k) sizes.push_back(std::make_unique<SizeLog>());
  auto sampling = [&](int component) {
    if (!sample) return false;
    if (c.tokenizer_train_bytes == 0) return true;
    const double cap = mixing ? c.weights[component] / weight_sum * static_cast<double>(c.tokenizer_train_bytes)
                              : static_cast<double>(c.tokenizer_train_bytes);
    return static_cast<double>(used[component]) < cap;
  };
  // Whether a source's texts may still go to the sample: once false, never true again, so a
  // worker that reads false may drop them.
  std::unique_ptr<std::atomic<bool>[]> wants_text(new std::atomic<bool>[sources.size()]);
  for (size_t k = 0; k < sources.size(); ++k) wants_text[k] = sampling(static_cast<int>(k));

  Scan scan;
  Deduplicator dedup(c.dedup);
  ItemReader reader(files, c, batch);
  std::optional<FileInfo> f;  // the file being applied
  int64_t done = 0;           // bytes of the files before it

  auto work = [&](ScanItem& it) {
    ScanOut out;
    out.file = it.file;
    out.whole_file = it.whole_file;
    out.file_end = it.file_end || it.whole_file;
    out.sha256 = std::move(it.sha256);
    out.raw_bytes = it.raw_bytes;
    DocumentHasher hasher(c.dedup);
    const bool want_text = wants_text[static_cast<size_t>(files[it.file].component)];
    if (it.whole_file) {
      ScannedDoc d;
      const auto t = read_text_file(files[it.file].path, policy, c.dedup.any() ? &hasher : nullptr,
                                    want_text ? &d.text : nullptr, batch);
      d.bytes = static_cast<size_t>(t.bytes);
      d.held = t.held;
      if (c.dedup.any()) d.hash = hasher.finish();
      out.sha256 = t.sha256;
      out.raw_bytes = t.raw_bytes;
      out.invalid_sequences = t.invalid;
      out.docs.push_back(std::move(d));
      return out;
    }
    RecordParser& parser = *it.parser;
    std::string line, text;
    for (size_t pos = 0; pos < it.lines.size();) {
      size_t nl = it.lines.find('\n', pos);
      if (nl == std::string::npos) nl = it.lines.size();
      line.assign(it.lines, pos, nl - pos);
      pos = nl + 1;
      if (!parser.line(line, text)) continue;
      ScannedDoc d;
      d.bytes = text.size();
      const bool candidate = d.bytes > 0 && keep_document(c, d.bytes);
      if (candidate && c.dedup.any()) {
        hasher.feed(text);
        d.hash = hasher.finish();
      }
      if (candidate && want_text) {
        d.text = std::move(text);
        d.held = true;
      }
      out.docs.push_back(std::move(d));
    }
    out.invalid_records = parser.invalid_records();
    out.invalid_sequences = parser.invalid_sequences();
    return out;
  };

  auto take = [&](ScannedDoc& d, FileInfo& fi) {
    const int component = fi.component;
    if (d.bytes == 0) return;  // empty documents are skipped, not counted as filtered
    if (!keep_document(c, d.bytes)) {
      ++scan.dropped_length;
      return;
    }
    ++fi.candidates;
    if (c.dedup.any()) {
      const auto verdict = dedup.add(d.hash);
      scan.duplicate.push_back(verdict != Deduplicator::Verdict::kKeep);
      if (verdict != Deduplicator::Verdict::kKeep) return;
    }
    ++fi.kept;
    scan.text_bytes += static_cast<int64_t>(d.bytes);
    if (mixing) sizes[static_cast<size_t>(component)]->add(static_cast<int64_t>(d.bytes));
    if (sampling(component)) {
      used[static_cast<size_t>(component)] += static_cast<int64_t>(d.bytes);
      // Only a text-format file's text may be missing (too long to hold): read it again.
      if (!d.held) read_text_file(fi.path, policy, nullptr, &d.text, std::numeric_limits<size_t>::max());
      sample->push_back(std::move(d.text));
      if (!sampling(component)) wants_text[static_cast<size_t>(component)] = false;
    }
  };

  auto apply = [&](ScanOut& out) {
    if (!f) {
      f.emplace();
      f->path = files[out.file].path;
      f->component = files[out.file].component;
    }
    if (out.whole_file) {
      f->documents = 1;
      f->text_bytes = static_cast<int64_t>(out.docs[0].bytes);
      if (out.invalid_sequences > 0) {
        ++scan.invalid_utf8_documents;
        scan.invalid_utf8_sequences += out.invalid_sequences;
      }
      if (out.invalid_sequences > 0 && policy == Utf8Policy::kSkip) ++scan.dropped_invalid_utf8;
      else take(out.docs[0], *f);
    } else {
      for (auto& d : out.docs) {
        ++f->documents;
        f->text_bytes += static_cast<int64_t>(d.bytes);
        take(d, *f);
      }
      // Records skipped for invalid UTF-8 were read too.
      scan.invalid_utf8_documents += out.invalid_records;
      scan.invalid_utf8_sequences += out.invalid_sequences;
      if (policy == Utf8Policy::kSkip) {
        f->documents += out.invalid_records;
        scan.dropped_invalid_utf8 += out.invalid_records;
      }
    }
    progress.update(done + out.raw_bytes);
    if (!out.file_end) return;
    f->sha256 = std::move(out.sha256);
    f->bytes = out.raw_bytes;
    done += f->bytes;
    scan.documents += f->kept;
    scan.files.push_back(std::move(*f));
    f.reset();
  };

  run_in_order<ScanItem, ScanOut>(
      threads, window, [&](ScanItem& it) { return reader.next(it); }, work, apply);
#ifdef __GLIBC__
  // The workers' malloc arenas keep what the items used; pass 2 would add its peak on top.
  malloc_trim(0);
#endif

  set_candidate_bases(scan);
  scan.dropped_exact = dedup.exact_dropped();
  scan.dropped_near = dedup.near_dropped();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  char line[160];
  std::snprintf(line, sizeof(line), "prepare: read %zu files, %s MB with %d threads in %.2f s (%.1f MB/s)",
                files.size(), mb(static_cast<double>(done)).c_str(), threads, s,
                static_cast<double>(done) / 1e6 / std::max(s, 1e-9));
  log::info(line);
  if (c.dedup.any())
    log::info("prepare: deduplication dropped " + std::to_string(scan.dropped_exact) + " exact and " +
              std::to_string(scan.dropped_near) + " near duplicates");
  if (mixing) {
    std::vector<std::function<bool(int64_t&)>> next;
    for (auto& sz : sizes) {
      sz->rewind();
      next.push_back([p = sz.get()](int64_t& n) { return p->next(n); });
    }
    scan.mix = plan_mixture(c.weights, next, static_cast<uint64_t>(c.seed));
    scan.documents = static_cast<int64_t>(scan.mix.order.size());
    scan.text_bytes = 0;
    for (const auto b : scan.mix.bytes) scan.text_bytes += b;
  }
  return scan;
}

}  // namespace ptm::data::prep
