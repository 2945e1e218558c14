// The normalizers, pre-tokenizers and decoders of tokenizer.json files beyond GPT-2's and
// BERT's, run as Hugging Face `tokenizers` runs them: Prepend/Replace normalizers, the Split
// (regex or string), ByteLevel and Metaspace pre-tokenizers, and the ByteLevel, Metaspace,
// Replace, ByteFallback, Fuse and Strip decoders (Llama 3 and the SentencePiece-converted
// Llama 2 / Mistral files).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <nlohmann/json.hpp>

#include "ptm/data/regex.h"

namespace ptm::data {

struct NormalizerStep {
  enum class Kind { kPrepend, kReplace } kind = Kind::kPrepend;
  std::string text;     // kPrepend: the prefix; kReplace: the string replaced
  std::string content;  // kReplace: what replaces it
};

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
enum class PrependScheme { kAlways, kFirst, kNever };

struct PreTokenizerStep {
  enum class Kind { kSplit, kByteLevel, kMetaspace } kind = Kind::kSplit;
  std::shared_ptr<const Regex> regex;  // kSplit with a Regex pattern
  std::string literal;                 // kSplit with a String pattern
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  bool add_prefix_space = false;  // kByteLevel
  bool use_regex = true;          // kByteLevel: then the GPT-2 split
  std::string replacement = "\u2581";  // kMetaspace
  PrependScheme prepend = PrependScheme::kAlways;
  bool split = true;  // kMetaspace: split before each replacement character
};

// One text (between added tokens) -> the pieces the model tokenizes.
struct TextPipeline {
  std::vector<NormalizerStep> normalizers;
  std::vector<PreTokenizerStep> pre_tokenizers;
  // `at_start`: the text starts the input (Metaspace's prepend_scheme "first").
  void run(std::string_view text, bool at_start, std::vector<std::string>& pieces) const {
    pre_tokenize(normalize(text), at_start, pieces);
  }
  std::string normalize(std::string_view text) const;
  void pre_tokenize(std::string normalized, bool at_start, std::vector<std::string>& pieces) const;
};

struct DecoderStep {
  enum class Kind { kByteLevel, kMetaspace, kReplace, kByteFallback, kFuse, kStrip } kind = Kind::kFuse;
  std::string pattern, content;  // kReplace; kMetaspace: content is the replacement; kStrip: content
  PrependScheme prepend = PrependScheme::kAlways;
  size_t start = 0, stop = 0;  // kStrip
};

// Tokens -> text. No steps: the tokens joined by spaces, as `tokenizers` without a decoder.
std::string run_decoders(const std::vector<DecoderStep>& steps, std::vector<std::string> tokens);

// tokenizer.json parts -> steps. Throws ConfigError naming `file` and the key (e.g.
// "pre_tokenizer.pretokenizers[0].pattern.Regex") for anything ptm does not run exactly.
std::vector<NormalizerStep> parse_normalizers(const nlohmann::json& j, const std::string& file, const std::string& key);
std::vector<PreTokenizerStep> parse_pre_tokenizers(const nlohmann::json& j, const std::string& file,
                                                   const std::string& key);
std::vector<DecoderStep> parse_decoders(const nlohmann::json& j, const std::string& file, const std::string& key);

// Rust's String::from_utf8_lossy: each maximal invalid subsequence becomes U+FFFD.
std::string utf8_lossy(std::string_view bytes);

}  // namespace ptm::data
