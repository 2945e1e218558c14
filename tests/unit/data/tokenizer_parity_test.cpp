// Exact parity with Hugging Face `tokenizers` on real text: MiniLM's WordPiece and a byte-level
// BPE trained by ptm (exported, then loaded by `tokenizers`), and on generated text with every
// code point (the Unicode tables). The references come from tests/golden/tokenize_reference.py,
// run here with the project's Python; never from ptm.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "catch.h"
#include "helpers.h"
#include "ptm/data/pretokenize.h"
#include "ptm/data/tokenizer.h"
#include "ptm/data/unicode.h"

namespace fs = std::filesystem;
using namespace ptm;
using namespace ptm::data;

namespace {

std::string data_path(const std::string& rel) {
  const std::string p = test::data_dir() + "/" + rel;
  if (!fs::exists(p)) FAIL("missing " << p << ": run scripts/get-data.sh to fetch the test data");
  return p;
}

std::string python() {
  const std::string py = test::python_exe();
  if (py.empty() || !fs::exists(py))
    FAIL("no reference Python with `tokenizers` (PTM_PYTHON='" << py << "'): run scripts/setup.sh, then rebuild");
  return py;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// Every k-th non-empty line, about `count` of them.
std::vector<std::string> sample(const std::vector<std::string>& lines, size_t count) {
  std::vector<std::string> nonempty;
  for (const auto& l : lines)
    if (!l.empty()) nonempty.push_back(l);
  const size_t step = std::max<size_t>(1, nonempty.size() / count);
  std::vector<std::string> out;
  for (size_t i = 0; i < nonempty.size() && out.size() < count; i += step) out.push_back(nonempty[i]);
  return out;
}

std::vector<std::string> review_texts() {
  const auto lines = split_lines(read_all(data_path("reviews/train.tsv")));
  REQUIRE(!lines.empty());
  size_t column = 0;
  {
    std::istringstream hs(lines[0]);
    std::string name;
    for (size_t i = 0; std::getline(hs, name, '\t'); ++i)
      if (name == "text") column = i;
  }
  std::vector<std::string> out;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::istringstream ls(lines[i]);
    std::string field;
    for (size_t c = 0; std::getline(ls, field, '\t'); ++c)
      if (c == column) out.push_back(field);
  }
  return out;
}

// 4,000 lines of novels, 4,000 of kernel documentation, the 4,000 training reviews, and a few
// hand-made lines with accents, CJK, emoji, specials and odd whitespace.
const std::vector<std::string>& real_lines() {
  static const std::vector<std::string> lines = [] {
    std::vector<std::string> all, austen, kernel;
    for (const auto& f : files_under(data_path("corpus/janeausten"))) {
      auto l = split_lines(read_all(f));
      austen.insert(austen.end(), l.begin(), l.end());
    }
    for (const auto& f : files_under(data_path("corpus/linux-doc"))) {
      auto l = split_lines(read_all(f));
      kernel.insert(kernel.end(), l.begin(), l.end());
    }
    for (auto* part : {&austen, &kernel}) {
      auto s = sample(*part, 4000);
      all.insert(all.end(), s.begin(), s.end());
    }
    const auto reviews = review_texts();
    all.insert(all.end(), reviews.begin(), reviews.end());
    for (const char* extra :
         {"Na\u00efve caf\u00e9 \u00dcBER r\u00e9sum\u00e9 \u0130stanbul", "\u4e2d\u6587 mixed\u65e5\u672c\u8a9e text",
          "emoji \U0001F600\U0001F44D\U0001F3FD!!", "[CLS] inside [SEP] text [MASK]",
          "<|endoftext|>between<|endoftext|>", "tabs\tand\u00a0nbsp\u3000and  \u2028 seps", "ALL CAPS DON'T 'LL 'S",
          "   leading and trailing   "})
      all.push_back(extra);
    return all;
  }();
  return lines;
}

// Runs tokenize_reference.py and returns its output lines.
std::vector<std::string> reference(const std::string& tokenizer, const std::vector<std::string>& lines,
                                   const std::string& flags = "") {
  const std::string py = python();
  test::TempDir dir;
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  const std::string in = dir.write("lines.txt", text), out = dir.file("ref.txt"), err = dir.file("err.txt");
  const std::string cmd = "TOKENIZERS_PARALLELISM=true '" + py + "' '" + test::source_dir() +
                          "/tests/golden/tokenize_reference.py' '" + tokenizer + "' '" + in + "' '" + out + "' " +
                          flags + " 2>'" + err + "'";
  if (std::system(cmd.c_str()) != 0)
    FAIL("tests/golden/tokenize_reference.py failed (run scripts/setup.sh for the Python packages):\n"
         << read_all(err));
  auto result = split_lines(read_all(out));
  REQUIRE(result.size() == lines.size());
  return result;
}

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s;
}

