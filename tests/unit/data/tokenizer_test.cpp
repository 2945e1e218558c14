// Tokenizer unit tests (no data needed). Expected pieces and ids marked "from tokenizers" were
// computed with Hugging Face `tokenizers` 0.23.3 (pre_tokenizers.ByteLevel(add_prefix_space=False),
// BertWordPieceTokenizer(vocab, lowercase=True)) on exactly these inputs, not with ptm.
#include <string>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"
#include "ptm/data/pretokenize.h"
#include "ptm/data/tokenizer.h"
#include "ptm/data/tokenizer_cache.h"

using namespace ptm;
using namespace ptm::data;
using Ids = std::vector<int32_t>;
using Pieces = std::vector<std::string>;

namespace {

Pieces gpt2_pieces(const std::string& text) {
  std::vector<std::string_view> views;
  split_gpt2(text, views);
  return Pieces(views.begin(), views.end());
}

// The vocabulary the WordPiece expectations below were computed with.
const char* kTinyVocab =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##world\ncafe\nnaive\nun\n##aff\n##able\n,\n.\n!\n"
    "\xe4\xb8\xad\n\xe6\x96\x87\na\n##a\nistanbul\n'\ns\ndon\nt\n##s\n";

std::unique_ptr<Tokenizer> tiny_wordpiece(const test::TempDir& dir) {
  return load_tokenizer(dir.write("vocab.txt", kTinyVocab));
}

std::vector<std::string> small_corpus() {
  std::vector<std::string> texts;
  for (int i = 0; i < 50; ++i) {
    texts.push_back("the quick brown fox jumps over the lazy dog " + std::to_string(i) + "\n");
    texts.push_back("She said: \"I'm here, aren't you?\" -- naïve café, 東京 😀\n");
  }
  return texts;
}

}  // namespace

TEST_CASE("the word cache returns what was stored while its tables grow and start over", "[unit][tokenizer]") {
  // Every word keeps its own ids through the tables' growth from a few slots; a full shard
  // starts over, so a word is then either absent or still right, never another word's ids.
  for (const size_t max_entries : {size_t{1} << 20, size_t{256}}) {
    const WordCache cache(max_entries);
    auto ids_of = [](int i) { return Ids{i, -i, i % 7}; };
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
      const std::string w = "w" + std::to_string(i);
      const Ids ids = ids_of(i);
      cache.insert(w, hash_bytes(w), ids.data(), ids.size());
    }
    int found = 0;
    for (int i = 0; i < n; ++i) {
      const std::string w = "w" + std::to_string(i);
      Ids out{99};
      if (!cache.lookup(w, hash_bytes(w), out)) {
        CHECK(out == Ids{99});
        continue;
      }
      ++found;
      Ids want{99};
      for (int32_t id : ids_of(i)) want.push_back(id);
      CHECK(out == want);
    }
    if (max_entries > size_t(n)) CHECK(found == n);
    else CHECK((found > 0 && found < n));
  }
}

TEST_CASE("GPT-2 pre-tokenizer splits like tokenizers", "[unit][tokenizer]") {
  // All expectations from tokenizers' ByteLevel pre-tokenizer (bytes mapped back to text).
  CHECK(gpt2_pieces("I'm can't we'll they've she'd you're it's") ==
        Pieces{"I", "'m", " can", "'t", " we", "'ll", " they", "'ve", " she", "'d", " you", "'re", " it", "'s"});
  CHECK(gpt2_pieces("Hello   world") == Pieces{"Hello", "  ", " world"});
  CHECK(gpt2_pieces("line1\nline2\n\n  indented\n") ==
        Pieces{"line", "1", "\n", "line", "2", "\n\n ", " indented", "\n"});
  CHECK(gpt2_pieces("x=123,456.78 and 2024-01-01") ==
        Pieces{"x", "=", "123", ",", "456", ".", "78", " and", " 2024", "-", "01", "-", "01"});
  CHECK(gpt2_pieces("na\u00efve caf\u00e9 \u00dcn\u00efc\u00f6d\u00e9") ==
        Pieces{"na\u00efve", " caf\u00e9", " \u00dcn\u00efc\u00f6d\u00e9"});
  CHECK(gpt2_pieces("\u4e2d\u6587\u5b57\u7b26 and \u65e5\u672c\u8a9e") ==
        Pieces{"\u4e2d\u6587\u5b57\u7b26", " and", " \u65e5\u672c\u8a9e"});
  CHECK(gpt2_pieces("emoji \U0001F600\U0001F44D\U0001F3FD ok") ==
        Pieces{"emoji", " \U0001F600\U0001F44D\U0001F3FD", " ok"});
  CHECK(gpt2_pieces("trailing spaces   ") == Pieces{"trailing", " spaces", "   "});
  CHECK(gpt2_pieces("'S 'LL uppercase") == Pieces{"'", "S", " '", "LL", " uppercase"});
  CHECK(gpt2_pieces("tab\tand\u00a0nbsp \u3000x") == Pieces{"tab", "\t", "and", "\u00a0", "nbsp", " ", "\u3000", "x"});
  CHECK(gpt2_pieces("don''t ''quoted''") == Pieces{"don", "''", "t", " ''", "quoted", "''"});
  CHECK(gpt2_pieces(" leading") == Pieces{" leading"});
  CHECK(gpt2_pieces("a\u0301b \u0661\u0662 x\u00b2") == Pieces{"a", "\u0301", "b", " \u0661\u0662", " x", "\u00b2"});
}

