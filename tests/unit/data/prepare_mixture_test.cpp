// Weighted mixtures in `ptm data prepare`: the byte tokenizer's shards decoded back into
// documents show which source each came from, so the realised proportions, the order within
// each source, the interleave and the manifest's counts are checked against the documents.
#include <filesystem>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/config/load.h"
#include "ptm/core/sha256.h"
#include "ptm/data/prepare.h"
#include "ptm/data/shard.h"

using namespace ptm::data;
namespace fs = std::filesystem;

namespace {

PrepareConfig mixture_config(const ptm::test::TempDir& d, const std::string& out, const std::string& extra) {
  const auto node = ptm::config::parse_yaml("sources: [" + d.file("a") + ", " + d.file("b") + "]\nout: " +
                                                d.file(out) + "\nformat: jsonl\nval_fraction: 0.0\n"
                                                "tokenizer: {type: bytes}\n" + extra,
                                            "p.yaml");
  ptm::config::BindContext ctx;
  ptm::config::Section s(ctx, &node, "prepare", {});
  PrepareConfig c;
  bind(s, c);
  ctx.throw_if_any();
  return c;
}

// `n` documents "<tag><i> xxx..." of 40-160 bytes.
void write_source(const ptm::test::TempDir& d, const std::string& tag, int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string jsonl;
  for (int i = 0; i < n; ++i) {
    std::string doc = tag + std::to_string(i) + " ";
    doc += std::string(40 + rng() % 121 - std::min<size_t>(doc.size(), 40), 'x');
    jsonl += nlohmann::json{{"text", doc}}.dump() + "\n";
  }
  d.write(tag + "/part.jsonl", jsonl);
}

// The train split's documents (byte ids, each ended by <|endoftext|> = 256).
std::vector<std::string> documents(const std::string& dir) {
  const auto m = nlohmann::json::parse(ptm::test::read_text(dir + "/manifest.json"));
  std::vector<std::string> docs(1);
  for (const auto& s : m["train"]["shards"]) {
    ShardReader r(dir + "/" + s["file"].get<std::string>());
    std::vector<int64_t> v(r.size());
    r.read(0, r.size(), v.data());
    for (const auto id : v) {
      if (id == 256) docs.emplace_back();
      else docs.back() += static_cast<char>(id);
    }
  }
  docs.pop_back();
  return docs;
}

struct Realised {
  std::map<char, int64_t> docs, bytes;
  int64_t total = 0;
  double share(char s) const { return static_cast<double>(bytes.at(s)) / static_cast<double>(total); }
};

// Checks each source's documents are its first ones, in order; returns the counts.
Realised realised(const std::vector<std::string>& docs) {
  Realised r;
  for (const auto& doc : docs) {
    const char s = doc[0];
    CHECK(doc.substr(1, doc.find(' ') - 1) == std::to_string(r.docs[s]));
    ++r.docs[s];
    r.bytes[s] += static_cast<int64_t>(doc.size());
    r.total += static_cast<int64_t>(doc.size());
  }
  return r;
}

}  // namespace

TEST_CASE("a weighted mixture interleaves its sources in the given proportions of text", "[unit][data]") {
  ptm::test::TempDir d;
  write_source(d, "a", 1500, 1);  // ~150 KB
  write_source(d, "b", 200, 2);   // ~20 KB: at weight 1/4 it limits the mixture to ~80 KB
  const auto r = prepare_corpus(mixture_config(d, "out", "weights: [3, 1]\nseed: 7\n"), "", false);
  const auto docs = documents(d.file("out"));
  const auto got = realised(docs);
  // The scarce source is used whole, the other as far as its share needs; shares within
  // about one document (160 bytes) of the weights.
  CHECK(got.docs.at('b') == 200);
  CHECK(got.docs.at('a') < 1500);
  CHECK(got.share('a') == Approx(0.75).margin(0.004));
  CHECK(r.documents == static_cast<int64_t>(docs.size()));
  CHECK(r.documents_read == 1700);
  CHECK(r.unused_by_mixture == 1500 - got.docs.at('a'));
  // Interleaved, not one source after the other: b appears early and late.
  int b_first = -1, b_last = -1;
  for (int i = 0; i < static_cast<int>(docs.size()); ++i)
    if (docs[i][0] == 'b') {
      if (b_first < 0) b_first = i;
      b_last = i;
    }
  CHECK(b_first < 20);
  CHECK(b_last > static_cast<int>(docs.size()) * 9 / 10);
  // The report agrees with the documents: tokens are bytes + one <|endoftext|> each.
  REQUIRE(r.mixture.size() == 2);
  CHECK(r.mixture[0].weight == Approx(0.75));
  CHECK(r.mixture[0].documents == got.docs.at('a'));
  CHECK(r.mixture[1].tokens == got.bytes.at('b') + got.docs.at('b'));
  CHECK(r.mixture[0].byte_share == Approx(got.share('a')));
  CHECK(r.mixture[0].token_share ==
        Approx(static_cast<double>(r.mixture[0].tokens) / static_cast<double>(r.train_tokens)));
  const auto m = nlohmann::json::parse(ptm::test::read_text(d.file("out/manifest.json")));
  CHECK(m["mixture"]["sources"][1]["source"] == d.file("b"));
  CHECK(m["mixture"]["sources"][1]["text_bytes"] == got.bytes.at('b'));
  CHECK(m["documents_dropped"]["unused_by_mixture"] == r.unused_by_mixture);

  // Another seed: another order, the same proportions; other thread counts: the same bytes.
  prepare_corpus(mixture_config(d, "seed8", "weights: [3, 1]\nseed: 8\n"), "", false);
  const auto docs8 = documents(d.file("seed8"));
  CHECK(docs8 != docs);
  CHECK(realised(docs8).share('a') == Approx(0.75).margin(0.004));
  for (const char* threads : {"1", "4"}) {
    prepare_corpus(mixture_config(d, std::string("t") + threads, std::string("weights: [3, 1]\nseed: 7\nthreads: ") + threads + "\n"), "", false);
    CHECK(ptm::sha256_file(d.file(std::string("t") + threads + "/train_000000.bin")) ==
          ptm::sha256_file(d.file("out/train_000000.bin")));
  }
}

TEST_CASE("a source of weight 0 is left out of the mixture and counted", "[unit][data]") {
  ptm::test::TempDir d;
  write_source(d, "a", 300, 1);
  write_source(d, "b", 100, 2);
  const auto r = prepare_corpus(mixture_config(d, "out", "weights: [1, 0]\n"), "", false);
  const auto got = realised(documents(d.file("out")));
  CHECK(got.docs.at('a') == 300);
  CHECK(got.docs.count('b') == 0);
  CHECK(r.unused_by_mixture == 100);
  CHECK(r.mixture[1].tokens == 0);
}
