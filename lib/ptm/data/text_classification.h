// Data set "text_classification": TSV (header row) or JSONL records with a text, an optional
// second text (pairs) and a label. Class labels map to ids through `labels:` (or sorted unique
// values of the training file); with `label_type: number` (what the recipe check sets for
// objective regression) labels are parsed as real numbers instead. Every example is encoded
// once up front with the tokenizer; batches are padded to max_length (fixed shapes) or to the
// longest example in the batch. Splits: split_files.h (split "test" is null when no test file).
#pragma once
#include "ptm/data/dataset.h"
#include "ptm/data/split_files.h"
#include "ptm/data/text_records.h"

namespace ptm::data {

struct TextClassificationOptions : SplitFiles {
  std::string tokenizer;           // tokenizer.json / vocab.txt / folder
  std::string text_field = "text";
  std::string pair_field;          // empty: single sentences
  std::string label_field = "label";
  std::vector<std::string> labels; // label names in id order; empty: sorted unique training labels
  std::string label_type = "class";  // class | number (regression targets, float labels)
  int64_t max_length = 128;
  std::string pad_to = "max_length";  // max_length (fixed shapes) | longest
};

// Reads TSV or JSONL (by extension; text_records.h) with the options' field names.
std::vector<TextRecord> read_text_records(const std::string& path, const TextClassificationOptions& o);

// The class names in id order: `labels:`, else the sorted unique labels of the training file
// (the same ids for every split); empty for `label_type: number`.
std::vector<std::string> class_names(const TextClassificationOptions& o);

// A label of `label_type: number` as a float; IoError naming file:line and the label otherwise.
float numeric_label(const TextRecord& r, const std::string& path);

// Null for split "test" when the options name no test file.
std::unique_ptr<BatchStream> make_text_classification(const TextClassificationOptions& o, const StreamOptions& s);
// Reads the section's keys into `o` (without finish(): a task mixture's source adds its own).
void bind(config::Section& s, TextClassificationOptions& o);
StreamBuilder text_classification_factory(config::Section& s);

}  // namespace ptm::data
