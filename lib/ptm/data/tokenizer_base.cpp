// Added-token matching, decoding loop, vocabulary bookkeeping and the post-processor's
// tokenizer.json form, shared by the byte, BPE and WordPiece tokenizers.
#include "ptm/data/tokenizer_base.h"

#include <algorithm>
#include <cstdint>

#include "ptm/core/errors.h"
#include "ptm/data/text_pipeline.h"
#include "ptm/data/unicode.h"

namespace ptm::data {
namespace {

// Rust's char::is_whitespace on the code point that starts or ends at a position.
bool space_at(std::string_view s, size_t i, size_t& len) {
  const uint32_t cp = unicode::decode_utf8(reinterpret_cast<const unsigned char*>(s.data()) + i, s.size() - i, len);
  return cp != unicode::kInvalid && (unicode::flags(cp) & unicode::kWhiteSpace);
}

// Start of the UTF-8 character that ends just before `i`.
size_t char_before(std::string_view s, size_t i) {
  size_t j = i - 1;
  while (j > 0 && i - j < 4 && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) --j;
  return j;
}

// \w for single_word tokens (the regex crate's: letters, marks, digits, connectors...).
bool word_char_at(std::string_view s, size_t i) {
  size_t len = 0;
  const uint32_t cp = unicode::decode_utf8(reinterpret_cast<const unsigned char*>(s.data()) + i, s.size() - i, len);
  if (cp == unicode::kInvalid) return false;
  return unicode::flags(cp) & unicode::kWord;
}

}  // namespace

size_t PostProcessor::added_tokens(bool is_pair) const {
  size_t n = 0;
  for (const auto& p : is_pair ? pair : single)
    if (p.kind == TemplatePiece::Kind::kSpecial) n += p.ids.size();
  return n;
}

void AddedVocab::add(const AddedToken& token) {
  if (token.content.empty()) return;
  if (auto it = by_content_.find(token.content); it != by_content_.end()) {
    tokens_[it->second] = token;
  } else {
    by_content_[token.content] = tokens_.size();
    tokens_.push_back(token);
  }
  by_id_.clear();
  for (auto& c : candidates_) c.clear();
  first_byte_.fill(false);
  for (size_t i = 0; i < tokens_.size(); ++i) {
    by_id_[tokens_[i].id] = i;
    const auto b = static_cast<unsigned char>(tokens_[i].content[0]);
    first_byte_[b] = true;
    candidates_[b].push_back(i);
  }
  for (auto& c : candidates_)
    std::stable_sort(c.begin(), c.end(),
                     [&](size_t a, size_t b) { return tokens_[a].content.size() > tokens_[b].content.size(); });
}

const AddedToken* AddedVocab::by_id(int32_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocab::by_content(const std::string& content) const {
  const auto it = by_content_.find(content);
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocab::match_at(std::string_view text, size_t i, size_t done, size_t& begin, size_t& end) const {
  for (const size_t k : candidates_[static_cast<unsigned char>(text[i])]) {
    const AddedToken& t = tokens_[k];
    if (text.compare(i, t.content.size(), t.content) != 0) continue;
    begin = i;
    end = i + t.content.size();
    if (t.single_word) {
      const bool word_before = begin > 0 && word_char_at(text, char_before(text, begin));
      const bool word_after = end < text.size() && word_char_at(text, end);
      if (word_before || word_after) continue;
    }
    if (t.lstrip) {
      while (begin > done) {
        const size_t j = char_before(text, begin);
        size_t len = 0;
        if (!space_at(text, j, len) || j + len != begin) break;
        begin = j;
      }
    }
    if (t.rstrip) {
      size_t len = 0;
      while (end < text.size() && space_at(text, end, len)) end += len;
    }
    return &t;
  }
  return nullptr;
}

std::vector<int32_t> BaseTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (added_.empty()) {
    if (!text.empty()) encode_text_at(text, true, out);
    return out;
  }
  added_.split(
      text, [&](std::string_view part) { encode_text_at(part, part.data() == text.data(), out); }, [&](int32_t id) { out.push_back(id); });
  return out;
}

std::string BaseTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string out;
  out.reserve(ids.size() * 4);
  size_t index = 0;
  for (const int32_t id : ids) {
    const AddedToken* a = added_.by_id(id);
    if (a && skip_special_tokens && a->special) continue;
    if (decode_token(index, id, a ? &a->content : nullptr, out)) ++index;
  }
  // Byte-level and byte tokens can end inside a character or hold invalid bytes: text is valid
  // UTF-8, as `tokenizers` makes it (from_utf8_lossy), so JSON, logs and TensorBoard take it.
  return utf8_lossy(out);
}

int64_t BaseTokenizer::vocab_size() const {
  int64_t n = model_vocab_size();
  for (const auto& t : added_.tokens()) n = std::max<int64_t>(n, int64_t{t.id} + 1);
  return n;
}

std::optional<int32_t> BaseTokenizer::token_to_id(const std::string& token) const {
  if (const AddedToken* a = added_.by_content(token)) return a->id;
  return model_token_to_id(token);
}

std::string BaseTokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* a = added_.by_id(id)) return a->content;
  auto t = model_id_to_token(id);
  if (!t)
    throw RuntimeError("token id " + std::to_string(id) + " is outside the vocabulary (size " +
                       std::to_string(vocab_size()) + ")");
  return *t;
}

