// The WordPiece tokenizer: normalized words from bert_words(), greedy longest match per word
// (cached), and Hugging Face's WordPiece decoder.
#include "ptm/data/wordpiece.h"

#include <unordered_map>

#include "ptm/core/errors.h"
#include "ptm/data/tokenizer_cache.h"
#include "ptm/data/unicode.h"

namespace ptm::data {
namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

size_t utf8_chars(std::string_view s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

class WordPieceTokenizer final : public BaseTokenizer {
 public:
  WordPieceTokenizer(WordPieceSpec spec, const std::string& source) : spec_(std::move(spec)) {
    for (size_t id = 0; id < spec_.vocab.size(); ++id)
      if (!spec_.vocab[id].empty()) vocab_.emplace(spec_.vocab[id], static_cast<int32_t>(id));
    const auto it = vocab_.find(spec_.unk_token);
    if (it == vocab_.end())
      throw ConfigError(Origin{source}, "model.unk_token", "\"" + spec_.unk_token + "\" is not in the vocabulary");
    unk_id_ = it->second;
  }

  std::string kind() const override { return "wordpiece"; }

  std::string to_hf_json() const override {
    auto j = hf_json_base();
    const auto& n = spec_.normalizer;
    j["normalizer"] = {{"type", "BertNormalizer"},
                       {"clean_text", n.clean_text},
                       {"handle_chinese_chars", n.handle_chinese_chars},
                       {"strip_accents", n.strip_accents},
                       {"lowercase", n.lowercase}};
    j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
    j["decoder"] = {
        {"type", "WordPiece"}, {"prefix", spec_.continuing_subword_prefix}, {"cleanup", spec_.decoder_cleanup}};
    nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
    for (size_t id = 0; id < spec_.vocab.size(); ++id)
      if (!spec_.vocab[id].empty()) vocab[spec_.vocab[id]] = id;
    j["model"] = {{"type", "WordPiece"},
                  {"unk_token", spec_.unk_token},
                  {"continuing_subword_prefix", spec_.continuing_subword_prefix},
                  {"max_input_chars_per_word", spec_.max_input_chars_per_word},
                  {"vocab", vocab}};
    return j.dump(2);
  }

 protected:
  void encode_text(std::string_view text, std::vector<int32_t>& out) const override {
    std::string buffer;
    std::vector<std::pair<uint32_t, uint32_t>> words;
    buffer.reserve(text.size() + 16);
    words.reserve(text.size() / 4 + 4);
    bert_words(text, spec_.normalizer, buffer, words);
    std::string key;
    for (const auto& [b, e] : words) {
      const std::string_view word(buffer.data() + b, e - b);
      const uint64_t h = hash_bytes(word);
      if (cache_.lookup(word, h, out)) continue;
      const size_t before = out.size();
      tokenize_word(word, key, out);
      cache_.insert(word, h, out.data() + before, out.size() - before);
    }
  }

  bool decode_token(size_t index, int32_t id, const std::string* added, std::string& out) const override {
    std::string token;
    if (added) {
      token = *added;
    } else {
      if (id < 0 || static_cast<size_t>(id) >= spec_.vocab.size() || spec_.vocab[id].empty()) return false;
      token = spec_.vocab[id];
    }
    const std::string& prefix = spec_.continuing_subword_prefix;
    if (index != 0) {
      if (!prefix.empty() && token.compare(0, prefix.size(), prefix) == 0)
        token.erase(0, prefix.size());
      else
        token.insert(0, 1, ' ');
    }
    if (spec_.decoder_cleanup) {
      replace_all(token, " .", ".");
      replace_all(token, " ?", "?");
      replace_all(token, " !", "!");
      replace_all(token, " ,", ",");
      replace_all(token, " ' ", "'");
      replace_all(token, " n't", "n't");
      replace_all(token, " 'm", "'m");
      replace_all(token, " do not", " don't");
      replace_all(token, " 's", "'s");
      replace_all(token, " 've", "'ve");
      replace_all(token, " 're", "'re");
    }
    out += token;
    return true;
  }

  // Ids index spec_.vocab, whose empty slots (filled by added tokens) still count: the distinct
  // tokens alone could number fewer than the largest id (found by fuzzing).
  int64_t model_vocab_size() const override { return static_cast<int64_t>(spec_.vocab.size()); }
  std::optional<int32_t> model_token_to_id(const std::string& token) const override {
    const auto it = vocab_.find(token);
    return it == vocab_.end() ? std::nullopt : std::optional<int32_t>(it->second);
  }
  std::optional<std::string> model_id_to_token(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= spec_.vocab.size() || spec_.vocab[id].empty()) return std::nullopt;
    return spec_.vocab[id];
  }

 private:
  // Greedy longest-match-first; the whole word becomes [UNK] when some part matches nothing.
  void tokenize_word(std::string_view word, std::string& key, std::vector<int32_t>& out) const {
    if (static_cast<int64_t>(utf8_chars(word)) > spec_.max_input_chars_per_word) {
      out.push_back(unk_id_);
      return;
    }
    const size_t before = out.size();
    size_t start = 0;
    while (start < word.size()) {
      size_t end = word.size();
      int32_t found = -1;
      while (start < end) {
        key.clear();
        if (start > 0) key += spec_.continuing_subword_prefix;
        key.append(word.data() + start, end - start);
        if (const auto it = vocab_.find(key); it != vocab_.end()) {
          found = it->second;
          break;
        }
        do --end;  // back one UTF-8 character
        while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
      }
      if (found < 0) {
        out.resize(before);
        out.push_back(unk_id_);
        return;
      }
      out.push_back(found);
      start = end;
    }
  }

  WordPieceSpec spec_;
  std::unordered_map<std::string, int32_t> vocab_;
  int32_t unk_id_ = 0;
  WordCache cache_;
};

}  // namespace

std::unique_ptr<BaseTokenizer> make_wordpiece_tokenizer(WordPieceSpec spec, const std::string& source) {
  return std::make_unique<WordPieceTokenizer>(std::move(spec), source);
}

}  // namespace ptm::data
