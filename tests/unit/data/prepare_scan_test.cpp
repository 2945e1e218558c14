// Pass 1 of `ptm data prepare` on several threads (prepare_scan.cpp): the files are cut into
// batches of lines that workers parse and hash while the decisions are taken in corpus order,
// so the same corpus gives the same bytes on 1, 2 or 3 threads (and on 16, whose batches are
// the smallest). The corpora have exact and near duplicates, documents outside the length
// filter, a tokenizer sample that ends mid-corpus, gzip files and one JSONL file of many
// batches; errors name the same file and line whatever the threads.
#include <cstdlib>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "skip.h"
#include "ptm/config/load.h"
#include "ptm/core/sha256.h"
#include "ptm/data/prepare.h"

using namespace ptm::data;
namespace fs = std::filesystem;

namespace {

PrepareConfig config_for(const std::string& sources, const std::string& out, const std::string& extra) {
  const auto node = ptm::config::parse_yaml("sources: [" + sources + "]\nout: " + out + "\n" + extra, "p.yaml");
  ptm::config::BindContext ctx;
  ptm::config::Section s(ctx, &node, "prepare", {});
  PrepareConfig c;
  bind(s, c);
  ctx.throw_if_any();
  return c;
}

// Words from a small vocabulary: two documents share 5-word shingles only when one is copied
// from the other.
std::string random_doc(std::mt19937& rng, int words, bool newlines = true) {
  std::string s;
  for (int i = 0; i < words; ++i) {
    if (i > 0) s += newlines && rng() % 17 == 0 ? "\n" : " ";
    s += "w" + std::to_string(rng() % 5000);
  }
  return s;
}

// `n` documents, with exact copies (other whitespace), near copies (one word in 300+ changed)
// of earlier ones, short ones and empty ones; `earlier` holds documents of the files before.
std::vector<std::string> corpus_docs(std::mt19937& rng, int n, std::vector<std::string>& earlier) {
  std::vector<std::string> docs;
  for (int i = 0; i < n; ++i) {
    const int kind = static_cast<int>(rng() % 10);
    if (kind == 0 && !earlier.empty()) {
      std::string d = earlier[rng() % earlier.size()];
      d = "  " + d + "\n";  // exact duplicate up to whitespace
      docs.push_back(d);
    } else if (kind == 1 && !earlier.empty()) {
      std::string d = earlier[rng() % earlier.size()];
      const size_t at = d.find(' ', d.size() / 2);
      if (at != std::string::npos) d.insert(at + 1, "changed ");  // a near duplicate
      docs.push_back(d);
    } else if (kind == 2) {
      docs.push_back("tiny " + std::to_string(rng() % 3));  // below min_document_bytes, or duplicates
    } else if (kind == 3 && i % 7 == 0) {
      docs.push_back("");
    } else {
      docs.push_back(random_doc(rng, 300 + static_cast<int>(rng() % 200)));
      earlier.push_back(docs.back());
    }
  }
  return docs;
}

std::string jsonl_of(const std::vector<std::string>& docs) {
  std::string out;
  for (size_t i = 0; i < docs.size(); ++i) {
    out += nlohmann::json{{"text", docs[i]}, {"id", i}}.dump() + "\n";
    if (i % 100 == 0) out += "\n";  // blank lines are skipped
  }
  return out;
}

// What a prepared folder holds: the manifest without the paths (the outputs differ) and
// every file's hash.
std::string fingerprint(const std::string& dir) {
  auto m = nlohmann::json::parse(ptm::test::read_text(dir + "/manifest.json"));
  std::string all = m.dump();
  for (const auto& e : fs::directory_iterator(dir))
    all += "\n" + e.path().filename().string() + " " + ptm::sha256_file(e.path().string());
  return all;
}

bool have_gzip() { return std::system("command -v gzip >/dev/null") == 0; }

}  // namespace