int32_t BaseTokenizer::pad_id() const {
  if (pad_id_) return *pad_id_;
  for (const char* name : {"[PAD]", "<pad>", "<|pad|>", "<|padding|>", "<|endoftext|>", "</s>", "<eos>"})
    if (auto id = token_to_id(name)) return *id;
  return 0;
}

bool BaseTokenizer::is_special(int32_t id) const {
  const AddedToken* a = added_.by_id(id);
  return a && a->special;
}

std::vector<std::string> BaseTokenizer::special_tokens() const {
  std::vector<const AddedToken*> s;
  for (const auto& t : added_.tokens())
    if (t.special) s.push_back(&t);
  std::sort(s.begin(), s.end(), [](const AddedToken* a, const AddedToken* b) { return a->id < b->id; });
  std::vector<std::string> out;
  for (const auto* t : s) out.push_back(t->content);
  return out;
}

nlohmann::ordered_json BaseTokenizer::hf_json_base() const {
  nlohmann::ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  auto added = nlohmann::ordered_json::array();
  std::vector<const AddedToken*> sorted;
  for (const auto& t : added_.tokens()) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](const AddedToken* a, const AddedToken* b) { return a->id < b->id; });
  for (const AddedToken* t : sorted) {
    nlohmann::ordered_json a;
    a["id"] = t->id;
    a["content"] = t->content;
    a["single_word"] = t->single_word;
    a["lstrip"] = t->lstrip;
    a["rstrip"] = t->rstrip;
    a["normalized"] = t->normalized;
    a["special"] = t->special;
    added.push_back(a);
  }
  j["added_tokens"] = added;
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = nullptr;
  j["post_processor"] = post_processor_json(post_, *this);
  j["decoder"] = nullptr;
  j["model"] = nullptr;
  return j;
}

PostProcessor bert_post_processor(int32_t cls, int32_t sep) {
  using K = TemplatePiece::Kind;
  PostProcessor p;
  p.single = {{K::kSpecial, {cls}, 0}, {K::kSequenceA, {}, 0}, {K::kSpecial, {sep}, 0}};
  p.pair = {{K::kSpecial, {cls}, 0},
            {K::kSequenceA, {}, 0},
            {K::kSpecial, {sep}, 0},
            {K::kSequenceB, {}, 1},
            {K::kSpecial, {sep}, 1}};
  return p;
}

nlohmann::ordered_json post_processor_json(const PostProcessor& post, const Tokenizer& tok) {
  if (post.added_tokens(false) == 0 && post.added_tokens(true) == 0) return nullptr;
  nlohmann::ordered_json specials = nlohmann::ordered_json::object();
  auto pieces = [&](const std::vector<TemplatePiece>& list) {
    auto arr = nlohmann::ordered_json::array();
    for (const auto& p : list) {
      nlohmann::ordered_json item;
      if (p.kind == TemplatePiece::Kind::kSpecial) {
        std::string name;
        for (const int32_t id : p.ids) name += tok.id_to_token(id);
        item["SpecialToken"] = {{"id", name}, {"type_id", p.type_id}};
        std::vector<std::string> tokens;
        for (const int32_t id : p.ids) tokens.push_back(tok.id_to_token(id));
        specials[name] = {{"id", name}, {"ids", p.ids}, {"tokens", tokens}};
      } else {
        item["Sequence"] = {{"id", p.kind == TemplatePiece::Kind::kSequenceA ? "A" : "B"}, {"type_id", p.type_id}};
      }
      arr.push_back(item);
    }
    return arr;
  };
  nlohmann::ordered_json j;
  j["type"] = "TemplateProcessing";
  j["single"] = pieces(post.single);
  j["pair"] = pieces(post.pair);
  j["special_tokens"] = specials;
  return j;
}