// Compares ptm's ids with the reference line by line; reports the first differences.
void expect_same_ids(const Tokenizer& tok, const std::vector<std::string>& lines, const std::vector<std::string>& ref) {
  size_t differ = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string mine = join_ids(tok.encode(lines[i]));
    if (mine == ref[i]) continue;
    if (++differ <= 5) {
      INFO("line " << i << ": " << lines[i]);
      CHECK(mine == ref[i]);
    }
  }
  INFO(differ << " of " << lines.size() << " lines differ");
  CHECK(differ == 0);
}

std::unique_ptr<Tokenizer> trained_bpe() {
  std::vector<std::string> texts;
  for (const auto& l : split_lines(read_all(data_path("corpus/janeausten/emma.txt")))) texts.push_back(l + "\n");
  BpeTrainOptions o;
  o.vocab_size = 4096;
  return train_byte_bpe(texts, o);
}

}  // namespace

TEST_CASE("MiniLM WordPiece ids equal tokenizers on real lines", "[tokenizer][integration]") {
  const std::string json = data_path("models/minilm/tokenizer.json");
  const auto tok = load_tokenizer(json);
  const auto& lines = real_lines();
  REQUIRE(lines.size() >= 10000);
  expect_same_ids(*tok, lines, reference(json, lines));
}

TEST_CASE("MiniLM model inputs and decoding equal tokenizers", "[tokenizer][integration]") {
  const std::string json = data_path("models/minilm/tokenizer.json");
  const auto tok = load_tokenizer(json);
  const auto reviews = review_texts();
  std::vector<std::string> pairs;
  for (size_t i = 0; i + 1 < reviews.size() && pairs.size() < 1000; i += 2)
    pairs.push_back(reviews[i] + "\t" + reviews[i + 1]);
  const auto ref = reference(json, pairs, "--pairs --max-length 64");
  EncodeOptions o;
  o.max_length = 64;
  size_t differ = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const size_t tab = pairs[i].find('\t');
    const Encoding e = encode_for_model(*tok, std::string_view(pairs[i]).substr(0, tab),
                                        std::string_view(pairs[i]).substr(tab + 1), o);
    const std::string mine = join_ids(e.ids) + "|" + join_ids(e.type_ids) + "|" + join_ids(e.attention_mask);
    if (mine != ref[i] && ++differ <= 3) CHECK(mine == ref[i]);
  }
  CHECK(differ == 0);

  std::vector<std::string> id_lines;
  for (size_t i = 0; i < 2000; ++i)
    id_lines.push_back(join_ids(encode_for_model(*tok, reviews[i], std::nullopt, {}).ids));
  const auto decoded = reference(json, id_lines, "--decode");
  differ = 0;
  for (size_t i = 0; i < id_lines.size(); ++i) {
    std::vector<int32_t> ids;
    std::istringstream is(id_lines[i]);
    for (int32_t v; is >> v;) ids.push_back(v);
    const std::string expected = nlohmann::json::parse(decoded[i]).get<std::string>();
    if (tok->decode(ids) != expected && ++differ <= 3) CHECK(tok->decode(ids) == expected);
  }
  CHECK(differ == 0);
}

