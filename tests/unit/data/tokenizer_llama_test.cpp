// Exact parity with Hugging Face `tokenizers` for the tokenizer.json kinds of the Llama 3 and
// Llama 2 / Mistral families: files built in the test by `tokenizers` itself
// (tests/golden/llama_tokenizer_build.py, trained on Jane Austen), compared on real text
// (novels with their line breaks, kernel documentation, reviews), generated multilingual text
// and every code point. References come from tests/golden/tokenize_reference.py, never from ptm.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"
#include "ptm/data/regex.h"
#include "ptm/data/text_pipeline.h"
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

std::vector<std::string> split_on(const std::string& text, const std::string& sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(sep, start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + sep.size();
  }
  return out;
}

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s;
}

std::vector<int32_t> parse_ids(const std::string& line) {
  std::vector<int32_t> ids;
  std::istringstream is(line);
  for (int32_t v; is >> v;) ids.push_back(v);
  return ids;
}

// A tokenizer.json of `kind` made by `tokenizers` (see llama_tokenizer_build.py), once per process.
std::string built(const std::string& kind) {
  static std::map<std::string, std::string> files;
  static test::TempDir dir;
  if (auto it = files.find(kind); it != files.end()) return it->second;
  const std::string out = dir.file(kind + ".json"), err = dir.file(kind + ".err");
  const std::string cmd = "'" + python() + "' '" + test::source_dir() + "/tests/golden/llama_tokenizer_build.py' " +
                          kind + " '" + out + "' '" + data_path("corpus/janeausten/emma.txt") + "' 2>'" + err + "'";
  if (std::system(cmd.c_str()) != 0)
    FAIL("tests/golden/llama_tokenizer_build.py failed:\n" << test::read_text(err));
  return files[kind] = out;
}

// tokenize_reference.py on `texts` (JSON lines, so texts keep their line breaks).
std::vector<std::string> reference(const std::string& tokenizer, const std::vector<std::string>& texts,
                                   const std::string& flags) {
  test::TempDir dir;
  std::string in;
  for (const auto& t : texts) in += (flags.find("--decode") != std::string::npos ? t : nlohmann::json(t).dump()) + "\n";
  const std::string lines = dir.write("in.txt", in), out = dir.file("out.txt"), err = dir.file("err.txt");
  const std::string json_flag = flags.find("--decode") != std::string::npos ? "" : " --json-lines";
  const std::string cmd = "TOKENIZERS_PARALLELISM=true '" + python() + "' '" + test::source_dir() +
                          "/tests/golden/tokenize_reference.py' '" + tokenizer + "' '" + lines + "' '" + out + "' " +
                          flags + json_flag + " 2>'" + err + "'";
  if (std::system(cmd.c_str()) != 0) FAIL("tests/golden/tokenize_reference.py failed:\n" << test::read_text(err));
  auto result = split_on(test::read_text(out), "\n");
  while (result.size() < texts.size()) result.emplace_back();  // trailing empty lines
  REQUIRE(result.size() == texts.size());
  return result;
}

// Paragraphs of the six novels (with their line breaks), stretches of kernel documentation
// (code, indentation, tabs) and review lines.
const std::vector<std::string>& real_texts() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> out;
    for (const char* book : {"emma", "persuasion", "prideprejudice", "mansfieldpark", "northangerabbey",
                             "sensesensibility"}) {
      const auto paragraphs = split_on(test::read_text(data_path("corpus/janeausten/") + book + ".txt"), "\n\n");
      for (size_t i = 0; i < paragraphs.size(); i += 23) out.push_back(paragraphs[i] + "\n\n");
    }
    std::vector<std::string> docs;
    for (const auto& e : fs::recursive_directory_iterator(data_path("corpus/linux-doc")))
      if (e.is_regular_file()) docs.push_back(e.path().string());
    std::sort(docs.begin(), docs.end());
    for (size_t i = 0; i < docs.size() && i < 4000; i += 7) {
      const std::string text = test::read_text(docs[i]);
      size_t cut = std::min<size_t>(text.size(), 1500);  // on a character boundary
      while (cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
      out.push_back(text.substr(0, cut));
    }
    const auto reviews = split_on(test::read_text(data_path("reviews/train.tsv")), "\n");
    for (size_t i = 1; i < reviews.size(); i += 4) out.push_back(reviews[i]);
    return out;
  }();
  return texts;
}

