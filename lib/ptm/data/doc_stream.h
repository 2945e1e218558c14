// Documents of corpus files, read as streams (see byte_source.h): JSONL/TSV records one at a
// time, and a text file (one document) in the pieces chunks_of would cut it into, so that
// neither a big file nor a big corpus is ever held whole. Torch-free.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ptm/data/byte_source.h"
#include "ptm/data/utf8_check.h"

namespace ptm::data {

// Splits a document into pieces that encode independently to the same ids: cuts right after
// a lone newline (a non-space character on both sides) at or after `target` bytes.
std::vector<std::string_view> chunks_of(const std::string& text, size_t target);

// The record parser of `ptm data prepare` (format "jsonl" or "tsv"), fed one line at a time.
// A line with bytes that are not UTF-8 is a record with invalid UTF-8: `policy` says what
// becomes of it (utf8_check.h); the TSV header is always read with replacement.
class RecordParser {
 public:
  RecordParser(std::string path, std::string format, std::string field, Utf8Policy policy = Utf8Policy::kReplace);
  // `line` without its '\n'. True with the record's text in `out`; false for a skipped line
  // (empty, the TSV header, or invalid UTF-8 under skip). IoError naming path:line.
  bool line(std::string& line, std::string& out);
  int64_t invalid_records() const { return invalid_records_; }      // lines with invalid UTF-8
  int64_t invalid_sequences() const { return invalid_sequences_; }  // their invalid sequences
  // For parsing a file's lines in parts on several threads, each on a copy of this parser: a
  // TSV file's header must come first (true until then), and `n` lines parsed by a copy count
  // toward the line numbers of later ones.
  bool awaits_header() const { return format_ == "tsv" && column_ < 0; }
  void count_lines(int64_t n) { lineno_ += n; }

 private:
  std::string path_, format_, field_;
  Utf8Policy policy_;
  int64_t lineno_ = 0, invalid_records_ = 0, invalid_sequences_ = 0;
  int column_ = -1;
};

// The records of a JSONL/TSV source, one at a time.
class RecordReader {
 public:
  RecordReader(ByteSource& src, const std::string& format, const std::string& field,
               Utf8Policy policy = Utf8Policy::kReplace);
  bool next(std::string& text);  // false at the end
  const RecordParser& parser() const { return parser_; }

 private:
  bool next_line(std::string& line);
  ByteSource& src_;
  RecordParser parser_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
};

// The pieces chunks_of(whole text of `src`, target) gives, without reading the text whole.
// A stretch of text with no lone newline stays one piece however long it is. `replace_invalid`:
// the text with invalid UTF-8 replaced (Utf8Check).
class StreamChunker {
 public:
  StreamChunker(ByteSource& src, size_t target, size_t block = size_t{1} << 20, bool replace_invalid = false)
      : src_(src), target_(target), block_(block), check_(replace_invalid ? new Utf8Check(true) : nullptr) {}
  bool next(std::string& piece);  // false at the end
  bool done() const { return done_; }  // the last piece has been handed out

 private:
  bool more();  // reads another block into buf_; false at the end of the source
  ByteSource& src_;
  size_t target_, block_;
  std::string buf_;
  std::unique_ptr<Utf8Check> check_;
  bool eof_ = false, done_ = false;
};

}  // namespace ptm::data
