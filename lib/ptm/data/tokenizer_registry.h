// The `tokenizer:` component of data recipes (registry "tokenizer"):
//   {type: bytes}                                   UTF-8 bytes + specials
//   {type: bpe, vocab_size: 8192, min_frequency: 2} byte-level BPE trained on the recipe's corpus
//   {type: pretrained, path: data/models/minilm}    tokenizer.json / vocab.txt / vocab.json+merges.txt
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ptm/config/binder.h"
#include "ptm/core/registry.h"
#include "ptm/data/tokenizer.h"

namespace ptm::data {

// Makes the tokenizer; `corpus` is the training text for trained tokenizers.
using TokenizerBuilder = std::function<std::unique_ptr<Tokenizer>(const std::vector<std::string>& corpus)>;
using TokenizerFactory = std::function<TokenizerBuilder(config::Section&)>;

struct TokenizerSpec {
  std::string type;
  bool needs_corpus = false;  // trained on the data being prepared
  TokenizerBuilder build;
};

Registry<TokenizerFactory>& tokenizers();

// Reads a `tokenizer:` section (type required). Empty builder + recorded problems on error.
TokenizerSpec parse_tokenizer(config::Section s);

}  // namespace ptm::data