std::string utf8(uint32_t cp) {
  std::string s;
  unicode::append_utf8(s, cp);
  return s;
}

// Random texts of many scripts, emoji (with joiners and skin tones), combining marks, digits of
// several kinds, whitespace runs with line breaks, contractions in odd cases, the special tokens'
// text, byte-token look-alikes, and rare code points (planes 1 to 3 and 14, private use).
std::vector<std::string> multilingual_texts(size_t count, uint32_t seed) {
  static const std::vector<std::pair<uint32_t, uint32_t>> scripts = {
      {'a', 'z'},         {'A', 'Z'},         {0xC0, 0x17F},       {0x391, 0x3C9},     {0x410, 0x44F},
      {0x5D0, 0x5EA},     {0x621, 0x64A},     {0x660, 0x669},      {0x900, 0x97F},     {0xE01, 0xE5B},
      {0x3041, 0x30FF},   {0x4E00, 0x9FFF},   {0xAC00, 0xD7A3},    {0x1F300, 0x1FAFF}, {0x300, 0x36F},
      {0xFF01, 0xFF5E},   {0x2160, 0x2188},   {0x10000, 0x3FFFF},  {0xE0000, 0xE01EF}, {0xE000, 0xF8FF},
      {0x1D400, 0x1D7FF}, {0x2000, 0x206F},   {0x0, 0x7F},         {0x80, 0xBF},       {0xFFF0, 0xFFFF}};
  static const std::vector<std::string> bits = {
      " ", "  ", "    ", "\t", "\n", "\r\n", "\n\n\n", " \n ", "\r", "\u00a0", "\u3000", "\u2028", "\u200b",
      "\u0085", "'s", "'S", "'ll", "'LL", "'Re", "'vE", "'m", "'D", "'t", "'\u017f", "'\u212a", "'x", "0", "12",
      "123", "1234567", "3.14", "\u0663\u0664", "!", "...", "?!", "\"", "(", ")", "-", "_", "<s>", "</s>", "<unk>",
      "<|begin_of_text|>", "<|eot_id|>", "<|reserved_special_token_7|>", "\u2581", "\u2581\u2581", "<0x41>",
      "\U0001F468\u200D\U0001F469\u200D\U0001F467", "\U0001F44D\U0001F3FD", "e\u0301", "\ufeff", "\x7f", "\x01",
      std::string(1, '\0'), " the", " The", "Emma", " Mr.", "don't", "I'M", "caf\u00e9", "\u00fcber"};
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  for (size_t n = 0; n < count; ++n) {
    std::string text;
    const size_t items = 1 + rng() % 40;
    for (size_t k = 0; k < items; ++k) {
      if (rng() % 2) {
        text += bits[rng() % bits.size()];
        continue;
      }
      const auto [lo, hi] = scripts[rng() % scripts.size()];
      const size_t len = 1 + rng() % 8;
      for (size_t c = 0; c < len; ++c) {
        uint32_t cp = lo + rng() % (hi - lo + 1);
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
        text += utf8(cp);
      }
    }
    out.push_back(std::move(text));
  }
  return out;
}

std::vector<std::string> all_texts() {
  auto texts = real_texts();
  const auto generated = multilingual_texts(3000, 22);
  texts.insert(texts.end(), generated.begin(), generated.end());
  return texts;
}

std::string show(const std::string& s) { return nlohmann::json(s).dump(); }

