// load_tokenizer: Hugging Face tokenizer.json (BPE with ByteLevel, WordPiece with BERT's
// normalizer and pre-tokenizer), BERT's vocab.txt, GPT-2's vocab.json + merges.txt, or a
// directory holding one of them.
#include <algorithm>
#include <filesystem>
#include <unordered_map>
#include <nlohmann/json.hpp>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/data/bpe.h"
#include "ptm/data/text_pipeline.h"
#include "ptm/data/tokenizer.h"
#include "ptm/data/wordpiece.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace ptm::data {
namespace {

constexpr const char* kExpected = "expected tokenizer.json, vocab.txt (WordPiece) or vocab.json + merges.txt (BPE)";

ConfigError bad(const std::string& file, const std::string& key, const std::string& message) {
  return ConfigError(Origin{file}, key, message);
}

std::string type_of(const json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "";
}

// id -> token from a {token: id} object; ids absent from the object are "" (see check_ids).
std::vector<std::string> vocab_by_id(const json& vocab, const std::string& file, const std::string& key) {
  if (!vocab.is_object()) throw bad(file, key, "expected an object of token: id");
  std::vector<std::string> out;
  std::vector<bool> seen;
  // Ids run 0..n-1, with gaps only where added tokens go (check_ids): an id far past the entry
  // count is an error before the table grows to it (a single huge id would allocate gigabytes).
  const auto limit = static_cast<int64_t>(2 * vocab.size() + 1024);
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0)
      throw bad(file, key + "." + token, "expected a non-negative integer id");
    if (id.get<int64_t>() >= limit)
      throw bad(file, key + "." + token,
                "id " + std::to_string(id.get<int64_t>()) + " is far past the " + std::to_string(vocab.size()) +
                    " entries of the vocabulary (ids run from 0, continued by the added tokens)");
    // "" marks an id without a token here and in check_ids; as the highest id it let the gap
    // search run off the table (found by fuzzing).
    if (token.empty()) throw bad(file, key, "an empty token (id " + id.dump() + "); expected non-empty tokens");
    const auto i = id.get<size_t>();
    if (out.size() <= i) out.resize(i + 1), seen.resize(i + 1);
    if (seen[i])  // two tokens, one id: one of them could never be decoded
      throw bad(file, key + "." + token, "id " + std::to_string(i) + " is also the id of \"" + out[i] + "\"");
    out[i] = token;
    seen[i] = true;
  }
  if (out.empty()) throw bad(file, key, "the vocabulary is empty");
  return out;
}

// Every id below the vocabulary size needs a token (from `vocab` or `added`): an id without one
// would make the model's embedding larger than the tokenizer and fail to decode.
void check_ids(const std::vector<std::string>& vocab, const std::vector<AddedToken>& added, const std::string& file,
               const std::string& key) {
  int64_t size = static_cast<int64_t>(vocab.size());
  for (const auto& a : added) size = std::max<int64_t>(size, int64_t{a.id} + 1);
  std::vector<bool> has(static_cast<size_t>(size));
  for (size_t i = 0; i < vocab.size(); ++i) has[i] = !vocab[i].empty();
  for (const auto& a : added) has[static_cast<size_t>(a.id)] = true;
  for (int64_t i = 0; i < size; ++i) {
    if (has[static_cast<size_t>(i)]) continue;
    int64_t next = i;  // the first id after the gap (size when none follows)
    while (next < size && !has[static_cast<size_t>(next)]) ++next;
    const std::string gap = next == i + 1 ? "id " + std::to_string(i) : "ids " + std::to_string(i) + " to " +
                                                                            std::to_string(next - 1);
    for (size_t k = 0; k < added.size(); ++k)
      if (added[k].id == next && next >= static_cast<int64_t>(vocab.size()))
        throw bad(file, "added_tokens[" + std::to_string(k) + "]",
                  "\"" + added[k].content + "\" has id " + std::to_string(next) + ", which leaves " + gap +
                      " without a token (the vocabulary has " + std::to_string(vocab.size()) +
                      " ids; added tokens continue it)");
    throw bad(file, key, "no token has " + gap + " (ids must run from 0 to " + std::to_string(size - 1) +
                             " without gaps)");
  }
}

