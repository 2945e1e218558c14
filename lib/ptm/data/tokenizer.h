// Tokenizers with exact Hugging Face `tokenizers` parity: raw bytes, GPT-2 byte-level BPE
// (load, train, export as tokenizer.json) and BERT WordPiece; model inputs with special
// tokens, pairs, truncation and padding. Torch-free.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ptm::data {

// One element of a post-processing template: a special token (its ids) or sequence A / B.
struct TemplatePiece {
  enum class Kind { kSpecial, kSequenceA, kSequenceB };
  Kind kind = Kind::kSpecial;
  std::vector<int32_t> ids;  // for kSpecial
  int32_t type_id = 0;
};

// What model inputs add around one text or a pair ([CLS] $A [SEP] $B [SEP] for BERT).
struct PostProcessor {
  std::vector<TemplatePiece> single{{TemplatePiece::Kind::kSequenceA, {}, 0}};
  std::vector<TemplatePiece> pair{{TemplatePiece::Kind::kSequenceA, {}, 0}, {TemplatePiece::Kind::kSequenceB, {}, 1}};
  // Number of special ids the template adds (for truncation).
  size_t added_tokens(bool is_pair) const;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::string kind() const = 0;                                  // "bytes" | "bpe" | "wordpiece"
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;  // no special tokens added
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = true) const = 0;
  virtual int64_t vocab_size() const = 0;  // including specials
  virtual std::optional<int32_t> token_to_id(const std::string& token) const = 0;
  virtual std::string id_to_token(int32_t id) const = 0;
  virtual std::string to_hf_json() const = 0;  // a tokenizer.json that HF `tokenizers` loads

  // Hooks for model inputs (encode_for_model / encode_batch).
  virtual const PostProcessor& post_processor() const = 0;
  // The padding id: the tokenizer.json padding setting, else a token named like a pad
  // ([PAD], <pad>, ...), else an end-of-text token, else 0 (padded positions are masked anyway).
  virtual int32_t pad_id() const = 0;
  virtual bool is_special(int32_t id) const = 0;
  // The special (added) tokens, in id order.
  virtual std::vector<std::string> special_tokens() const = 0;
};

// Loads tokenizer.json, vocab.txt (WordPiece, BERT uncased defaults), vocab.json+merges.txt (GPT-2 BPE),
// or a directory holding one of those. Throws ptm::IoError (missing/unreadable file) or ptm::ConfigError
// (malformed content, unsupported model/normalizer/pre-tokenizer type), naming the file and what was expected.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

// UTF-8 bytes as ids 0..255, then the given specials.
std::unique_ptr<Tokenizer> make_byte_tokenizer(const std::vector<std::string>& special_tokens);

struct BpeTrainOptions {
  int64_t vocab_size = 8192;
  int64_t min_frequency = 2;
  std::vector<std::string> special_tokens{"<|endoftext|>"};
};
// Byte-level BPE (GPT-2 style: byte-to-unicode alphabet, GPT-2 pre-tokenization) trained on `texts`.
// Ids: the specials first (0..k-1), then the 256 byte symbols, then one id per merge. Each step
// merges the most frequent adjacent pair; ties go to the pair with the smallest (left id, right id),
// as Hugging Face's BpeTrainer does. Stops at vocab_size or when no pair occurs min_frequency times.
// Special tokens inside a text are cut out before counting. Deterministic.
std::unique_ptr<Tokenizer> train_byte_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& options);

// Model inputs: specials per the tokenizer's post-processor ([CLS] a [SEP] b [SEP] for BERT), truncation, padding.
struct EncodeOptions {
  bool add_special_tokens = true;
  int64_t max_length = 0;  // 0 = no truncation
  bool pad_to_max_length = false;
};
struct Encoding {
  std::vector<int32_t> ids, type_ids, attention_mask;
};
// Truncation is Hugging Face's "longest_first": the specials are kept, and the longer of the two
// texts loses tokens from its end first.
Encoding encode_for_model(const Tokenizer& tok, std::string_view text, std::optional<std::string_view> pair,
                          const EncodeOptions& options);
// Pads every encoding to the longest (or max_length when pad_to_max_length) with the pad token.
std::vector<Encoding> encode_batch(const Tokenizer& tok, const std::vector<std::string>& texts,
                                   const EncodeOptions& options);

}  // namespace ptm::data