TEST_CASE("pass 1 gives the same shards, manifest and deduplication on 1, 2, 3 or 16 threads", "[unit][data][prepare]") {
  ptm::test::TempDir d;
  std::mt19937 rng(23);
  std::vector<std::string> earlier;
  // jsonl/: three small files (one gzip-compressed when gzip is there), an empty one, and one of
  // ~3 MB: with memory_mb 8 it is cut into batches of 64 KB (16 threads) to 512 KB (1 thread).
  for (int f = 0; f < 3; ++f) d.write("jsonl/a" + std::to_string(f) + ".jsonl", jsonl_of(corpus_docs(rng, 60, earlier)));
  d.write("jsonl/b_empty.jsonl", "");
  d.write("jsonl/c_big.jsonl", jsonl_of(corpus_docs(rng, 1500, earlier)));
  if (have_gzip()) REQUIRE(std::system(("gzip '" + d.file("jsonl/a1.jsonl") + "'").c_str()) == 0);
  // text/: one document per file, a few larger than the text a worker holds (read again for
  // the sample).
  std::vector<std::string> text_earlier;
  const auto text_docs = corpus_docs(rng, 120, text_earlier);
  for (size_t i = 0; i < text_docs.size(); ++i) {
    std::string t = text_docs[i];
    if (i % 40 == 5) t = random_doc(rng, 120'000);  // ~800 KB
    char name[32];
    std::snprintf(name, sizeof(name), "text/f%03zu.txt", i);
    d.write(name, t);
  }
  // mix/: two sources by weight, each giving its share of the sample.
  std::vector<std::string> mix_earlier;
  d.write("mix1/x.jsonl", jsonl_of(corpus_docs(rng, 400, mix_earlier)));
  d.write("mix2/y.jsonl", jsonl_of(corpus_docs(rng, 400, mix_earlier)));

  const std::string common =
      "val_fraction: 0.05\nshard_tokens: 150000\nmemory_mb: 8\nmin_document_bytes: 20\n"
      "dedup: {exact: true, near: true, shingle: 5, threshold: 0.8, bands: 16, rows: 8, seed: 3}\n"
      "tokenizer: {type: bpe, vocab_size: 400}\n";
  struct Recipe {
    std::string name, sources, yaml;
  };
  for (const auto& [name, sources, yaml] : std::vector<Recipe>{
           {"jsonl", d.file("jsonl"), "format: jsonl\nextensions: [.jsonl]\ntokenizer_train_bytes: 900000\n"},
           {"text", d.file("text"), "format: text\ntokenizer_train_bytes: 2000000\n"},
           {"mixture", d.file("mix1") + ", " + d.file("mix2"),
            "format: jsonl\nweights: [0.7, 0.3]\ntokenizer_train_bytes: 300000\n"}}) {
    INFO(name);
    std::string first;
    for (const int threads : {1, 2, 3, 16}) {
      INFO("threads " << threads);
      const auto out = d.file("out_" + name + std::to_string(threads));
      const auto r = prepare_corpus(config_for(sources, out, common + yaml + "threads: " + std::to_string(threads) + "\n"),
                                    "", false);
      // The corpus has what the test is about.
      CHECK(r.dropped_exact > 0);
      CHECK(r.dropped_near > 0);
      CHECK(r.dropped_length > 0);
      if (threads == 1) first = fingerprint(out);
      else CHECK(fingerprint(out) == first);
    }
  }
}

TEST_CASE("pass 1 names the same file and line on any number of threads", "[unit][data][prepare]") {
  ptm::test::TempDir d;
  std::mt19937 rng(5);
  std::vector<std::string> earlier;
  const auto docs = corpus_docs(rng, 1500, earlier);
  // A bad line deep in a file of many batches (line numbers counted across them).
  std::string jsonl = jsonl_of(docs);
  size_t at = 0;
  for (int line = 1; line < 1400; ++line) at = jsonl.find('\n', at) + 1;
  jsonl.insert(at, "{\"text\": 5}\n");  // line 1400
  d.write("bad/a.jsonl", jsonl_of({"first file", "fine"}));
  d.write("bad/b.jsonl", jsonl);
  // TSV: the header on line 3 (after blank lines), the records on lines 4 to 3003; in the
  // second copy line 2504 lacks the text column.
  std::string tsv = "\n\nid\ttext\n", tsv_bad = tsv;
  for (int i = 0; i < 3000; ++i) {
    const std::string row = std::to_string(i) + "\t" + random_doc(rng, 80, false) + "\n";
    tsv += row;
    tsv_bad += i == 2500 ? std::to_string(i) + "\n" : row;
  }
  d.write("tsv/a.tsv", tsv);
  d.write("tsv_bad/a.tsv", tsv_bad);
  std::string first;
  for (const int threads : {1, 2, 16}) {
    INFO("threads " << threads);
    const std::string yaml = "tokenizer: {type: bytes}\nmemory_mb: 8\nthreads: " + std::to_string(threads) + "\n";
    const std::string jsonl_yaml = yaml + "format: jsonl\nextensions: [.jsonl]\n";
    CHECK(ptm::test::error_of([&] { prepare_corpus(config_for(d.file("bad"), d.file("out"), jsonl_yaml), "", false); }) ==
          d.file("bad/b.jsonl") + ":1400: no string field 'text'");
    CHECK_FALSE(fs::exists(d.file("out")));
    const std::string tsv_yaml = yaml + "format: tsv\nextensions: [.tsv]\n";
    CHECK(ptm::test::error_of([&] { prepare_corpus(config_for(d.file("tsv_bad"), d.file("out"), tsv_yaml), "", false); }) ==
          d.file("tsv_bad/a.tsv") + ":2504: missing column 'text'");
    const auto out = d.file("out_tsv" + std::to_string(threads));
    const auto r = prepare_corpus(config_for(d.file("tsv"), out, tsv_yaml), "", false);
    CHECK(r.documents_read == 3000);
    if (threads == 1) first = fingerprint(out);
    else CHECK(fingerprint(out) == first);
  }
  if (!have_gzip()) PTM_SKIP("the gzip command is needed for the truncated file");
  // A truncated gzip file whose text has a bad line well before the cut: the line is named.
  std::string good = jsonl_of(docs);
  at = 0;
  for (int line = 1; line < 300; ++line) at = good.find('\n', at) + 1;
  good.insert(at, "not json\n");  // line 300
  d.write("gz/a.jsonl", good);
  REQUIRE(std::system(("gzip '" + d.file("gz/a.jsonl") + "'").c_str()) == 0);
  fs::resize_file(d.file("gz/a.jsonl.gz"), fs::file_size(d.file("gz/a.jsonl.gz")) * 3 / 4);
  for (const int threads : {1, 2, 16}) {
    INFO("threads " << threads);
    const std::string yaml = "format: jsonl\nextensions: [.jsonl]\ntokenizer: {type: bytes}\nmemory_mb: 8\n"
                             "threads: " + std::to_string(threads) + "\n";
    CHECK(ptm::test::error_of([&] { prepare_corpus(config_for(d.file("gz"), d.file("out"), yaml), "", false); }) ==
          d.file("gz/a.jsonl.gz") + ":300: not a JSON object");
  }
}
