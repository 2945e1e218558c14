// Pre-tokenizers: the GPT-2 split pattern (by hand, with Unicode classes) and BERT's
// normalizer + pre-tokenizer, both as Hugging Face `tokenizers` runs them.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptm::data {

// Splits `text` like the regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// The pieces cover the text exactly. Bytes that are not valid UTF-8 count as one character
// each, of the [^\s\p{L}\p{N}] kind, so splitting stays lossless for any input.
void split_gpt2(std::string_view text, std::vector<std::string_view>& pieces);

struct BertNormalizerOptions {
  bool clean_text = true;            // drop NUL, U+FFFD and control characters; whitespace -> ' '
  bool handle_chinese_chars = true;  // spaces around CJK ideographs
  bool strip_accents = true;         // NFD, then drop nonspacing marks (Mn)
  bool lowercase = true;
};

// BertNormalizer then BertPreTokenizer (split on whitespace, each punctuation character alone).
// Writes the words, normalized, into `buffer` and their [begin, end) offsets into `words`.
// Invalid UTF-8 bytes are read as U+FFFD (what a lossy decoder hands to `tokenizers`).
void bert_words(std::string_view text, const BertNormalizerOptions& options, std::string& buffer,
                std::vector<std::pair<uint32_t, uint32_t>>& words);

}  // namespace ptm::data