// Ids without and with the template's specials, and decoding (skipping and keeping specials),
// against `tokenizers`; reports the first few differences.
void expect_parity(const std::string& json, const std::vector<std::string>& texts) {
  const auto tok = load_tokenizer(json);
  const auto plain = reference(json, texts, "");
  const auto special = reference(json, texts, "--special");
  size_t differ = 0, differ_special = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string mine = join_ids(tok->encode(texts[i]));
    if (mine != plain[i] && ++differ <= 5) {
      INFO("text " << i << ": " << show(texts[i]));
      CHECK(mine == plain[i]);
    }
    const std::string with = join_ids(encode_for_model(*tok, texts[i], std::nullopt, {}).ids);
    if (with != special[i] && ++differ_special <= 3) {
      INFO("text " << i << " with specials: " << show(texts[i]));
      CHECK(with == special[i]);
    }
  }
  INFO(differ << " and " << differ_special << " (with specials) of " << texts.size() << " texts differ");
  CHECK(differ == 0);
  CHECK(differ_special == 0);

  // Pairs with the template's pair form, truncated longest-first to 48 tokens.
  std::vector<std::string> pairs;
  for (size_t i = 0; i + 1 < texts.size() && pairs.size() < 400; i += 9)
    if (texts[i].find('\t') == std::string::npos && texts[i + 1].find('\t') == std::string::npos)
      pairs.push_back(texts[i] + "\t" + texts[i + 1]);
  const auto pair_ref = reference(json, pairs, "--pairs --max-length 48");
  size_t differ_pairs = 0;
  EncodeOptions truncated;
  truncated.max_length = 48;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const size_t tab = pairs[i].find('\t');
    const Encoding e = encode_for_model(*tok, std::string_view(pairs[i]).substr(0, tab),
                                        std::string_view(pairs[i]).substr(tab + 1), truncated);
    const std::string mine = join_ids(e.ids) + "|" + join_ids(e.type_ids) + "|" + join_ids(e.attention_mask);
    if (mine != pair_ref[i] && ++differ_pairs <= 2) CHECK(mine == pair_ref[i]);
  }
  CHECK(differ_pairs == 0);

  // ptm's own tokenizer.json (what `ptm data prepare` and exports write) gives `tokenizers` the
  // same ids, and loads back into ptm.
  test::TempDir dir;
  const std::string again = dir.write("tokenizer.json", tok->to_hf_json());
  const auto again_ref = reference(again, texts, "--special");
  const auto reloaded = load_tokenizer(again);
  size_t differ_again = 0;
  for (size_t i = 0; i < texts.size(); ++i)
    if (again_ref[i] != special[i] || join_ids(encode_for_model(*reloaded, texts[i], std::nullopt, {}).ids) != special[i])
      ++differ_again;
  CHECK(differ_again == 0);

  for (const bool keep : {false, true}) {
    const auto decoded = reference(json, special, keep ? "--decode --keep-special" : "--decode");
    size_t wrong = 0;
    for (size_t i = 0; i < special.size(); ++i) {
      const std::string mine = tok->decode(parse_ids(special[i]), !keep);
      const std::string expected = nlohmann::json::parse(decoded[i]).get<std::string>();
      if (mine != expected && ++wrong <= 3) {
        INFO("decoding text " << i << (keep ? " keeping specials" : "") << ": " << show(texts[i]));
        CHECK(show(mine) == show(expected));
      }
    }
    INFO(wrong << " of " << special.size() << " decodings differ");
    CHECK(wrong == 0);
  }
}

