// Data set "token_classification": CoNLL-style files (conll.h) for per-token tags (NER, POS,
// chunking). Tags map to ids through `labels:` or the sorted unique tags of the training file;
// each sentence is encoded once up front with its tags aligned to the word pieces; batches
// carry labels [B, T] with -100 on specials, padding and (unless label_all_pieces) on the
// pieces after a word's first. Splits: split_files.h (split "test" is null without a file).
#pragma once
#include "ptm/data/dataset.h"
#include "ptm/data/split_files.h"

namespace ptm::data {

struct TokenClassificationOptions : SplitFiles {
  std::string tokenizer;            // tokenizer.json / vocab.txt / folder
  std::vector<std::string> labels;  // tag names in id order; empty: sorted unique training tags
  int64_t max_length = 128;         // tokens per sentence, specials included
  std::string pad_to = "max_length";  // max_length (fixed shapes) | longest
  bool label_all_pieces = false;    // Hugging Face's label_all_tokens
};

// The tag names in id order: `labels:`, else the sorted unique tags of the training file.
std::vector<std::string> tag_names(const TokenClassificationOptions& o);

// Null for split "test" when the options name no test file.
std::unique_ptr<BatchStream> make_token_classification(const TokenClassificationOptions& o, const StreamOptions& s);
// Reads the section's keys into `o` (without finish(): a task mixture's source adds its own).
void bind(config::Section& s, TokenClassificationOptions& o);
StreamBuilder token_classification_factory(config::Section& s);

}  // namespace ptm::data