// Added tokens as tokenizer.json lists them. Each is either a token of the model's vocabulary
// with the same id, or a new token on an id no other token has.
std::vector<AddedToken> added_tokens(const json& j, const std::vector<std::string>& vocab, const std::string& file) {
  std::vector<AddedToken> out;
  if (!j.contains("added_tokens") || j["added_tokens"].is_null()) return out;
  if (!j["added_tokens"].is_array()) throw bad(file, "added_tokens", "expected a list");
  std::unordered_map<std::string, int32_t> in_vocab;
  for (size_t i = 0; i < vocab.size(); ++i)
    if (!vocab[i].empty()) in_vocab.emplace(vocab[i], static_cast<int32_t>(i));
  std::unordered_map<int32_t, size_t> by_id;
  std::unordered_map<std::string, size_t> by_content;
  for (size_t k = 0; k < j["added_tokens"].size(); ++k) {
    const json& a = j["added_tokens"][k];
    const std::string where = "added_tokens[" + std::to_string(k) + "]";
    if (!a.is_object() || !a.contains("content") || !a["content"].is_string() || !a.contains("id") ||
        !a["id"].is_number_integer())
      throw bad(file, where, "expected an object with \"id\" and \"content\"");
    if (a["id"].get<int64_t>() < 0 || a["id"].get<int64_t>() > (int64_t{1} << 30))
      throw bad(file, where, "id " + a["id"].dump() + " is out of range (expected 0 to 2^30)");
    AddedToken t;
    t.content = a["content"];
    t.id = a["id"];
    const std::string self = "\"" + t.content + "\" (id " + std::to_string(t.id) + ")";
    if (const auto v = in_vocab.find(t.content); v != in_vocab.end() && v->second != t.id)
      throw bad(file, where, self + " is id " + std::to_string(v->second) + " in model.vocab");
    if (t.id < static_cast<int32_t>(vocab.size()) && !vocab[t.id].empty() && vocab[t.id] != t.content)
      throw bad(file, where, self + ": id " + std::to_string(t.id) + " is \"" + vocab[t.id] + "\" in model.vocab");
    if (const auto d = by_id.find(t.id); d != by_id.end() && out[d->second].content != t.content)
      throw bad(file, where, self + ": id " + std::to_string(t.id) + " is also added_tokens[" +
                                 std::to_string(d->second) + "] \"" + out[d->second].content + "\"");
    if (const auto d = by_content.find(t.content); d != by_content.end() && out[d->second].id != t.id)
      throw bad(file, where, self + " is also added_tokens[" + std::to_string(d->second) + "] with id " +
                                 std::to_string(out[d->second].id));
    t.special = a.value("special", false);
    t.lstrip = a.value("lstrip", false);
    t.rstrip = a.value("rstrip", false);
    t.single_word = a.value("single_word", false);
    t.normalized = a.value("normalized", !t.special);
    by_id.emplace(t.id, out.size());
    by_content.emplace(t.content, out.size());
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::pair<int32_t, int32_t>> merge_ids(const std::vector<std::pair<std::string, std::string>>& merges,
                                                   const std::vector<std::string>& vocab, const std::string& file,
                                                   const std::string& key) {
  std::unordered_map<std::string, int32_t> ids;
  for (size_t i = 0; i < vocab.size(); ++i)
    if (!vocab[i].empty()) ids.emplace(vocab[i], static_cast<int32_t>(i));
  std::vector<std::pair<int32_t, int32_t>> out;
  out.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto a = ids.find(merges[i].first), b = ids.find(merges[i].second);
    if (a == ids.end() || b == ids.end())
      throw bad(file, key,
                "merge " + std::to_string(i) + " (\"" + merges[i].first + " " + merges[i].second +
                    "\") uses a token that is not in the vocabulary");
    out.emplace_back(a->second, b->second);
  }
  return out;
}

std::pair<std::string, std::string> split_merge(const std::string& line, const std::string& file,
                                                const std::string& where) {
  const size_t sp = line.find(' ');
  if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string::npos)
    throw bad(file, where, "expected a merge \"A B\" (two tokens separated by one space), got \"" + line + "\"");
  return {line.substr(0, sp), line.substr(sp + 1)};
}