// Every code point of planes 0-3 and 14, every 61st elsewhere (no surrogates), in lines of 2048.
template <class Chunk>
std::vector<std::string> code_point_lines(Chunk chunk) {
  std::vector<std::string> lines;
  std::string line;
  size_t in_line = 0;
  for (uint32_t cp = 0; cp < 0x110000; ++cp) {
    const uint32_t plane = cp >> 16;
    if ((cp >= 0xD800 && cp <= 0xDFFF) || !(plane <= 3 || plane == 14 || cp % 61 == 0)) continue;
    line += chunk(utf8(cp));
    if (++in_line == 2048) lines.push_back(std::move(line)), line.clear(), in_line = 0;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("Llama 3 tokenizer.json (Split regex with ByteLevel and ignore_merges) equals tokenizers",
          "[tokenizer][integration]") {
  const std::string json = built("llama3");
  const auto j = nlohmann::json::parse(test::read_text(json));
  REQUIRE(j["model"]["ignore_merges"] == true);
  REQUIRE(j["pre_tokenizer"]["pretokenizers"][0]["type"] == "Split");
  const auto texts = all_texts();
  REQUIRE(texts.size() > 4000);
  expect_parity(json, texts);
  const auto tok = load_tokenizer(json);
  CHECK(tok->vocab_size() == 3000 + 64 + 256);
  const auto bos = tok->token_to_id("<|begin_of_text|>");
  REQUIRE(bos);
  CHECK(encode_for_model(*tok, "Emma", std::nullopt, {}).ids.front() == *bos);
}

TEST_CASE("SentencePiece-converted tokenizer.json kinds (byte fallback and Metaspace) equal tokenizers",
          "[tokenizer][integration]") {
  const auto texts = all_texts();
  for (const char* kind : {"llama2", "llama2_normalized", "metaspace_first", "metaspace_split"}) {
    INFO(kind);
    const std::string json = built(kind);
    expect_parity(json, texts);

    // Decoding any ids: byte-token runs that are not UTF-8, specials and pieces mixed.
    const auto tok = load_tokenizer(json);
    std::mt19937 rng(7);
    std::vector<std::string> id_lines;
    for (int n = 0; n < 2000; ++n) {
      std::vector<int32_t> ids(1 + rng() % 20);
      for (auto& id : ids) id = rng() % 3 ? static_cast<int32_t>(rng() % 260) : static_cast<int32_t>(rng() % tok->vocab_size());
      id_lines.push_back(join_ids(ids));
    }
    for (const bool keep : {false, true}) {
      const auto decoded = reference(json, id_lines, keep ? "--decode --keep-special" : "--decode");
      size_t wrong = 0;
      for (size_t i = 0; i < id_lines.size(); ++i) {
        const std::string mine = tok->decode(parse_ids(id_lines[i]), !keep);
        const std::string expected = nlohmann::json::parse(decoded[i]).get<std::string>();
        if (mine != expected && ++wrong <= 3) {
          INFO("ids " << id_lines[i]);
          CHECK(show(mine) == show(expected));
        }
      }
      CHECK(wrong == 0);
    }
  }
}

// Newer pre-tokenizer patterns with the finer properties \p{Lu} \p{Ll} \p{Lt} \p{Lm} \p{Lo}
// \p{M} (GPT-4o's o200k, as in Tekken and Phi-4 files) and \p{P} \p{S} (DeepSeek V3's three
// Splits), on the same texts.
TEST_CASE("GPT-4o o200k and DeepSeek V3 Split patterns equal tokenizers", "[tokenizer][integration]") {
  const auto texts = all_texts();
  for (const char* kind : {"o200k", "deepseek3"}) {
    INFO(kind);
    const std::string json = built(kind);
    expect_parity(json, texts);
  }
}

// The regex engine's classes and case folding on every code point: each character alone and
// after an apostrophe (the case-insensitive contractions), a letter (lower and upper case), a
// combining mark, a digit, punctuation, a symbol, a space and a line break.
TEST_CASE("Split pre-tokenizers of Llama 3 and o200k and DeepSeek V3 equal tokenizers on every code point",
          "[tokenizer][integration]") {
  const auto lines = code_point_lines([](const std::string& c) {
    return c + "'" + c + "a" + c + "A" + c + "\u0301" + c + "1" + c + "!" + c + "$" + c + " " + c + "\n" + c + "  ";
  });
  for (const char* kind : {"llama3", "o200k", "deepseek3"}) {
    INFO(kind);
    const std::string json = built(kind);
    const auto j = nlohmann::json::parse(test::read_text(json));
    TextPipeline pipeline;
    pipeline.pre_tokenizers = parse_pre_tokenizers(j["pre_tokenizer"], json, "pre_tokenizer");
    const auto ref = reference(json, lines, "--pre-pieces");
    size_t differ = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      std::vector<std::string> mine;
      pipeline.run(lines[i], true, mine);
      const auto expected = nlohmann::json::parse(ref[i]).get<std::vector<std::string>>();
      if (mine == expected) continue;
      if (++differ > 3) continue;
      size_t k = 0;
      while (k < mine.size() && k < expected.size() && mine[k] == expected[k]) ++k;
      FAIL_CHECK("line " << i << ", piece " << k << ": ptm " << (k < mine.size() ? show(mine[k]) : "(end)")
                         << ", tokenizers " << (k < expected.size() ? show(expected[k]) : "(end)"));
    }
    CHECK(differ == 0);
  }
}

TEST_CASE("byte-fallback BPE ids equal tokenizers on every code point", "[tokenizer][integration]") {
  for (const char* kind : {"llama2", "metaspace_split"}) {
    INFO(kind);
    const std::string json = built(kind);
    const auto tok = load_tokenizer(json);
    const auto lines = code_point_lines([](const std::string& c) { return c + " a" + c + "e "; });
    const auto ref = reference(json, lines, "");
    size_t differ = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string mine = join_ids(tok->encode(lines[i]));
      if (mine != ref[i] && ++differ <= 3) {
        const auto a = parse_ids(mine), b = parse_ids(ref[i]);
        size_t k = 0;
        while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
        FAIL_CHECK("line " << i << ", token " << k << ": ptm " << (k < a.size() ? tok->id_to_token(a[k]) : "(end)")
                           << ", tokenizers " << (k < b.size() ? tok->id_to_token(b[k]) : "(end)"));
      }
    }
    CHECK(differ == 0);
  }
}

