// Streaming document readers for corpus preparation.
#include "ptm/data/doc_stream.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ptm/core/errors.h"

namespace ptm::data {
namespace {
constexpr size_t kBlock = size_t{1} << 20;
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
}  // namespace

// No pre-token spans a lone newline: the newline ends its own whitespace pre-token, and a
// longer whitespace run would be split differently at the end of a piece than inside the text
// (GPT-2's \s+(?!\S) rule).
std::vector<std::string_view> chunks_of(const std::string& text, size_t target) {
  auto space = [&](size_t i) { return is_space(text[i]); };
  std::vector<std::string_view> out;
  size_t start = 0;
  while (text.size() - start > target) {
    size_t cut = text.find('\n', start + target);
    while (cut != std::string::npos && cut + 1 < text.size() && (space(cut - 1) || space(cut + 1)))
      cut = text.find('\n', cut + 1);
    if (cut == std::string::npos || cut + 1 >= text.size()) break;
    out.emplace_back(text.data() + start, cut + 1 - start);
    start = cut + 1;
  }
  out.emplace_back(text.data() + start, text.size() - start);
  return out;
}

RecordParser::RecordParser(std::string path, std::string format, std::string field, Utf8Policy policy)
    : path_(std::move(path)), format_(std::move(format)), field_(std::move(field)), policy_(policy) {}

bool RecordParser::line(std::string& line, std::string& out) {
  ++lineno_;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return false;
  const bool header = format_ == "tsv" && column_ < 0;
  Utf8Check check(header || policy_ == Utf8Policy::kReplace);
  check.feed(line, true);
  if (check.invalid() > 0 && !header) {
    ++invalid_records_;
    invalid_sequences_ += check.invalid();
    if (policy_ == Utf8Policy::kError)
      throw IoError(path_ + ":" + std::to_string(lineno_) + ": invalid UTF-8 at byte " +
                    std::to_string(check.first_at() + 1) +
                    " of the line (prepare.invalid_utf8 is error; replace or skip go on)");
    if (policy_ == Utf8Policy::kSkip) return false;
  }
  if (format_ == "jsonl") {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const std::exception&) {
      throw IoError(path_ + ":" + std::to_string(lineno_) + ": not a JSON object");
    }
    if (!j.is_object() || !j.contains(field_) || !j[field_].is_string())
      throw IoError(path_ + ":" + std::to_string(lineno_) + ": no string field '" + field_ + "'");
    out = j[field_].get<std::string>();
    return true;
  }
  // tsv with a header row naming the columns
  std::vector<std::string> cells;
  std::string cell;
  std::istringstream row(line);
  while (std::getline(row, cell, '\t')) cells.push_back(cell);
  if (column_ < 0) {
    const auto it = std::find(cells.begin(), cells.end(), field_);
    if (it == cells.end()) throw IoError(path_ + ":1: no column '" + field_ + "' in the TSV header");
    column_ = static_cast<int>(it - cells.begin());
    return false;
  }
  if (static_cast<int>(cells.size()) <= column_)
    throw IoError(path_ + ":" + std::to_string(lineno_) + ": missing column '" + field_ + "'");
  out = std::move(cells[column_]);
  return true;
}

RecordReader::RecordReader(ByteSource& src, const std::string& format, const std::string& field, Utf8Policy policy)
    : src_(src), parser_(src.path(), format, field, policy) {}

bool RecordReader::next_line(std::string& line) {
  for (;;) {
    const size_t nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      line.assign(buf_, pos_, nl - pos_);
      pos_ = nl + 1;
      return true;
    }
    if (eof_) {
      if (pos_ >= buf_.size()) return false;
      line.assign(buf_, pos_, std::string::npos);  // a last line without '\n'
      pos_ = buf_.size();
      return true;
    }
    buf_.erase(0, pos_);
    pos_ = 0;
    if (!src_.read_more(buf_, kBlock)) eof_ = true;
  }
}

bool RecordReader::next(std::string& text) {
  std::string line;
  while (next_line(line))
    if (parser_.line(line, text)) return true;
  return false;
}

bool StreamChunker::more() {
  if (eof_) return false;
  if (!check_) {
    if (!src_.read_more(buf_, block_)) eof_ = true;
    return !eof_;
  }
  std::string block;
  const bool got = src_.read_more(block, block_);
  eof_ = !got;
  check_->feed(block, eof_);  // at the end: a held-back incomplete sequence, replaced
  buf_ += block;
  return got || !block.empty();
}

// Follows chunks_of exactly: a cut needs the character after the newline, so the end of the
// text must be known before a newline near it can be judged.
bool StreamChunker::next(std::string& piece) {
  if (done_) return false;
  while (buf_.size() <= target_ && more()) {
  }
  if (buf_.size() > target_) {
    size_t i = target_;
    for (;;) {
      i = buf_.find('\n', i);
      while (i == std::string::npos || i + 1 >= buf_.size()) {  // need the next character
        const size_t from = i == std::string::npos ? buf_.size() : i;
        if (!more()) {
          i = std::string::npos;  // no cut before the end: the rest is one piece
          break;
        }
        i = buf_.find('\n', from);
      }
      if (i == std::string::npos) break;
      if (!is_space(buf_[i - 1]) && !is_space(buf_[i + 1])) {
        piece.assign(buf_, 0, i + 1);
        buf_.erase(0, i + 1);
        return true;
      }
      ++i;
    }
  }
  piece = std::move(buf_);
  buf_.clear();
  done_ = true;
  return true;
}

}  // namespace ptm::data
