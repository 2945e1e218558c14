// What the concrete tokenizers share: added (special) tokens matched in the raw text before
// normalization, as Hugging Face's AddedVocabulary does, the post-processor, padding, and the
// tokenizer.json pieces common to every model.
#pragma once
#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "ptm/data/tokenizer.h"

namespace ptm::data {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = true;
  bool lstrip = false;       // the match also takes the whitespace before it
  bool rstrip = false;       // ... and after it
  bool single_word = false;  // only when not inside a word
  bool normalized = false;   // (matched on the raw text all the same)
};

class AddedVocab {
 public:
  void add(const AddedToken& token);
  bool empty() const { return tokens_.empty(); }
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* by_id(int32_t id) const;
  const AddedToken* by_content(const std::string& content) const;

  // Splits `text` at added tokens (leftmost, then longest match). Calls on_text(string_view)
  // for each non-empty stretch of plain text and on_token(id) for each match.
  template <typename OnText, typename OnToken>
  void split(std::string_view text, OnText&& on_text, OnToken&& on_token) const {
    size_t done = 0, i = 0;
    while (i < text.size()) {
      size_t begin = 0, end = 0;
      const AddedToken* t =
          first_byte_[static_cast<unsigned char>(text[i])] ? match_at(text, i, done, begin, end) : nullptr;
      if (!t) {
        ++i;
        continue;
      }
      if (begin > done) on_text(text.substr(done, begin - done));
      on_token(t->id);
      done = i = end;
    }
    if (done < text.size()) on_text(text.substr(done));
  }

 private:
  const AddedToken* match_at(std::string_view text, size_t i, size_t done, size_t& begin, size_t& end) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<std::string, size_t> by_content_;
  std::unordered_map<int32_t, size_t> by_id_;
  std::array<bool, 256> first_byte_{};
  std::array<std::vector<size_t>, 256> candidates_;  // by first byte, longest first
};

// The part of every tokenizer that is not the model: added tokens, post-processor, padding.
class BaseTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = true) const override;
  int64_t vocab_size() const override;
  std::optional<int32_t> token_to_id(const std::string& token) const override;
  std::string id_to_token(int32_t id) const override;

  const PostProcessor& post_processor() const override { return post_; }
  int32_t pad_id() const override;
  bool is_special(int32_t id) const override;
  std::vector<std::string> special_tokens() const override;

  void add_token(const AddedToken& token) { added_.add(token); }
  void set_post_processor(PostProcessor post) { post_ = std::move(post); }
  void set_pad_id(int32_t id) { pad_id_ = id; }
  const AddedVocab& added() const { return added_; }

 protected:
  // The model's part of encoding: text between added tokens.
  virtual void encode_text(std::string_view text, std::vector<int32_t>& out) const = 0;
  // The same, told whether the text starts the input (Metaspace's prepend_scheme "first"
  // prepends only there; `tokenizers` checks the text's original offset).
  virtual void encode_text_at(std::string_view text, bool /*at_start*/, std::vector<int32_t>& out) const {
    encode_text(text, out);
  }
  // Appends the decoded form of the index-th kept token (the model's decoder, token by token);
  // `added` is the content when the id is an added token. False (nothing appended) for an
  // unknown id, which decoding skips as Hugging Face does.
  virtual bool decode_token(size_t index, int32_t id, const std::string* added, std::string& out) const = 0;
  virtual int64_t model_vocab_size() const = 0;
  virtual std::optional<int32_t> model_token_to_id(const std::string& token) const = 0;
  virtual std::optional<std::string> model_id_to_token(int32_t id) const = 0;

  // tokenizer.json skeleton: version, truncation, padding, added_tokens, post_processor.
  nlohmann::ordered_json hf_json_base() const;

 private:
  AddedVocab added_;
  PostProcessor post_;
  std::optional<int32_t> pad_id_;
};

// Template pieces <-> tokenizer.json's post_processor.
PostProcessor parse_post_processor(const nlohmann::json& j, const BaseTokenizer& tok, const std::string& file);
nlohmann::ordered_json post_processor_json(const PostProcessor& post, const Tokenizer& tok);
// BERT's [CLS] $A [SEP] ($B [SEP]) with the given ids.
PostProcessor bert_post_processor(int32_t cls, int32_t sep);

}  // namespace ptm::data