TEST_CASE("tokenizer.json parts ptm does not run are refused naming the key", "[tokenizer]") {
  const auto base = nlohmann::json::parse(test::read_text(built("llama3")));
  const auto sp = nlohmann::json::parse(test::read_text(built("llama2")));
  test::TempDir dir;
  auto error_for = [&](nlohmann::json j) {
    const std::string file = dir.write("tokenizer.json", j.dump());
    try {
      load_tokenizer(file);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no ConfigError");
  };
  auto j = base;
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{Sc}+|\\s+";
  auto msg = error_for(j);
  CHECK(test::contains(msg, "pre_tokenizer.pretokenizers[0].pattern.Regex"));
  CHECK(test::contains(msg, "unsupported Unicode property (ptm knows \\p{L} \\p{Lu}"));
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\d+";
  CHECK(test::contains(error_for(j), "unsupported escape \\d"));
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "a*";
  CHECK(test::contains(error_for(j), "can match the empty string"));
  j = base;
  j["pre_tokenizer"]["pretokenizers"].push_back({{"type", "Digits"}, {"individual_digits", true}});
  CHECK(test::contains(error_for(j), "pre_tokenizer.pretokenizers[2].type"));
  j = base;
  std::swap(j["pre_tokenizer"]["pretokenizers"][0], j["pre_tokenizer"]["pretokenizers"][1]);
  CHECK(test::contains(error_for(j), "ByteLevel must be the last"));
  j = sp;
  j["normalizer"]["normalizers"][0] = {{"type", "NFKC"}};
  CHECK(test::contains(error_for(j), "normalizer.normalizers[0].type"));
  j = sp;
  j["decoder"]["decoders"][1] = {{"type", "CTC"}};
  CHECK(test::contains(error_for(j), "decoder.decoders[1].type"));
  j = sp;
  j["model"]["continuing_subword_prefix"] = "##";
  CHECK(test::contains(error_for(j), "model.continuing_subword_prefix"));
  j = sp;
  j["normalizer"]["normalizers"][1]["pattern"] = {{"Regex", " +"}};
  CHECK(test::contains(error_for(j), "normalizer.normalizers[1].pattern.Regex"));

  // The binary: exit 2 with the file and the key.
  j = base;
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+";
  const std::string bad = dir.write("bad/tokenizer.json", j.dump());
  dir.write("corpus/a.txt", "Some text.\n");
  const std::string recipe = dir.write("prepare.yaml", "prepare:\n  sources: [" + dir.file("corpus") +
                                                           "]\n  tokenizer:\n    type: pretrained\n    path: " + bad +
                                                           "\n  out: " + dir.file("out") + "\n");
  const auto r = test::run_ptm("data prepare --config '" + recipe + "'");
  CHECK(r.exit_code == 2);
  CHECK(test::contains(r.err, bad));
  CHECK(test::contains(r.err, "pre_tokenizer.pretokenizers[0].pattern.Regex"));
}

namespace {

// A tokenizer.json around `pre_tokenizer` (and `normalizer`) with a one-token BPE model: enough
// for `tokenizers` to run the pre-tokenizer.
std::string pre_tokenizer_file(const test::TempDir& dir, const std::string& name, const nlohmann::json& pre,
                               const nlohmann::json& normalizer = nullptr) {
  const nlohmann::json j = {
      {"version", "1.0"},         {"truncation", nullptr},   {"padding", nullptr}, {"added_tokens", nlohmann::json::array()},
      {"normalizer", normalizer}, {"pre_tokenizer", pre},    {"post_processor", nullptr}, {"decoder", nullptr},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
        {"vocab", {{"a", 0}}}, {"merges", nlohmann::json::array()}}}};
  return dir.write(name + ".json", j.dump());
}

nlohmann::json split(const std::string& regex, const std::string& behavior = "Isolated", bool invert = false) {
  return {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", behavior}, {"invert", invert}};
}

}  // namespace

