// Inputs the fuzz targets (fuzz/, scripts/fuzz.sh) found, each kept as a regression test; the
// crashing input itself is in fuzz/corpus/<target>/crash_*.
#include <string>
#include <tuple>

#include "catch.h"
#include "helpers.h"
#include "ptm/config/load.h"
#include "ptm/core/errors.h"
#include "ptm/data/tokenizer.h"

using namespace ptm;
using namespace ptm::data;

namespace {
std::string vocab_txt_error(const std::string& content) {
  test::TempDir dir;
  const std::string path = dir.write("vocab.txt", content);
  return test::error_of([&] { load_tokenizer(path); });
}
}  // namespace

// fuzz/corpus/tokenizer/crash_vocab_txt_repeats: a vocab.txt with repeated lines loaded, and
// encoding gave ids at or past vocab_size() (ids are line numbers, the size counted tokens).
TEST_CASE("vocab.txt with a repeated or empty line is refused", "[unit][tokenizer][fuzz]") {
  const std::string repeated = vocab_txt_error("[PAD]\n[UNK]\nhello\nworld\nhello\nthe\n");
  CHECK(test::contains(repeated, "vocab.txt: line 5"));
  CHECK(test::contains(repeated, "\"hello\" repeats line 3"));
  const std::string gap = vocab_txt_error("[PAD]\n[UNK]\n\nhello\n");
  CHECK(test::contains(gap, "vocab.txt: line 3"));
  CHECK(test::contains(gap, "empty"));
  // Blank lines at the end are not tokens.
  test::TempDir dir;
  const auto tok = load_tokenizer(dir.write("vocab.txt", "[PAD]\n[UNK]\nhello\n\n\n"));
  CHECK(tok->vocab_size() == 3);
  for (int32_t id : tok->encode("hello there")) CHECK(id < tok->vocab_size());
}

// fuzz/corpus/tokenizer/crash_added_token_field_type: "lstrip": "TemplateProcessing" in added_tokens escaped
// as nlohmann's type_error ("type must be boolean, but is string"), naming no file.
TEST_CASE("tokenizer.json fields of the wrong type are ConfigErrors naming the file", "[unit][tokenizer][fuzz]") {
  test::TempDir dir;
  const std::string wordpiece = R"("model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1}},
      "normalizer": {"type": "BertNormalizer", "lowercase": LOWER}, "pre_tokenizer": {"type": "BertPreTokenizer"})";
  auto load = [&](const std::string& name, std::string body) {
    const auto at = body.find("LOWER");
    if (at != std::string::npos) body.replace(at, 5, "true");
    const std::string path = dir.write(name, "{" + body + "}");
    try {
      load_tokenizer(path);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    } catch (const std::exception& e) {
      return std::string("not a ConfigError: ") + e.what();
    }
    return std::string("no error");
  };
  CHECK(test::contains(load("special.json", wordpiece + R"(, "added_tokens": [{"id": 0, "content": "[UNK]", "special": "yes"}])"),
                       "special.json"));
  std::string lower = wordpiece;
  lower.replace(lower.find("LOWER"), 5, "\"no\"");
  CHECK(test::contains(load("lowercase.json", lower), "lowercase.json"));
  CHECK(test::contains(load("prefix.json", R"("model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": 1})"), "prefix.json"));
  CHECK(load("fine.json", wordpiece) == "no error");
}

// fuzz/corpus/tokenizer/crash_number_overflow: a number too large for a double in vocab.json
// (nlohmann's out_of_range, not a parse_error) escaped the "not valid JSON" check.
TEST_CASE("JSON numbers that overflow are invalid tokenizer files, not raw exceptions", "[unit][tokenizer][fuzz]") {
  test::TempDir dir;
  dir.write("gpt2/vocab.json", R"({"a": 0, "b": -477777e777777777777})");
  dir.write("gpt2/merges.txt", "#version: 0.2\n");
  CHECK_THROWS_AS(load_tokenizer(dir.file("gpt2")), ConfigError);
  CHECK(test::contains(test::error_of([&] { load_tokenizer(dir.file("gpt2")); }), "vocab.json"));
  const std::string json = dir.write("t.json", R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 1e999}}})");
  CHECK_THROWS_AS(load_tokenizer(json), ConfigError);
  CHECK(test::contains(test::error_of([&] { load_tokenizer(json); }), "t.json: not valid JSON"));
}

// fuzz/corpus/tokenizer/crash_vocab_gap_added_token: model.vocab leaves id 2 to an added token;
// the vocabulary size counted the model's distinct tokens (3), so the model's id 3 lay past it.
TEST_CASE("the vocabulary size covers every id when added tokens fill gaps", "[unit][tokenizer][fuzz]") {
  test::TempDir dir;
  const std::string wordpiece = dir.write("wp.json", R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1, "b": 3}},
      "normalizer": {"type": "BertNormalizer"}, "pre_tokenizer": {"type": "BertPreTokenizer"},
      "added_tokens": [{"id": 2, "content": "[X]", "special": true}]})");
  const std::string bpe = dir.write("bpe.json", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 2}, "merges": []},
      "pre_tokenizer": {"type": "ByteLevel"}, "added_tokens": [{"id": 1, "content": "<x>", "special": true}]})");
  for (const auto& [file, text, size] : {std::tuple<std::string, std::string, int64_t>{wordpiece, "a b", 4}, {bpe, "ab", 3}}) {
    INFO(file);
    const auto tok = load_tokenizer(file);
    CHECK(tok->vocab_size() == size);
    const auto ids = tok->encode(text);
    REQUIRE(!ids.empty());
    for (int32_t id : ids) CHECK(id < tok->vocab_size());
  }
}