TEST_CASE("ptm-trained byte-level BPE ids equal tokenizers on real lines", "[tokenizer][integration]") {
  const auto tok = trained_bpe();
  REQUIRE(tok->vocab_size() == 4096);
  test::TempDir dir;
  const std::string json = dir.write("tokenizer.json", tok->to_hf_json());
  const auto& lines = real_lines();
  REQUIRE(lines.size() >= 10000);
  expect_same_ids(*tok, lines, reference(json, lines));
  // And the file loads back into ptm with the same ids.
  const auto loaded = load_tokenizer(json);
  for (size_t i = 0; i < lines.size(); i += 97) CHECK(loaded->encode(lines[i]) == tok->encode(lines[i]));
}

// ptm writes a tokenizer.json for the older formats (ptm export of a run whose data used them):
// under `tokenizers` it must give the ids transformers gives when it converts the same files
// itself (GPT2Tokenizer from vocab.json + merges.txt, BertTokenizer from vocab.txt).
TEST_CASE("tokenizer.json written from vocab.json + merges.txt or vocab.txt encodes as transformers converts them",
          "[tokenizer][integration]") {
  const auto& lines = real_lines();
  test::TempDir dir;
  // GPT-2's two files, written by tokenizers' own BPE.save from a BPE ptm trained.
  const std::string trained = dir.write("trained.json", trained_bpe()->to_hf_json());
  const std::string err = dir.file("err.txt");
  const std::string cmd = "'" + python() + "' '" + test::source_dir() + "/tests/golden/gpt2_files.py' '" + trained +
                          "' '" + dir.file("gpt2") + "' 2>'" + err + "'";
  if (std::system(cmd.c_str()) != 0) FAIL("tests/golden/gpt2_files.py failed:\n" << read_all(err));
  struct Source {
    std::string files, name;
  };
  for (const auto& [files, name] : {Source{dir.file("gpt2/vocab.json"), "gpt2"},
                                    Source{data_path("models/minilm/vocab.txt"), "bert"}}) {
    INFO(files);
    const auto tok = load_tokenizer(files);
    const std::string converted = dir.write(name + ".json", tok->to_hf_json());
    const auto theirs = reference(files, lines, "--special --transformers-files");
    const auto ours = reference(converted, lines, "--special");
    size_t differ = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (ours[i] == theirs[i]) continue;
      if (++differ <= 3) {
        INFO("line " << i << ": " << lines[i]);
        CHECK(ours[i] == theirs[i]);
      }
    }
    INFO(differ << " of " << lines.size() << " lines differ");
    CHECK(differ == 0);
    // And ptm itself, reading the files, encodes the same (with the template's specials).
    differ = 0;
    for (size_t i = 0; i < lines.size(); ++i)
      if (join_ids(encode_for_model(*tok, lines[i], std::nullopt, {}).ids) != theirs[i] && ++differ <= 3)
        CHECK(join_ids(encode_for_model(*tok, lines[i], std::nullopt, {}).ids) == theirs[i]);
    CHECK(differ == 0);
  }
}

TEST_CASE("BPE training makes the vocabulary and merges of tokenizers' BpeTrainer", "[tokenizer][integration]") {
  const std::string emma = data_path("corpus/janeausten/emma.txt");
  const auto tok = trained_bpe();
  test::TempDir dir;
  const std::string ref = dir.file("hf.json"), err = dir.file("err.txt");
  const std::string cmd = "'" + python() + "' '" + test::source_dir() +
                          "/tests/golden/tokenizer_train_reference.py' '" + emma + "' 4096 2 '" + ref +
                          "' '<|endoftext|>' 2>'" + err + "'";
  if (std::system(cmd.c_str()) != 0) FAIL("tests/golden/tokenizer_train_reference.py failed:\n" << read_all(err));
  const auto hf = nlohmann::json::parse(read_all(ref))["model"];
  const auto mine = nlohmann::json::parse(tok->to_hf_json())["model"];
  CHECK(hf["vocab"] == mine["vocab"]);
  REQUIRE(hf["merges"].size() == mine["merges"].size());
  size_t differ = 0;
  for (size_t i = 0; i < hf["merges"].size(); ++i) {
    auto m = hf["merges"][i];
    if (m.is_string()) {  // older "A B" form
      const std::string s = m;
      m = nlohmann::json::array({s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1)});
    }
    if (m != mine["merges"][i] && ++differ <= 3) CHECK(m == mine["merges"][i]);
  }
  CHECK(differ == 0);
}