TEST_CASE("GPT-2 pre-tokenizer covers invalid UTF-8 losslessly", "[unit][tokenizer]") {
  const std::string text = std::string("ab\xff\xfe cd \xc3") + "\x80x\xe2\x82";
  const Pieces p = gpt2_pieces(text);
  std::string joined;
  for (const auto& s : p) joined += s;
  CHECK(joined == text);
  CHECK(p == Pieces{"ab", "\xff\xfe", " cd", " \xc3\x80x", "\xe2\x82"});
}

TEST_CASE("byte tokenizer maps bytes to ids and keeps specials", "[unit][tokenizer]") {
  auto tok = make_byte_tokenizer({"<|endoftext|>", "<pad>"});
  CHECK(tok->kind() == "bytes");
  CHECK(tok->vocab_size() == 258);
  CHECK(tok->encode("A\xff<|endoftext|>b") == Ids{65, 255, 256, 98});
  // Decoded text is valid UTF-8, invalid bytes as U+FFFD: Python's
  // b"A\xffb".decode("utf-8", "replace"), which is tokenizers' from_utf8_lossy.
  CHECK(tok->decode({65, 255, 256, 98}) == "A\xef\xbf\xbd"
                                          "b");
  CHECK(tok->decode({65, 256, 98}, false) == "A<|endoftext|>b");
  CHECK(tok->token_to_id("<pad>") == 257);
  CHECK(tok->pad_id() == 257);
  CHECK(tok->id_to_token(32) == "\xc4\xa0");  // GPT-2's symbol for ' ' (U+0120)
  const auto reloaded = [&] {
    test::TempDir dir;
    return load_tokenizer(dir.write("tokenizer.json", tok->to_hf_json()));
  }();
  CHECK(reloaded->encode("A\xff<|endoftext|>b") == Ids{65, 255, 256, 98});
}

TEST_CASE("trained byte-level BPE is deterministic and decodes as tokenizers does", "[unit][tokenizer]") {
  BpeTrainOptions o;
  o.vocab_size = 300;
  o.special_tokens = {"<|endoftext|>"};
  const auto a = train_byte_bpe(small_corpus(), o);
  const auto b = train_byte_bpe(small_corpus(), o);
  CHECK(a->kind() == "bpe");
  CHECK(a->vocab_size() == 300);
  CHECK(a->to_hf_json() == b->to_hf_json());
  CHECK(a->token_to_id("<|endoftext|>") == 0);
  const std::string text = "the lazy fox<|endoftext|> caf\xc3\xa9 \xff\xfe\x80 broken \xe6\x9d";
  const Ids ids = a->encode(text);
  CHECK(ids.size() < text.size());
  // Golden: Python's bytes.decode("utf-8", "replace") of the text (maximal invalid
  // subsequences become one U+FFFD each, as Rust's from_utf8_lossy in tokenizers' decoder).
  const std::string fffd = "\xef\xbf\xbd";
  CHECK(a->decode(ids) == "the lazy fox caf\xc3\xa9 " + fffd + fffd + fffd + " broken " + fffd);
  CHECK(a->decode(ids, false) ==
        "the lazy fox<|endoftext|> caf\xc3\xa9 " + fffd + fffd + fffd + " broken " + fffd);
  // "the" is merged: the most frequent pieces become single tokens.
  CHECK(a->encode(" the").size() == 1);
  // Loading the exported tokenizer.json gives the same ids.
  test::TempDir dir;
  const auto loaded = load_tokenizer(dir.write("tok.json", a->to_hf_json()));
  CHECK(loaded->encode(text) == ids);
  CHECK(loaded->decode(ids) == a->decode(ids));  // its ByteLevel decoder step
  CHECK(loaded->vocab_size() == 300);
}