// fuzz/corpus/tokenizer/crash_float_as_integer: "max_input_chars_per_word": 1e51 was converted
// to an integer unchecked (undefined behaviour; UBSan stopped there), as were floats given for
// post-processor ids and type ids.
TEST_CASE("floats where tokenizer.json wants integers are ConfigErrors", "[unit][tokenizer][fuzz]") {
  test::TempDir dir;
  const std::string model = R"("model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "a": 3}},
      "normalizer": {"type": "BertNormalizer"}, "pre_tokenizer": {"type": "BertPreTokenizer"})";
  auto error = [&](const std::string& name, const std::string& body) {
    const std::string path = dir.write(name, "{" + body + "}");
    try {
      load_tokenizer(path);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no ConfigError");
  };
  std::string big = model;
  big.replace(big.find("}},"), 3, R"(}, "max_input_chars_per_word": 1e51},)");
  CHECK(test::contains(error("max_chars.json", big), "max_chars.json: model.max_input_chars_per_word: expected an integer"));
  CHECK(test::contains(error("cls.json", model + R"(, "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 1e30], "sep": ["[SEP]", 2]})"),
                       "cls.json: post_processor: cls: expected a 32-bit integer"));
  CHECK(test::contains(
      error("type_id.json", model + R"(, "post_processor": {"type": "TemplateProcessing",
          "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 1e30}}, {"Sequence": {"id": "A", "type_id": 0}}],
          "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 2.5}}]})"),
      "type_id.json: post_processor: type_id: expected a 32-bit integer"));
  CHECK(test::contains(
      error("ids.json", model + R"(, "post_processor": {"type": "TemplateProcessing",
          "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
          "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
          "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [1e40], "tokens": ["[CLS]"]}}})"),
      "ids.json: post_processor: special_tokens.[CLS].ids: expected a 32-bit integer"));
}

// Found by fuzzing: one id in the hundreds of millions sized the id table to it (8 GB).
TEST_CASE("a vocabulary id far past the entry count is refused before the table grows", "[unit][tokenizer][fuzz]") {
  test::TempDir dir;
  dir.write("gpt2/vocab.json", R"({"a": 0, "b": 255555521})");
  dir.write("gpt2/merges.txt", "#version: 0.2\n");
  const auto message = test::error_of([&] { load_tokenizer(dir.file("gpt2")); });
  CHECK(test::contains(message, "vocab.json"));
  CHECK(test::contains(message, "id 255555521 is far past the 2 entries"));
}

// fuzz/corpus/tokenizer/crash_empty_token_last_id: vocab.json's highest id was the token "",
// which the id check reads as "no token here"; its search for the end of that gap read past
// the table (AddressSanitizer: heap-buffer-overflow in check_ids).
TEST_CASE("an empty token in a vocabulary is refused naming the file", "[unit][tokenizer][fuzz]") {
  test::TempDir dir;
  dir.write("gpt2/vocab.json", R"({"a": 0, "b": 1, "": 2})");
  dir.write("gpt2/merges.txt", "#version: 0.2\n");
  const auto message = test::error_of([&] { load_tokenizer(dir.file("gpt2")); });
  CHECK(test::contains(message, "vocab.json: vocab"));
  CHECK(test::contains(message, "an empty token (id 2)"));
  const std::string json = dir.write("t.json", R"({"model": {"type": "BPE", "vocab": {"": 0, "a": 1}, "merges": []},
      "pre_tokenizer": {"type": "ByteLevel"}})");
  CHECK(test::contains(test::error_of([&] { load_tokenizer(json); }), "t.json: model.vocab: an empty token (id 0)"));
}

// fuzz/corpus/recipe/crash_recursive_alias: an alias inside its own anchor makes a cycle of
// YAML nodes; converting it recursed until the stack overflowed.
TEST_CASE("a YAML alias inside its own anchor is a ConfigError, not a stack overflow", "[unit][config][fuzz]") {
  const std::string err = test::error_of([] { config::parse_yaml("defaults: &d\n  copy: *d\n", "r.yaml"); });
  CHECK(err.find("r.yaml") != std::string::npos);
  CHECK(err.find("defaults.copy") != std::string::npos);
  CHECK(err.find("nested deeper than 64 levels") != std::string::npos);
  CHECK(err.find("nested deeper", err.find("nested deeper") + 1) == std::string::npos);  // one message
  // Real nesting within the bound still loads.
  std::string deep = "a: ", close;
  for (int i = 0; i < 40; ++i) deep += "[", close += "]";
  CHECK_NOTHROW(config::parse_yaml(deep + "1" + close + "\n", "r.yaml"));
}

// fuzz/corpus/recipe/crash_alias_expansion: aliases repeated inside anchors expand
// exponentially ("billion laughs"); the conversion ran out of memory.
TEST_CASE("YAML aliases that expand past 100000 maps and lists are a ConfigError, not out of memory", "[unit][config][fuzz]") {
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (const char* name : {"b", "c", "d", "e", "f"}) {
    const std::string prev(1, static_cast<char>(name[0] - 1));
    yaml += std::string(name) + ": &" + name + " [";
    for (int i = 0; i < 10; ++i) yaml += (i ? ", *" : "*") + prev;
    yaml += "]\n";
  }
  const std::string err = test::error_of([&] { config::parse_yaml(yaml, "r.yaml"); });
  CHECK(err.find("more than 100000 maps and lists") != std::string::npos);
  CHECK(err.find("nested deeper") == std::string::npos);  // one message
  CHECK(err.find("r.yaml") != std::string::npos);
}
