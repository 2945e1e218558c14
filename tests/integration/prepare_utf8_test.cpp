// Invalid UTF-8 in `ptm data prepare` inputs (prepare.invalid_utf8): replacement as Python's
// decode(errors="replace") does it, whatever the read blocks are; documents skipped; an error
// naming the file and byte. The bytes tokenizer makes the shards the text itself, so they are
// compared with Python's decoding of the same files (tests/golden/utf8_replace.py).
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/data/shard.h"
#include "ptm/data/utf8_check.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::read_text;
using ptm::test::run_ptm;

namespace {

// Every kind of invalid sequence: truncated 2-4 byte forms, a surrogate, an overlong form, a
// byte that never starts one, a code point above U+10FFFF, and a lead byte at the very end.
const std::string kNasty = "ok \xe2\x82 x \xf0\x9f\x98 \xed\xa0\x80 \xc0\xaf \xff \xe2\x82\xac \xf4\x90\x80\x80 \xe0\x80 end \xf0";

std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// tests/golden/utf8_replace.py on `files`: one JSON object per file.
std::vector<nlohmann::json> python_reference(const std::vector<std::string>& files) {
  REQUIRE(std::string(ptm::test::python_exe()) != "");
  ptm::test::TempDir io;
  std::string cmd = "cd '" + std::string(ptm::test::source_dir()) + "' && '" + ptm::test::python_exe() +
                    "' tests/golden/utf8_replace.py";
  for (const auto& f : files) cmd += " '" + f + "'";
  cmd += " >'" + io.file("out") + "' 2>'" + io.file("err") + "'";
  const int status = std::system(cmd.c_str());
  INFO(read_text(io.file("err")));
  REQUIRE(WEXITSTATUS(status) == 0);
  std::vector<nlohmann::json> out;
  std::istringstream lines(read_text(io.file("out")));
  for (std::string line; std::getline(lines, line);) out.push_back(nlohmann::json::parse(line));
  REQUIRE(out.size() == files.size());
  return out;
}

// The train shards of a prepared folder as bytes, each document followed by "|" (the bytes
// tokenizer's <|endoftext|>, id 256).
std::string shard_text(const std::string& dir) {
  const auto m = nlohmann::json::parse(read_text(dir + "/manifest.json"));
  std::string out;
  for (const auto& s : m["train"]["shards"]) {
    ptm::data::ShardReader r(dir + "/" + s["file"].get<std::string>());
    std::vector<int64_t> ids(static_cast<size_t>(r.size()));
    r.read(0, r.size(), ids.data());
    for (const auto id : ids) out += id == 256 ? '|' : static_cast<char>(id);
  }
  return out;
}

std::string recipe(const ptm::test::TempDir& d, const std::string& corpus, const std::string& format,
                   const std::string& out) {
  return d.write("r_" + format + ".yaml", "prepare:\n  sources: [" + corpus + "]\n  format: " + format +
                                              "\n  tokenizer: {type: bytes}\n  val_fraction: 0.0\n  out: " + out + "\n");
}

}  // namespace

TEST_CASE("invalid UTF-8 is replaced as Python's errors=replace does, wherever the blocks end", "[unit][data][utf8]") {
  ptm::test::TempDir d;
  const auto ref = python_reference({d.write("nasty.txt", kNasty)})[0];
  REQUIRE(ref["sequences"] == 15);
  for (size_t block = 1; block <= kNasty.size(); ++block) {
    INFO("blocks of " << block);
    ptm::data::Utf8Check replace(true), count(false);
    std::string replaced, kept;
    for (size_t at = 0; at < kNasty.size(); at += block) {
      std::string a = kNasty.substr(at, block), b = a;
      const bool last = at + block >= kNasty.size();
      replace.feed(a, last);
      count.feed(b, last);
      replaced += a;
      kept += b;
    }
    CHECK(hex(replaced) == ref["docs"][0].get<std::string>());
    CHECK(kept == kNasty);  // counting only: the text as it is
    CHECK(replace.invalid() == 15);
    CHECK(count.invalid() == 15);
    CHECK(replace.first_at() + 1 == ref["first"].get<int64_t>());
  }
}