TEST_CASE("BPE training stops at min_frequency", "[unit][tokenizer]") {
  BpeTrainOptions o;
  o.vocab_size = 100000;
  o.min_frequency = 1000000;
  const auto t = train_byte_bpe(small_corpus(), o);
  CHECK(t->vocab_size() == 257);  // the special and the 256 bytes, no merge
  CHECK_THROWS_AS(train_byte_bpe({}, BpeTrainOptions{0, 2, {}}), ConfigError);
}

TEST_CASE("GPT-2 vocab.json and merges.txt load", "[unit][tokenizer]") {
  test::TempDir dir;
  // Symbols: 'h' 'e' 'l' 'o' and U+0120 for ' '.
  dir.write("vocab.json",
            "{\"h\": 0, \"e\": 1, \"l\": 2, \"o\": 3, \"\xc4\xa0\": 4, \"he\": 5, \"ll\": 6, \"hell\": 7, \"hello\": 8,"
            " \"\xc4\xa0h\": 9, \"<|endoftext|>\": 10}");
  dir.write("merges.txt", "#version: 0.2\nh e\nl l\nhe ll\nhell o\n\xc4\xa0 h\n");
  const auto tok = load_tokenizer(dir.path());
  CHECK(tok->kind() == "bpe");
  // Expectations from transformers' GPT2TokenizerFast on the same two files.
  CHECK(tok->encode("hello hello<|endoftext|>") == Ids{8, 4, 8, 10});
  CHECK(tok->encode(" hhe") == Ids{9, 5});
  CHECK(tok->encode("hhello") == Ids{0, 8});
  CHECK(tok->decode({8, 4, 8, 10}) == "hello hello");
  CHECK(tok->decode({8, 4, 8, 10}, false) == "hello hello<|endoftext|>");
  CHECK(load_tokenizer(dir.file("merges.txt"))->encode("hell") == Ids{7});
}