// A BPE model behind another pipeline than GPT-2's lone ByteLevel: Llama 3's Sequence of Split
// and ByteLevel, or SentencePiece's Metaspace or Prepend/Replace normalizers with byte_fallback.
void set_pipeline(BpeSpec& spec, const json& j, const std::string& file) {
  const json null_json;
  auto part = [&](const char* key) -> const json& { return j.contains(key) ? j[key] : null_json; };
  auto pipeline = std::make_shared<TextPipeline>();
  pipeline->normalizers = parse_normalizers(part("normalizer"), file, "normalizer");
  pipeline->pre_tokenizers = parse_pre_tokenizers(part("pre_tokenizer"), file, "pre_tokenizer");
  spec.byte_level = !pipeline->pre_tokenizers.empty() &&
                    pipeline->pre_tokenizers.back().kind == PreTokenizerStep::Kind::kByteLevel;
  if (spec.byte_level && spec.byte_fallback)
    throw bad(file, "model.byte_fallback", "unsupported with a ByteLevel pre-tokenizer (expected false)");
  spec.decoders = parse_decoders(part("decoder"), file, "decoder");
  spec.normalizer_json = part("normalizer");
  spec.pre_tokenizer_json = part("pre_tokenizer");
  spec.decoder_json = part("decoder");
  spec.pipeline = std::move(pipeline);
}

// Added tokens marked "normalized" are matched after the normalizer in `tokenizers`, with their
// own text normalized too: behind a normalizer they go to the model's second pass.
void split_added_normalized(BpeSpec& spec, const std::vector<AddedToken>& added) {
  if (spec.pipeline->normalizers.empty()) return;
  if (std::none_of(added.begin(), added.end(), [](const AddedToken& t) { return t.normalized; })) return;
  for (const auto& t : added) {
    if (!t.normalized) {
      spec.raw_added.push_back(t);
      continue;
    }
    AddedToken n = t;
    n.content = spec.pipeline->normalize(t.content);
    spec.normalized_added.push_back(n);
  }
}