TEST_CASE("byte-level BPE decode of encode is byte-exact on the whole corpus and replaces invalid UTF-8", "[tokenizer][integration]") {
  const auto tok = trained_bpe();
  std::vector<std::string> files = files_under(data_path("corpus"));
  files.push_back(data_path("reviews/train.tsv"));
  size_t bytes = 0, failures = 0;
  for (const auto& f : files) {
    const std::string text = read_all(f);
    bytes += text.size();
    if (tok->decode(tok->encode(text)) != text && ++failures <= 5) FAIL_CHECK("not lossless: " << f);
  }
  CHECK(bytes > 20'000'000);
  // Invalid UTF-8: stray continuation bytes, truncated sequences, overlong forms, 0xFF.
  std::string broken = read_all(data_path("corpus/janeausten/persuasion.txt"));
  for (size_t i = 7; i < broken.size(); i += 1013) broken[i] = static_cast<char>(0x80 + i % 0x80);
  broken += "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82";
  // Encoding keeps every byte; decoding gives text, each invalid sequence as U+FFFD as
  // `tokenizers` decodes (from_utf8_lossy). Golden: Python's decode(errors="replace").
  test::TempDir dir;
  const std::string in = dir.write("broken.txt", broken), out = dir.file("ref.json"), err = dir.file("err.txt");
  const std::string cmd = "'" + python() + "' '" + test::source_dir() + "/tests/golden/utf8_replace.py' '" + in +
                          "' >'" + out + "' 2>'" + err + "'";
  if (std::system(cmd.c_str()) != 0) FAIL("tests/golden/utf8_replace.py failed:\n" << read_all(err));
  const std::string hex = nlohmann::json::parse(read_all(out))["docs"][0];
  std::string replaced;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) replaced.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  CHECK(replaced != broken);
  CHECK(tok->decode(tok->encode(broken)) == replaced);
  CHECK(failures == 0);
}

namespace {

// Every code point of planes 0-3 and 14 (where all assigned characters are; 15 and 16 are private
// use), every 61st elsewhere; no surrogates (not UTF-8) and no '\n' (the reference's line break).
std::vector<uint32_t> test_code_points() {
  std::vector<uint32_t> out;
  for (uint32_t cp = 1; cp < 0x110000; ++cp) {
    const uint32_t plane = cp >> 16;
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == '\n') continue;
    if (plane <= 3 || plane == 14 || cp % 61 == 0) out.push_back(cp);
  }
  return out;
}

std::string utf8(uint32_t cp) {
  std::string s;
  unicode::append_utf8(s, cp);
  return s;
}