// The regex engine beyond Llama 3's pattern (Qwen2's and GPT-2's written out, lazy and bounded
// quantifiers, alternation order, lookahead, escapes, ranges, case-insensitive groups), every
// Split behavior with and without invert, a String pattern, and Split/ByteLevel/Metaspace
// sequences behind a normalizer: pieces equal `tokenizers`' on real and generated text.
TEST_CASE("Split patterns and behaviors equal tokenizers", "[tokenizer][integration]") {
  std::vector<nlohmann::json> configs;
  for (const char* re : {
           R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
           R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
           R"(\p{L}{2,3}?|\p{N}{2}|[a-f0-9]+?x|.)", R"(ab|abc|a|(?:x|xy)z)", R"(\p{L}+(?=\p{N})|\p{L}+(?!\s)|\S)",
           R"([\x{4E00}-\x{9FFF}]+|[\u3040-\u30FF]+|[^\s])", R"([\-\]\\.,]+|\t+|\r\n|\.|\P{L}\P{N})",
           R"((?i)the|(?i:[a-c]+)|E+)", R"(\S+\s*?|\s{2,4})"})
    configs.push_back(split(re));
  for (const char* behavior : {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"})
    for (const bool invert : {false, true}) configs.push_back(split(R"(\s+|\p{N})", behavior, invert));
  configs.push_back({{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "MergedWithNext"}, {"invert", false}});
  configs.push_back({{"type", "Sequence"},
                     {"pretokenizers",
                      {split(R"(\p{N}{1,3})"), {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}}}});
  configs.push_back({{"type", "Sequence"},
                     {"pretokenizers",
                      {split(R"([.,;!?]+)"), {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"},
                                             {"split", true}}}}});
  configs.push_back({{"type", "Metaspace"}, {"replacement", "_"}, {"prepend_scheme", "never"}, {"split", true}});
  const nlohmann::json normalizer = {{"type", "Sequence"},
                                     {"normalizers",
                                      {{{"type", "Replace"}, {"pattern", {{"String", "e"}}}, {"content", " E "}},
                                       {{"type", "Prepend"}, {"prepend", "_"}}}}};

  auto texts = multilingual_texts(400, 5);
  for (size_t i = 0; i < real_texts().size(); i += 10) texts.push_back(real_texts()[i]);
  for (const char* t : {"abc xyz xz axyz", "aBc THE The tHe eee", "12345 1 22 333", "a.b-c]d\\e,,f\t\t\r\n.",
                        "  two  spaces   three", "\u4e2d\u6587\u3042\u30a2 mixed", "deadbeefx 0fx"})
    texts.push_back(t);
  test::TempDir dir;
  for (size_t c = 0; c < configs.size(); ++c) {
    const bool with_normalizer = c + 1 == configs.size();
    INFO("config " << c << ": " << configs[c].dump() << (with_normalizer ? " behind " + normalizer.dump() : ""));
    const std::string file =
        pre_tokenizer_file(dir, "c" + std::to_string(c), configs[c], with_normalizer ? normalizer : nlohmann::json());
    TextPipeline pipeline;
    pipeline.normalizers = parse_normalizers(with_normalizer ? normalizer : nlohmann::json(), file, "normalizer");
    pipeline.pre_tokenizers = parse_pre_tokenizers(configs[c], file, "pre_tokenizer");
    const auto ref = reference(file, texts, "--pre-pieces");
    size_t differ = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      std::vector<std::string> mine;
      pipeline.run(texts[i], true, mine);
      const auto expected = nlohmann::json::parse(ref[i]).get<std::vector<std::string>>();
      if (mine != expected && ++differ <= 2) {
        INFO("text " << show(texts[i]));
        CHECK(nlohmann::json(mine).dump() == nlohmann::json(expected).dump());
      }
    }
    CHECK(differ == 0);
  }
}

TEST_CASE("Split regex with nested quantifiers stays fast on a long non-match", "[tokenizer]") {
  const Regex re("(a+)+b|(\\s+)+x");
  const std::string text = std::string(20000, 'a') + "c" + std::string(20000, ' ') + "y";
  size_t b = 0, e = 0;
  CHECK_FALSE(re.search(text, 0, b, e));
  const std::string hit = std::string(20000, 'a') + "b";
  REQUIRE(re.search(hit, 0, b, e));
  CHECK(b == 0);
  CHECK(e == hit.size());
  CHECK(test::contains(test::error_of([] { Regex("a(?i)b|c"); }), "start of a branch"));
}
