// Records of text data sets: TSV (a header row names the columns) or JSONL, each line a
// text, an optional second text (pairs) and a label. Torch-free: text_classification reads
// through it, and so does the fuzz target (fuzz/text_records_fuzz.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ptm::data {

struct TextFields {
  std::string text = "text";
  std::string pair;  // empty: single sentences
  std::string label = "label";
};

struct TextRecord {
  std::string text, pair, label;
  int64_t line = 0;  // 1-based line in the file
};

// `content` is the text of `path`: JSONL when the name ends in .jsonl, else TSV. IoError naming
// path:line for a malformed line, a missing field or an empty label.
std::vector<TextRecord> parse_text_records(const std::string& content, const std::string& path, const TextFields& f);

// Reads `path` and parses it.
std::vector<TextRecord> read_text_records(const std::string& path, const TextFields& f);

}  // namespace ptm::data
