// Corpus preparation with the byte tokenizer (exactly predictable ids): counts, split, EOS,
// manifest, thread-count independence, refusal to clobber, bad input.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/config/load.h"
#include "ptm/core/errors.h"
#include "ptm/data/prepare.h"
#include "ptm/core/sha256.h"
#include "ptm/data/shard.h"

using namespace ptm::data;
using ptm::sha256_file;
using ptm::sha256_hex;
namespace fs = std::filesystem;

namespace {

PrepareConfig config_for(const ptm::test::TempDir& d, const std::string& extra = "") {
  const auto node = ptm::config::parse_yaml("sources: [" + d.file("corpus") + "]\nout: " + d.file("out") +
                                                "\nval_fraction: 0.1\ntokenizer: {type: bytes}\n" + extra,
                                            "p.yaml");
  ptm::config::BindContext ctx;
  ptm::config::Section s(ctx, &node, "prepare", {});
  PrepareConfig c;
  bind(s, c);
  ctx.throw_if_any();
  return c;
}

std::vector<int64_t> all_tokens(const std::string& file) {
  ShardReader r(file);
  std::vector<int64_t> v(r.size());
  r.read(0, r.size(), v.data());
  return v;
}

}  // namespace

TEST_CASE("prepare splits each document's tail into val and ends documents with EOS", "[unit][data]") {
  ptm::test::TempDir d;
  d.write("corpus/a.txt", std::string(100, 'a'));
  d.write("corpus/sub/b.txt", std::string(50, 'b'));
  d.write("corpus/ignored.bin", "xx");
  const auto r = prepare_corpus(config_for(d), "resolved: true\n", false);
  CHECK(r.documents == 2);
  CHECK(r.vocab_size == 257);  // 256 bytes + <|endoftext|>
  // a: 101 ids (100 + EOS) -> 10 to val; b: 51 ids -> 5 to val
  CHECK(r.train_tokens == 91 + 46);
  CHECK(r.val_tokens == 10 + 5);
  const auto train = all_tokens(d.file("out/train_000000.bin"));
  CHECK(train[0] == 'a');
  CHECK(train[90] == 'a');
  CHECK(train[91] == 'b');
  const auto val = all_tokens(d.file("out/val_000000.bin"));
  CHECK(val[9] == 256);   // a's EOS is the last token of a's tail
  CHECK(val[14] == 256);
  const auto m = nlohmann::json::parse(ptm::test::read_text(d.file("out/manifest.json")));
  CHECK(m["sources"].size() == 2);
  CHECK(m["sources"][0]["sha256"] == sha256_hex(std::string(100, 'a')));
  CHECK(m["tokenizer"]["sha256"] == sha256_file(d.file("out/tokenizer.json")));
  CHECK(m["train"]["shards"][0]["sha256"] == sha256_file(d.file("out/train_000000.bin")));
  CHECK(m["tokenizer"]["eos_id"] == 256);
  CHECK(ptm::test::read_text(d.file("out/prepare.yaml")) == "resolved: true\n");
  CHECK(r.manifest_sha256 == sha256_file(d.file("out/manifest.json")));
}

TEST_CASE("prepare output does not depend on the number of threads", "[unit][data]") {
  ptm::test::TempDir d;
  std::string text;
  for (int i = 0; i < 40000; ++i) text += "Line " + std::to_string(i) + " of the corpus.\n  indented\n";
  d.write("corpus/big.txt", text);
  auto one = config_for(d, "threads: 1\nshard_tokens: 100000\n");
  prepare_corpus(one, "", false);
  const auto single = sha256_file(d.file("out/train_000001.bin"));
  auto many = config_for(d, "threads: 4\nshard_tokens: 100000\n");
  prepare_corpus(many, "", true);
  CHECK(sha256_file(d.file("out/train_000001.bin")) == single);
  CHECK(fs::exists(d.file("out/train_000010.bin")));  // ~1.1M tokens in 100k shards
}

TEST_CASE("prepare refuses to replace an existing folder without overwrite", "[unit][data]") {
  ptm::test::TempDir d;
  d.write("corpus/a.txt", "hello world\n");
  prepare_corpus(config_for(d), "", false);
  const auto before = sha256_file(d.file("out/manifest.json"));
  CHECK_THROWS_AS(prepare_corpus(config_for(d), "", false), ptm::ConfigError);
  CHECK(sha256_file(d.file("out/manifest.json")) == before);
}

TEST_CASE("bad preparation input is reported by name", "[unit][data]") {
  ptm::test::TempDir d;
  d.write("corpus/empty.txt", "");
  CHECK(ptm::test::contains(ptm::test::error_of([&] { prepare_corpus(config_for(d), "", false); }),
                            "the sources hold no text"));
  CHECK_FALSE(fs::exists(d.file("out")));
  d.write("corpus/x.jsonl", "{\"text\": \"fine\"}\nnot json\n");
  CHECK(ptm::test::contains(
      ptm::test::error_of([&] { prepare_corpus(config_for(d, "format: jsonl\nextensions: [.jsonl]\n"), "", false); }),
      "x.jsonl:2: not a JSON object"));
  const auto node = ptm::config::parse_yaml("sources: [nowhere]\nout: o\ntokenizer: {type: bpe, vocab_size: 10}\n", "p.yaml");
  ptm::config::BindContext ctx;
  ptm::config::Section s(ctx, &node, "prepare", {});
  PrepareConfig c;
  bind(s, c);
  REQUIRE(ctx.problems().size() == 2);
  CHECK(ctx.problems()[0].str() == "p.yaml:3:36: prepare.tokenizer.vocab_size: must be >= 257, got 10");
  CHECK(ctx.problems()[1].message == "'nowhere' does not exist");
}