// Lines of `chunk(c)` for every test code point, 4096 code points a line (batched: one reference run).
template <class Chunk>
std::vector<std::string> code_point_lines(Chunk chunk) {
  const auto cps = test_code_points();
  std::vector<std::string> lines;
  for (size_t i = 0; i < cps.size(); i += 4096) {
    std::string line;
    for (size_t j = i; j < std::min(cps.size(), i + 4096); ++j) line += chunk(utf8(cps[j]));
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string hex_code_points(const std::string& s) {
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  char buf[16];
  for (size_t i = 0, len = 0; i < s.size(); i += len) {
    std::snprintf(buf, sizeof buf, "%sU+%04X", out.empty() ? "" : " ", unicode::decode_utf8(p + i, s.size() - i, len));
    out += buf;
  }
  return out;
}

using Lists = std::vector<std::vector<std::string>>;

Lists parse_lists(const std::vector<std::string>& json_lines) {
  Lists out;
  for (const auto& l : json_lines) out.push_back(nlohmann::json::parse(l).get<std::vector<std::string>>());
  return out;
}

// Compares lists of strings (words, pieces or tokens) line by line; shows the first difference
// of up to five lines as code points (the lines themselves are long).
void expect_same_lists(const Lists& mine, const Lists& expected) {
  REQUIRE(mine.size() == expected.size());
  size_t differ = 0;
  for (size_t i = 0; i < mine.size(); ++i) {
    if (mine[i] == expected[i] || ++differ > 5) continue;
    size_t k = 0;
    while (k < mine[i].size() && k < expected[i].size() && mine[i][k] == expected[i][k]) ++k;
    const auto at = [](const std::vector<std::string>& v, size_t k) {
      return k < v.size() ? "[" + hex_code_points(v[k]) + "]" : std::string("(end)");
    };
    FAIL_CHECK("line " << i << ", item " << k << " (after " << (k ? at(expected[i], k - 1) : "(start)") << "): ptm "
                       << at(mine[i], k) << ", tokenizers " << at(expected[i], k));
  }
  INFO(differ << " of " << mine.size() << " lines differ");
  CHECK(differ == 0);
}

}  // namespace

// The Unicode tables (scripts/gen_unicode_tables.py) against `tokenizers` on every code point:
// alone between letters (clean_text, whitespace, punctuation, CJK, NFD, Mn, lower-case) and
// among combining marks of classes 226 and 216 that no normalizer strips (canonical order).
TEST_CASE("BERT normalizers equal tokenizers on every code point", "[tokenizer][integration]") {
  auto lines = code_point_lines([](const std::string& c) { return "a" + c + "b\U0001D16D" + c + "\U0001D165 "; });
  std::string ascii;  // and the ASCII fast path
  for (int c = 1; c < 128; ++c)
    if (c != '\n') ascii += "a" + std::string(1, static_cast<char>(c)) + "b ";
  lines.push_back(ascii);
  for (const bool uncased : {true, false}) {
    INFO((uncased ? "uncased (lowercase, strip accents)" : "cased"));
    BertNormalizerOptions o;
    o.lowercase = o.strip_accents = uncased;
    Lists mine;
    for (const auto& line : lines) {
      std::string buffer;
      std::vector<std::pair<uint32_t, uint32_t>> words;
      bert_words(line, o, buffer, words);
      auto& out = mine.emplace_back();
      for (const auto& [b, e] : words) out.push_back(buffer.substr(b, e - b));
    }
    expect_same_lists(mine,
                      parse_lists(reference("-", lines, uncased ? "--bert-words uncased" : "--bert-words cased")));
  }
}

// The whole MiniLM tokenizer on every code point, with an added single_word token "zqz" that
// matches only where no word character (\w) touches it (the normalizer: the test above).
TEST_CASE("WordPiece ids and single_word added tokens equal tokenizers on every code point",
          "[tokenizer][integration]") {
  auto j = nlohmann::json::parse(read_all(data_path("models/minilm/tokenizer.json")));
  j["added_tokens"].push_back({{"id", 30522},
                               {"content", "zqz"},
                               {"single_word", true},
                               {"lstrip", false},
                               {"rstrip", false},
                               {"normalized", false},
                               {"special", false}});
  test::TempDir dir;
  const std::string json = dir.write("tokenizer.json", j.dump());
  const auto tok = load_tokenizer(json);
  const auto lines = code_point_lines([](const std::string& c) { return c + "zqz zqz" + c + " "; });
  const auto ref = reference(json, lines);
  Lists mine, expected;  // as tokens, for readable differences
  for (size_t i = 0; i < lines.size(); ++i) {
    auto& m = mine.emplace_back();
    for (const int32_t id : tok->encode(lines[i])) m.push_back(tok->id_to_token(id));
    auto& e = expected.emplace_back();
    std::istringstream is(ref[i]);
    for (int32_t id; is >> id;) e.push_back(tok->id_to_token(id));
  }
  expect_same_lists(mine, expected);
}

// The GPT-2 regex's \p{L}, \p{N} and \s on every code point: a letter joins "a" before it, a
// number "1", other characters "!" after them; a space stands alone.
TEST_CASE("GPT-2 pre-tokenizer equals tokenizers on every code point", "[tokenizer][integration]") {
  const auto lines = code_point_lines([](const std::string& c) { return "a" + c + "1" + c + "! "; });
  Lists mine;
  std::vector<std::string_view> pieces;
  for (const auto& line : lines) {
    pieces.clear();
    split_gpt2(line, pieces);
    mine.emplace_back(pieces.begin(), pieces.end());
  }
  expect_same_lists(mine, parse_lists(reference("-", lines, "--pieces")));
}
