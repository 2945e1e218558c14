// CoNLL-style token classification files and the alignment of word tags to word pieces.
// A file holds one word per line, its tag in the last whitespace-separated column (space or
// tab; columns between are ignored), a blank line between sentences; -DOCSTART- lines are
// skipped. Alignment follows Hugging Face's token-classification examples (run_ner.py): each
// word is encoded alone, as is_split_into_words does; its first piece carries the word's tag,
// the other pieces and the special tokens -100 (ignored by the loss), or with label_all_pieces
// every piece carries it (a B-X tag as I-X on the pieces after the first, when I-X exists).
// Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ptm/data/tokenizer.h"

namespace ptm::data {

constexpr int64_t kIgnoreLabel = -100;

struct TaggedSentence {
  std::vector<std::string> words, tags;
  int64_t line = 0;  // 1-based line of the first word
};

// IoError naming file:line for a line without a tag, or a file without sentences.
std::vector<TaggedSentence> read_conll(const std::string& path);

struct AlignOptions {
  int64_t max_length = 128;  // tokens with the specials; 0 = no truncation
  bool label_all_pieces = false;
};

struct AlignedExample {
  Encoding encoding;            // ids, type ids, attention mask (unpadded)
  std::vector<int64_t> labels;  // one per id: a tag id or kIgnoreLabel
  int64_t words_cut = 0;        // words that truncation left without a labelled piece
};

// `tags[i]` is the tag id of word i; `continuation[t]` the id that pieces after the first
// carry when label_all_pieces (continuation_tags).
AlignedExample align_tags(const Tokenizer& tok, const std::vector<std::string>& words,
                          const std::vector<int64_t>& tags, const std::vector<int64_t>& continuation,
                          const AlignOptions& options);

// For each tag name, the id of its I- twin when it is B-X and I-X exists, else its own id.
std::vector<int64_t> continuation_tags(const std::vector<std::string>& names);

}  // namespace ptm::data