PostProcessor parse_post_processor(const nlohmann::json& j, const BaseTokenizer& tok, const std::string& file) {
  using K = TemplatePiece::Kind;
  auto fail = [&](const std::string& msg) -> ConfigError { return ConfigError(Origin{file}, "post_processor", msg); };
  if (j.is_null()) return {};
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) throw fail("expected an object with a \"type\"");
  const std::string type = j["type"];
  // nlohmann converts a float to an integer unchecked (undefined when out of range; found by
  // fuzzing), so ids and type ids must be integers that fit.
  auto int_of = [&](const nlohmann::json& v, const std::string& what) -> int32_t {
    const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t{INT32_MAX}
                                             : v.is_number_integer() && v.get<int64_t>() >= INT32_MIN &&
                                                   v.get<int64_t>() <= INT32_MAX;
    if (!fits) throw fail(what + ": expected a 32-bit integer, got " + v.dump());
    return static_cast<int32_t>(v.get<int64_t>());
  };
  auto id_of = [&](const std::string& token) {
    auto id = tok.token_to_id(token);
    if (!id) throw fail("special token \"" + token + "\" is not in the vocabulary");
    return *id;
  };
  if (type == "ByteLevel") return {};
  if (type == "Sequence") {
    PostProcessor out;
    for (const auto& p : j.value("processors", nlohmann::json::array())) {
      PostProcessor one = parse_post_processor(p, tok, file);
      if (one.added_tokens(false) + one.added_tokens(true) > 0) out = one;
    }
    return out;
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    const auto& cls = j.at("cls");
    const auto& sep = j.at("sep");
    const int32_t cls_id = int_of(cls.at(1), "cls"), sep_id = int_of(sep.at(1), "sep");
    if (type == "BertProcessing") return bert_post_processor(cls_id, sep_id);
    PostProcessor p;
    p.single = {{K::kSpecial, {cls_id}, 0}, {K::kSequenceA, {}, 0}, {K::kSpecial, {sep_id}, 0}};
    p.pair = {{K::kSpecial, {cls_id}, 0},
              {K::kSequenceA, {}, 0},
              {K::kSpecial, {sep_id, sep_id}, 0},
              {K::kSequenceB, {}, 0},
              {K::kSpecial, {sep_id}, 0}};
    return p;
  }
  if (type != "TemplateProcessing")
    throw fail("unsupported type \"" + type +
               "\" (expected TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel or null)");
  const auto& specials = j.value("special_tokens", nlohmann::json::object());
  auto pieces = [&](const char* key) {
    std::vector<TemplatePiece> out;
    if (!j.contains(key) || !j[key].is_array()) throw fail(std::string("expected a \"") + key + "\" list");
    for (const auto& item : j[key]) {
      if (item.contains("SpecialToken")) {
        const auto& s = item["SpecialToken"];
        const std::string name = s.at("id");
        TemplatePiece p{K::kSpecial, {}, s.contains("type_id") ? int_of(s["type_id"], "type_id") : 0};
        if (specials.contains(name) && specials[name].contains("ids"))
          for (const auto& id : specials[name]["ids"]) p.ids.push_back(int_of(id, "special_tokens." + name + ".ids"));
        else
          p.ids = {id_of(name)};
        out.push_back(p);
      } else if (item.contains("Sequence")) {
        const auto& s = item["Sequence"];
        out.push_back({s.at("id") == "B" ? K::kSequenceB : K::kSequenceA, {},
                       s.contains("type_id") ? int_of(s["type_id"], "type_id") : 0});
      } else {
        throw fail("expected SpecialToken or Sequence items in \"" + std::string(key) + "\"");
      }
    }
    return out;
  };
  PostProcessor p;
  p.single = pieces("single");
  p.pair = pieces("pair");
  return p;
}

}  // namespace ptm::data
