// Documents of corpus files, read as streams (see byte_source.h): JSONL/TSV records one at a
// time, and a text file (one document) in the pieces chunks_of would cut it into, so that
// neither a big file nor a big corpus is ever held whole. Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ptm/data/byte_source.h"

namespace ptm::data {

// Splits a document into pieces that encode independently to the same ids: cuts right after
// a lone newline (a non-space character on both sides) at or after `target` bytes.
std::vector<std::string_view> chunks_of(const std::string& text, size_t target);

// The record parser of `ptm data prepare` (format "jsonl" or "tsv"), fed one line at a time.
class RecordParser {
 public:
  RecordParser(std::string path, std::string format, std::string field);
  // `line` without its '\n'. True with the record's text in `out`; false for a skipped line
  // (empty, or the TSV header). IoError naming path:line.
  bool line(std::string& line, std::string& out);

 private:
  std::string path_, format_, field_;
  int64_t lineno_ = 0;
  int column_ = -1;
};

// The records of a JSONL/TSV source, one at a time.
class RecordReader {
 public:
  RecordReader(ByteSource& src, const std::string& format, const std::string& field);
  bool next(std::string& text);  // false at the end

 private:
  bool next_line(std::string& line);
  ByteSource& src_;
  RecordParser parser_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
};

// The pieces chunks_of(whole text of `src`, target) gives, without reading the text whole.
// A stretch of text with no lone newline stays one piece however long it is.
class StreamChunker {
 public:
  StreamChunker(ByteSource& src, size_t target, size_t block = size_t{1} << 20)
      : src_(src), target_(target), block_(block) {}
  bool next(std::string& piece);  // false at the end
  bool done() const { return done_; }  // the last piece has been handed out

 private:
  bool more();  // reads another block into buf_; false at the end of the source
  ByteSource& src_;
  size_t target_, block_;
  std::string buf_;
  bool eof_ = false, done_ = false;
};

}  // namespace ptm::data