std::unique_ptr<Tokenizer> from_tokenizer_json(const std::string& file) {
  const std::string text = fs_util::read_file(file);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number overflow
    throw bad(file, "", std::string("not valid JSON (expected a Hugging Face tokenizer.json): ") + e.what());
  }
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    throw bad(file, "model", "missing: expected a Hugging Face tokenizer.json with a \"model\" object");
  const json& model = j["model"];
  std::string type = type_of(model);
  if (type.empty())
    type = model.contains("merges") ? "BPE" : model.contains("max_input_chars_per_word") ? "WordPiece" : "";
  const json null_json;
  const json& pre = j.contains("pre_tokenizer") ? j["pre_tokenizer"] : null_json;
  const json& norm = j.contains("normalizer") ? j["normalizer"] : null_json;

  std::unique_ptr<BaseTokenizer> tok;
  std::vector<AddedToken> added;
  auto read_vocab = [&] {  // the model's vocabulary, checked together with the added tokens
    auto vocab = vocab_by_id(model.value("vocab", json()), file, "model.vocab");
    added = added_tokens(j, vocab, file);
    check_ids(vocab, added, file, "model.vocab");
    return vocab;
  };
  if (type == "BPE") {
    BpeSpec spec;
    spec.vocab = read_vocab();
    std::vector<std::pair<std::string, std::string>> merges;
    const json& m = model.contains("merges") ? model["merges"] : null_json;
    if (!m.is_array()) throw bad(file, "model.merges", "expected a list of merges");
    for (size_t i = 0; i < m.size(); ++i) {
      const std::string where = "model.merges[" + std::to_string(i) + "]";
      if (m[i].is_string())
        merges.push_back(split_merge(m[i].get<std::string>(), file, where));
      else if (m[i].is_array() && m[i].size() == 2 && m[i][0].is_string() && m[i][1].is_string())
        merges.emplace_back(m[i][0].get<std::string>(), m[i][1].get<std::string>());
      else
        throw bad(file, where, "expected \"A B\" or [\"A\", \"B\"]");
    }
    spec.merges = merge_ids(merges, spec.vocab, file, "model.merges");
    if (model.contains("unk_token") && model["unk_token"].is_string())
      spec.unk_token = model["unk_token"].get<std::string>();
    spec.fuse_unk = model.value("fuse_unk", false);
    spec.ignore_merges = model.value("ignore_merges", false);
    spec.byte_fallback = model.value("byte_fallback", false);
    for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix", "dropout"})
      if (model.contains(k) && !model[k].is_null() && !(model[k].is_string() && model[k].get<std::string>().empty()))
        throw bad(file, std::string("model.") + k, "unsupported (expected null)");
    const json* bl = &pre;
    if (type_of(pre) == "Sequence" && pre.value("pretokenizers", json::array()).size() == 1)
      bl = &pre["pretokenizers"][0];
    if (type_of(*bl) == "ByteLevel" && norm.is_null() && !spec.byte_fallback) {  // GPT-2's own path
      spec.add_prefix_space = bl->value("add_prefix_space", false);
      spec.use_regex = bl->value("use_regex", true);
    } else {
      set_pipeline(spec, j, file);
      split_added_normalized(spec, added);
    }
    tok = make_bpe_tokenizer(std::move(spec), file);
  } else if (type == "WordPiece") {
    WordPieceSpec spec;
    spec.vocab = read_vocab();
    spec.unk_token = model.value("unk_token", std::string("[UNK]"));
    spec.continuing_subword_prefix = model.value("continuing_subword_prefix", std::string("##"));
    if (model.contains("max_input_chars_per_word") && !model["max_input_chars_per_word"].is_number_integer())
      throw bad(file, "model.max_input_chars_per_word", "expected an integer, got " + model["max_input_chars_per_word"].dump());
    spec.max_input_chars_per_word = model.value("max_input_chars_per_word", int64_t{100});
    if (type_of(norm) == "BertNormalizer") {
      auto& n = spec.normalizer;
      n.clean_text = norm.value("clean_text", true);
      n.handle_chinese_chars = norm.value("handle_chinese_chars", true);
      n.lowercase = norm.value("lowercase", true);
      n.strip_accents = norm.contains("strip_accents") && norm["strip_accents"].is_boolean()
                            ? norm["strip_accents"].get<bool>()
                            : n.lowercase;  // null: follows lowercase
    } else {
      throw bad(file, "normalizer",
                "unsupported \"" + (norm.is_null() ? std::string("null") : type_of(norm)) +
                    "\" for a WordPiece model (expected BertNormalizer)");
    }
    if (type_of(pre) != "BertPreTokenizer")
      throw bad(file, "pre_tokenizer",
                "unsupported \"" + type_of(pre) + "\" for a WordPiece model (expected BertPreTokenizer)");
    if (j.contains("decoder") && type_of(j["decoder"]) == "WordPiece") {
      spec.decoder_cleanup = j["decoder"].value("cleanup", true);
    }
    tok = make_wordpiece_tokenizer(std::move(spec), file);
  } else {
    throw bad(file, "model.type", "unsupported \"" + type + "\" (expected BPE or WordPiece)");
  }

  for (const auto& t : added) tok->add_token(t);
  PostProcessor post;
  try {
    post = parse_post_processor(j.contains("post_processor") ? j["post_processor"] : null_json, *tok, file);
  } catch (const json::exception& e) {  // a field of the wrong type or missing
    throw bad(file, "post_processor", e.what());
  }
  for (const auto* pieces : {&post.single, &post.pair})
    for (const auto& piece : *pieces)
      for (const int32_t id : piece.ids)
        if (id < 0 || id >= tok->vocab_size())
          throw bad(file, "post_processor", "special token id " + std::to_string(id) + " is outside the vocabulary of " +
                                                std::to_string(tok->vocab_size()));
  tok->set_post_processor(post);
  if (j.contains("padding") && j["padding"].is_object() && j["padding"].contains("pad_id")) {
    const json& pad = j["padding"]["pad_id"];
    if (!pad.is_number_integer() || pad.get<int64_t>() < 0 || pad.get<int64_t>() >= tok->vocab_size())
      throw bad(file, "padding.pad_id",
                "expected a token id from 0 to " + std::to_string(tok->vocab_size() - 1) + ", got " + pad.dump());
    tok->set_pad_id(pad.get<int32_t>());
  }
  return tok;
}