TEST_CASE("WordPiece handles accents CJK punctuation and long words like tokenizers", "[unit][tokenizer]") {
  test::TempDir dir;
  const auto tok = tiny_wordpiece(dir);
  CHECK(tok->kind() == "wordpiece");
  // Expectations from tokenizers' BertWordPieceTokenizer on the same vocab.txt.
  CHECK(tok->encode("H\u00e9llo, WORLD!") == Ids{5, 13, 6, 15});
  CHECK(tok->encode("na\u00efve caf\u00e9") == Ids{9, 8});
  CHECK(tok->encode("unaffable") == Ids{10, 11, 12});
  CHECK(tok->encode("\u4e2d\u6587hello") == Ids{16, 17, 5});
  CHECK(tok->encode(std::string(101, 'x')) == Ids{1});
  CHECK(tok->encode(std::string(100, 'a')).size() == 100);
  CHECK(tok->encode(std::string(101, 'a')) == Ids{1});
  CHECK(tok->encode(std::string("hello\0world\xef\xbf\xbd", 14)) == Ids{5, 7});
  CHECK(tok->encode("[CLS] hello [SEP]") == Ids{2, 5, 3});
  CHECK(tok->encode("unknownword") == Ids{1});
  CHECK(tok->encode("\u0130stanbul") == Ids{20});
  CHECK(tok->encode("don't worlds") == Ids{23, 21, 24, 6, 25});
  CHECK(tok->encode("hello\u00a0world\u3000!") == Ids{5, 6, 15});
  CHECK(tok->encode("hello\x0bworld") == Ids{5, 7});
  CHECK(tok->decode({2, 5, 13, 6, 15, 3, 10, 11, 12, 0}) == "hello, world! unaffable");
  CHECK(tok->decode({2, 5, 13, 6, 15, 3}, false) == "[CLS] hello, world! [SEP]");
  CHECK(tok->decode({23, 21, 24, 6, 25}) == "don ' t worlds");
  CHECK(tok->vocab_size() == 26);
  CHECK(tok->pad_id() == 0);
  CHECK(tok->special_tokens() == std::vector<std::string>{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"});
}

TEST_CASE("model inputs add specials truncate pairs and pad like tokenizers", "[unit][tokenizer]") {
  test::TempDir dir;
  const auto tok = tiny_wordpiece(dir);
  // Expectations from tokenizers (encode(a, b) with truncation longest_first / padding).
  EncodeOptions o;
  Encoding e = encode_for_model(*tok, "hello world hello world", std::string_view("cafe naive"), o);
  CHECK(e.ids == Ids{2, 5, 6, 5, 6, 3, 8, 9, 3});
  CHECK(e.type_ids == Ids{0, 0, 0, 0, 0, 0, 1, 1, 1});
  CHECK(e.attention_mask == Ids(9, 1));
  o.max_length = 6;
  e = encode_for_model(*tok, "hello world hello world", std::string_view("cafe naive"), o);
  CHECK(e.ids == Ids{2, 5, 6, 3, 8, 3});
  CHECK(e.type_ids == Ids{0, 0, 0, 0, 1, 1});
  o.max_length = 7;
  e = encode_for_model(*tok, "hello world hello world", std::string_view("cafe naive cafe naive cafe"), o);
  CHECK(e.ids == Ids{2, 5, 6, 3, 8, 9, 3});
  CHECK(e.type_ids == Ids{0, 0, 0, 0, 1, 1, 1});
  e = encode_for_model(*tok, "hello world hello world", std::nullopt, o);
  CHECK(e.ids == Ids{2, 5, 6, 5, 6, 3});
  o.max_length = 10;
  o.pad_to_max_length = true;
  e = encode_for_model(*tok, "hello world", std::string_view("cafe"), o);
  CHECK(e.ids == Ids{2, 5, 6, 3, 8, 3, 0, 0, 0, 0});
  CHECK(e.type_ids == Ids{0, 0, 0, 0, 1, 1, 0, 0, 0, 0});
  CHECK(e.attention_mask == Ids{1, 1, 1, 1, 1, 1, 0, 0, 0, 0});
  o = EncodeOptions{};
  o.add_special_tokens = false;
  e = encode_for_model(*tok, "hello", std::string_view("world"), o);
  CHECK(e.ids == Ids{5, 6});
  CHECK(e.type_ids == Ids{0, 1});
}

TEST_CASE("encode_batch pads to the longest or to max_length", "[unit][tokenizer]") {
  test::TempDir dir;
  const auto tok = tiny_wordpiece(dir);
  EncodeOptions o;
  auto batch = encode_batch(*tok, {"hello", "hello world cafe", ""}, o);
  REQUIRE(batch.size() == 3);
  CHECK(batch[0].ids == Ids{2, 5, 3, 0, 0});
  CHECK(batch[0].attention_mask == Ids{1, 1, 1, 0, 0});
  CHECK(batch[1].ids == Ids{2, 5, 6, 8, 3});
  CHECK(batch[2].ids == Ids{2, 3, 0, 0, 0});
  o.max_length = 4;
  o.pad_to_max_length = true;
  batch = encode_batch(*tok, {"hello", "hello world cafe naive"}, o);
  CHECK(batch[0].ids == Ids{2, 5, 3, 0});
  CHECK(batch[1].ids == Ids{2, 5, 6, 3});
  CHECK(batch[1].attention_mask == Ids{1, 1, 1, 1});
}

TEST_CASE("bad tokenizer files give errors that name the file", "[unit][tokenizer]") {
  test::TempDir dir;
  auto message = [](auto&& fn) {
    try {
      fn();
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THROWS_AS(load_tokenizer(dir.file("missing.json")), IoError);
  CHECK(test::contains(message([&] { load_tokenizer(dir.file("missing.json")); }), "missing.json"));
  CHECK_THROWS_AS(load_tokenizer(dir.path()), IoError);  // an empty folder

  const std::string bad_json = dir.write("bad.json", "{\"model\": {\"type\": \"BPE\", ");
  CHECK_THROWS_AS(load_tokenizer(bad_json), ConfigError);
  CHECK(test::contains(message([&] { load_tokenizer(bad_json); }), "bad.json"));
  CHECK(test::contains(message([&] { load_tokenizer(bad_json); }), "not valid JSON"));

  const std::string no_model = dir.write("nomodel.json", "{\"version\": \"1.0\"}");
  CHECK(test::contains(message([&] { load_tokenizer(no_model); }), "nomodel.json: model: missing"));

  const std::string unigram = dir.write("unigram.json", "{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}");
  const std::string m = message([&] { load_tokenizer(unigram); });
  CHECK(test::contains(m, "unigram.json: model.type: unsupported \"Unigram\""));

  const std::string bad_merge =
      dir.write("merge.json",
                "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a c\"]},"
                " \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}");
  CHECK_THROWS_AS(load_tokenizer(bad_merge), ConfigError);
  CHECK(test::contains(message([&] { load_tokenizer(bad_merge); }), "merge.json: model.merges"));

  const std::string wrong_pre = dir.write("pre.json",
                                          "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}}, "
                                          "\"normalizer\": {\"type\": \"BertNormalizer\"},"
                                          " \"pre_tokenizer\": {\"type\": \"Metaspace\"}}");
  CHECK(test::contains(message([&] { load_tokenizer(wrong_pre); }),
                       "pre.json: pre_tokenizer: unsupported \"Metaspace\""));

  const std::string no_unk = dir.write("sub/vocab.txt", "hello\nworld\n");
  CHECK_THROWS_AS(load_tokenizer(no_unk), ConfigError);
  CHECK(test::contains(message([&] { load_tokenizer(no_unk); }), "vocab.txt"));
}

TEST_CASE("tokenizer ids: duplicates, gaps and conflicting added tokens name the entry", "[unit][tokenizer][messages]") {
  test::TempDir dir;
  int n = 0;
  // A WordPiece tokenizer.json with this vocabulary and these extra top-level fields; the error
  // message when loading it (or "no error").
  auto load = [&](const std::string& vocab, const std::string& extra) {
    const std::string file = dir.write("t" + std::to_string(n++) + ".json",
                                       "{\"model\": {\"type\": \"WordPiece\", \"vocab\": " + vocab +
                                           "}, \"normalizer\": {\"type\": \"BertNormalizer\"}, "
                                           "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}" + extra + "}");
    return test::error_of([&] { load_tokenizer(file); });
  };
  const std::string ab = R"({"[UNK]": 0, "a": 1})";
  CHECK(test::contains(load(R"({"[UNK]": 0, "a": 1, "b": 1})", ""), "t0.json: model.vocab.b: id 1 is also the id of \"a\""));
  CHECK(test::contains(load(R"({"[UNK]": 0, "a": 1, "b": 3})", ""),
                       "t1.json: model.vocab: no token has id 2 (ids must run from 0 to 3 without gaps)"));
  // An added token may fill a gap.
  CHECK(load(R"({"[UNK]": 0, "a": 1, "b": 3})", R"(, "added_tokens": [{"id": 2, "content": "[X]"}])") == "no error");
  CHECK(test::contains(load(ab, R"(, "added_tokens": [{"id": 5, "content": "[X]"}])"),
                       "t3.json: added_tokens[0]: \"[X]\" has id 5, which leaves ids 2 to 4 without a token"));
  CHECK(test::contains(load(ab, R"(, "added_tokens": [{"id": 1, "content": "[X]"}])"),
                       "t4.json: added_tokens[0]: \"[X]\" (id 1): id 1 is \"a\" in model.vocab"));
  CHECK(test::contains(load(ab, R"(, "added_tokens": [{"id": 0, "content": "[UNK]"}, {"id": 2, "content": "a"}])"),
                       "t5.json: added_tokens[1]: \"a\" (id 2) is id 1 in model.vocab"));
  CHECK(test::contains(load(ab, R"(, "added_tokens": [{"id": 2, "content": "[X]"}, {"id": 2, "content": "[Y]"}])"),
                       "t6.json: added_tokens[1]: \"[Y]\" (id 2): id 2 is also added_tokens[0] \"[X]\""));
  CHECK(test::contains(load(ab, R"(, "added_tokens": [{"id": -1, "content": "[X]"}])"),
                       "t7.json: added_tokens[0]: id -1 is out of range"));
  CHECK(test::contains(load(ab, R"(, "padding": {"pad_id": 99})"),
                       "t8.json: padding.pad_id: expected a token id from 0 to 1, got 99"));
  CHECK(test::contains(load(ab, R"(, "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 50], "sep": ["[SEP]", 1]})"),
                       "t9.json: post_processor: special token id 50 is outside the vocabulary of 2"));

  // GPT-2's vocab.json + merges.txt: the same gap check.
  dir.write("gpt2/vocab.json", R"({"a": 0, "c": 2})");
  dir.write("gpt2/merges.txt", "#version: 0.2\n");
  CHECK(test::contains(test::error_of([&] { load_tokenizer(dir.file("gpt2")); }),
                       "vocab.json: vocab: no token has id 1"));
}
