// Byte-level BPE (GPT-2): the byte-to-unicode alphabet, GPT-2 pre-tokenization, merges by rank
// (lowest first, leftmost on ties, as Hugging Face's BPE model), a per-word cache, and
// export as tokenizer.json.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ptm/data/text_pipeline.h"
#include "ptm/data/tokenizer_base.h"

namespace ptm::data {

struct BpeSpec {
  std::vector<std::string> vocab;                   // id -> token (byte symbols); "" for an unused id
  std::vector<std::pair<int32_t, int32_t>> merges;  // in rank order, as ids of the two parts
  std::optional<std::string> unk_token;
  bool fuse_unk = false;
  bool ignore_merges = false;     // a word that is itself in the vocabulary is taken whole
  bool add_prefix_space = false;  // ByteLevel pre-tokenizer: ' ' before text not starting with one
  bool use_regex = true;          // ByteLevel pre-tokenizer: split with the GPT-2 pattern

  // Other tokenizer.json pipelines (Llama 3's Split + ByteLevel, SentencePiece's Metaspace or
  // Prepend/Replace): when set, `pipeline` makes the pieces instead of the two flags above.
  std::shared_ptr<const TextPipeline> pipeline;
  bool byte_level = true;      // pieces start as byte symbols (a ByteLevel pre-tokenizer), else as characters
  bool byte_fallback = false;  // a character not in the vocabulary becomes its <0xNN> byte tokens
  std::optional<std::vector<DecoderStep>> decoders;  // set: decode with these (else GPT-2's ByteLevel)
  // Added tokens marked "normalized" behind a normalizer: `tokenizers` first splits the raw text
  // at the others (raw_added), normalizes each stretch between them, then splits that at these
  // (normalized_added, their content normalized too). Empty: every added token on the raw text.
  std::vector<AddedToken> raw_added, normalized_added;
  // The file's own normalizer, pre_tokenizer and decoder, written back by to_hf_json.
  nlohmann::ordered_json normalizer_json, pre_tokenizer_json, decoder_json;
};

// Throws ConfigError naming `source` when a merge's result is not in the vocabulary.
std::unique_ptr<BaseTokenizer> make_bpe_tokenizer(BpeSpec spec, const std::string& source);

}  // namespace ptm::data