std::unique_ptr<Tokenizer> from_vocab_txt(const std::string& file) {
  const std::string text = fs_util::read_file(file);
  WordPieceSpec spec;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    spec.vocab.push_back(line);
    start = end + 1;
  }
  while (!spec.vocab.empty() && spec.vocab.back().empty()) spec.vocab.pop_back();  // blank lines at the end
  if (spec.vocab.empty()) throw bad(file, "", "empty vocabulary (expected one WordPiece token per line)");
  // A token's id is its line number, so every line must hold a token found on no other line:
  // gaps and repeats would give ids past the vocabulary size (and Hugging Face keeps the last
  // of repeated lines, ptm the first).
  std::unordered_map<std::string, size_t> line_of;
  for (size_t i = 0; i < spec.vocab.size(); ++i) {
    const std::string where = "line " + std::to_string(i + 1);
    if (spec.vocab[i].empty()) throw bad(file, where, "empty (expected one WordPiece token per line)");
    if (const auto [it, fresh] = line_of.emplace(spec.vocab[i], i); !fresh)
      throw bad(file, where, "\"" + spec.vocab[i] + "\" repeats line " + std::to_string(it->second + 1) +
                                 " (expected each token once)");
  }
  if (std::find(spec.vocab.begin(), spec.vocab.end(), spec.unk_token) == spec.vocab.end())
    throw bad(file, "", "no [UNK] line (expected a BERT WordPiece vocab.txt)");
  auto tok = make_wordpiece_tokenizer(std::move(spec), file);
  for (const char* s : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"})
    if (auto id = tok->token_to_id(s)) tok->add_token(AddedToken{s, *id});
  const auto cls = tok->token_to_id("[CLS]"), sep = tok->token_to_id("[SEP]");
  if (cls && sep) tok->set_post_processor(bert_post_processor(*cls, *sep));
  return tok;
}

std::unique_ptr<Tokenizer> from_gpt2_files(const std::string& vocab_file, const std::string& merges_file) {
  json vocab;
  try {
    vocab = json::parse(fs_util::read_file(vocab_file));
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number overflow
    throw bad(vocab_file, "", std::string("not valid JSON (expected GPT-2's vocab.json): ") + e.what());
  }
  BpeSpec spec;
  spec.vocab = vocab_by_id(vocab, vocab_file, "vocab");
  check_ids(spec.vocab, {}, vocab_file, "vocab");
  const std::string text = fs_util::read_file(merges_file);
  std::vector<std::pair<std::string, std::string>> merges;
  size_t start = 0, line_no = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    merges.push_back(split_merge(line, merges_file, "line " + std::to_string(line_no)));
  }
  spec.merges = merge_ids(merges, spec.vocab, merges_file, "merges");
  auto tok = make_bpe_tokenizer(std::move(spec), merges_file);
  if (auto id = tok->token_to_id("<|endoftext|>")) tok->add_token(AddedToken{"<|endoftext|>", *id});
  return tok;
}

}  // namespace

namespace {

// A field of the wrong type that no check above names (nlohmann's value() and get() throw
// their own exceptions, found by fuzzing) still ends as a ConfigError naming the file.
std::unique_ptr<Tokenizer> checked_tokenizer_json(const std::string& file) {
  try {
    return from_tokenizer_json(file);
  } catch (const json::exception& e) {
    throw bad(file, "", std::string("a field has the wrong type or shape: ") + e.what());
  }
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw IoError("tokenizer '" + path + "' does not exist (" + kExpected + ")");
  if (fs::is_directory(path, ec)) {
    const fs::path dir(path);
    if (fs::exists(dir / "tokenizer.json")) return checked_tokenizer_json((dir / "tokenizer.json").string());
    if (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt"))
      return from_gpt2_files((dir / "vocab.json").string(), (dir / "merges.txt").string());
    if (fs::exists(dir / "vocab.txt")) return from_vocab_txt((dir / "vocab.txt").string());
    throw IoError("tokenizer directory '" + path + "' holds no tokenizer (" + kExpected + ")");
  }
  const fs::path p(path);
  const std::string name = p.filename().string();
  const fs::path dir = p.parent_path();
  if (name == "merges.txt" || name == "vocab.json") {
    const std::string vocab = (dir / "vocab.json").string(), merges = (dir / "merges.txt").string();
    if (!fs::exists(vocab) || !fs::exists(merges))
      throw IoError("tokenizer '" + path + "': GPT-2 BPE needs both '" + vocab + "' and '" + merges + "'");
    return from_gpt2_files(vocab, merges);
  }
  if (p.extension() == ".txt") return from_vocab_txt(path);
  if (p.extension() == ".json") return checked_tokenizer_json(path);
  throw ConfigError(Origin{path}, "", std::string("unknown tokenizer file (") + kExpected + ")");
}

}  // namespace ptm::data