TEST_CASE("ptm data prepare replaces, skips or refuses invalid UTF-8 and counts it", "[integration][data][utf8]") {
  ptm::test::TempDir d;
  // b_bad.txt: a valid 3-byte character across the 1 MiB read block's end, an incomplete one
  // before the 2 MiB end, the nasty bytes and a truncated sequence at the end of the file.
  std::string big;
  while (big.size() < (size_t{1} << 20) - 1) big += "Line of plain text number " + std::to_string(big.size()) + ".\n";
  big.resize((size_t{1} << 20) - 1);
  big += "\xe2\x82\xac";
  while (big.size() < (size_t{2} << 20) - 2) big += "More text " + std::to_string(big.size()) + ".\n";
  big.resize((size_t{2} << 20) - 2);
  big += "\xf0\x9f\x98 tail\n" + kNasty;
  const auto good = d.write("corpus/a_good.txt", "A valid document, \xc3\xa9 and \xf0\x9f\x98\x80.\n");
  const auto bad = d.write("corpus/b_bad.txt", big);
  const auto ref = python_reference({good, bad});
  const std::string expected = std::string(ref[0]["docs"][0]) + "7c" + std::string(ref[1]["docs"][0]) + "7c";
  const int64_t sequences = ref[1]["sequences"];
  REQUIRE(sequences == 16);

  const std::string out = d.file("out");
  auto r = run_ptm("data prepare --config " + recipe(d, d.file("corpus"), "text", out));  // replace: the default
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(hex(shard_text(out)) == expected);
  CHECK(contains(r.out, "invalid UTF-8 (replace): 1 documents, 16 sequences\n"));
  auto m = nlohmann::json::parse(read_text(out + "/manifest.json"));
  CHECK(m["invalid_utf8"] == nlohmann::json{{"policy", "replace"}, {"documents", 1}, {"sequences", 16}});
  CHECK(m["documents_dropped"]["invalid_utf8"] == 0);

  r = run_ptm("data prepare --config " + recipe(d, d.file("corpus"), "text", out) +
              " prepare.invalid_utf8=skip --overwrite");
  REQUIRE(r.exit_code == 0);
  CHECK(hex(shard_text(out)) == std::string(ref[0]["docs"][0]) + "7c");
  CHECK(contains(r.out, "documents: 2 read"));
  CHECK(contains(r.out, "invalid UTF-8 (skip): 1 documents, 16 sequences, 1 documents skipped\n"));
  m = nlohmann::json::parse(read_text(out + "/manifest.json"));
  CHECK(m["documents_dropped"]["invalid_utf8"] == 1);
  CHECK(m["documents"] == 1);

  const std::string none = d.file("none");
  r = run_ptm("data prepare --config " + recipe(d, d.file("corpus"), "text", none) + " prepare.invalid_utf8=error");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, bad + ": invalid UTF-8 at byte " + std::to_string(ref[1]["first"].get<int64_t>()) +
                            " of the text (prepare.invalid_utf8 is error"));
  CHECK_FALSE(fs::exists(none));
  CHECK_FALSE(fs::exists(none + ".partial"));
  r = run_ptm("data prepare --config " + recipe(d, d.file("corpus"), "text", none) + " prepare.invalid_utf8=drop");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "prepare.invalid_utf8: 'drop' is not one of: replace, skip, error"));
}

TEST_CASE("invalid UTF-8 in JSONL records: the record is replaced, skipped or named by line", "[integration][data][utf8]") {
  ptm::test::TempDir d;
  const auto file = d.write("records/part.jsonl", "{\"text\": \"first record\"}\n{\"text\": \"bad \xff\xfe here \xe2\x82\"}\n"
                                                  "{\"text\": \"fine \xc3\xa9\"}\n");
  const auto ref = python_reference({file})[0];
  std::string expected;
  for (const auto& doc : ref["docs"]) expected += doc.get<std::string>() + "7c";
  const std::string out = d.file("out");
  auto r = run_ptm("data prepare --config " + recipe(d, d.file("records"), "jsonl", out));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(hex(shard_text(out)) == expected);
  CHECK(contains(r.out, "invalid UTF-8 (replace): 1 documents, " + std::to_string(ref["sequences"].get<int>()) + " sequences"));
  r = run_ptm("data prepare --config " + recipe(d, d.file("records"), "jsonl", out) + " prepare.invalid_utf8=skip --overwrite");
  REQUIRE(r.exit_code == 0);
  CHECK(hex(shard_text(out)) == ref["docs"][0].get<std::string>() + "7c" + ref["docs"][2].get<std::string>() + "7c");
  CHECK(contains(r.out, "documents: 3 read"));
  r = run_ptm("data prepare --config " + recipe(d, d.file("records"), "jsonl", d.file("none")) +
              " prepare.invalid_utf8=error");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, file + ":2: invalid UTF-8 at byte 15 of the line"));
}
