// WordPiece (BERT): BertNormalizer + BertPreTokenizer, greedy longest-match-first with "##"
// continuations, [UNK] for unmatched or over-long words, the WordPiece decoder, and export
// as tokenizer.json. Matches Hugging Face `tokenizers` on MiniLM/BERT uncased.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "ptm/data/pretokenize.h"
#include "ptm/data/tokenizer_base.h"

namespace ptm::data {

struct WordPieceSpec {
  std::vector<std::string> vocab;  // id -> token; "" for an unused id
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  int64_t max_input_chars_per_word = 100;
  BertNormalizerOptions normalizer;
  bool decoder_cleanup = true;  // WordPiece decoder: " ." -> ".", " n't" -> "n't", ...
};

// Throws ConfigError naming `source` when the unk token is not in the vocabulary.
std::unique_ptr<BaseTokenizer> make_wordpiece_tokenizer(WordPieceSpec spec, const std::string& source);

}  // namespace ptm::data
