// TSV / JSONL readers: text data set records (data/text_records.h) and corpus documents
// (data/prepare.h, formats text | jsonl | tsv). The first byte picks the format and fields;
// the rest is the file. Malformed input must end in an IoError naming the file.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ptm/core/errors.h"
#include "ptm/data/prepare.h"
#include "ptm/data/text_records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ptm::data;
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string content(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool jsonl = mode & 1;
  TextFields fields;
  if (mode & 2) fields.pair = "text_b";
  if (mode & 4) fields.label = "text";  // the same column twice
  try {
    const auto records = parse_text_records(content, jsonl ? "fuzz.jsonl" : "fuzz.tsv", fields);
    for (const auto& r : records)
      if (r.label.empty()) std::abort();  // promised: empty labels are errors
  } catch (const ptm::IoError&) {
  }
  try {
    const char* format = (mode & 24) == 0 ? "text" : jsonl ? "jsonl" : "tsv";
    parse_documents(content, "fuzz.txt", format, "text");
  } catch (const ptm::IoError&) {
  }
  return 0;
}
