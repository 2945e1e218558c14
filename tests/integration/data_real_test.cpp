// Data on the real data sets (scripts/get-data.sh), checked against independent references:
// `ptm data prepare` shards vs Hugging Face `tokenizers` + numpy, review encodings vs
// `tokenizers`, Fashion-MNIST counts.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "catch.h"
#include "helpers.h"
#include "ptm/data/idx_images.h"
#include "ptm/data/text_classification.h"

namespace fs = std::filesystem;
using ptm::test::contains;
using ptm::test::run_ptm;

namespace {

// Real data and the reference Python must be there: CI fetches both (scripts/test.sh).
void require_data(const std::string& rel) {
  INFO("missing " << ptm::test::data_dir() << "/" << rel << ": run scripts/get-data.sh (and scripts/setup.sh)");
  REQUIRE(fs::exists(ptm::test::data_dir() + "/" + rel));
  REQUIRE(std::string(ptm::test::python_exe()) != "");
}

ptm::test::RunResult run_python(const std::string& args) {
  ptm::test::TempDir io;
  const std::string cmd = "cd '" + std::string(ptm::test::source_dir()) + "' && '" + ptm::test::python_exe() + "' " +
                          args + " >'" + io.file("out") + "' 2>'" + io.file("err") + "'";
  const int status = std::system(cmd.c_str());
  return {WEXITSTATUS(status), ptm::test::read_text(io.file("out")), ptm::test::read_text(io.file("err"))};
}

}  // namespace

TEST_CASE("ptm data prepare on Jane Austen gives the shards tokenizers and numpy expect", "[integration][data]") {
  require_data("corpus/janeausten/emma.txt");
  ptm::test::TempDir tmp;
  const std::string out = tmp.file("ja");
  const std::string cmd = "data prepare --config recipes/data/janeausten_bpe.yaml prepare.out=" + out +
                          " prepare.tokenizer.vocab_size=2048";
  auto r = run_ptm(cmd);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "prepared " + out + ": 6 documents"));
  const auto check = run_python("tests/golden/check_prepared.py " + out);
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
  CHECK(contains(check.out, "ok "));

  r = run_ptm("data inspect " + out);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "bpe, vocab 2048, 2 bytes per token"));
  CHECK(contains(r.out, "checked"));

  r = run_ptm(cmd);  // again: the folder exists
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "prepare.out: already exists; pass --overwrite"));
}

TEST_CASE("review examples encode exactly like tokenizers with MiniLM's vocabulary", "[integration][data]") {
  require_data("reviews/train.tsv");
  require_data("models/minilm/tokenizer.json");
  const std::string tok = ptm::test::data_dir() + "/models/minilm/tokenizer.json";
  const std::string tsv = ptm::test::data_dir() + "/reviews/train.tsv";
  ptm::test::TempDir tmp;
  const auto ref = run_python("tests/golden/encode_examples.py " + tok + " " + tsv + " text 128 300 " + tmp.file("ref.jsonl"));
  INFO(ref.err);
  REQUIRE(ref.exit_code == 0);

  ptm::data::TextClassificationOptions o;
  o.train = tsv;
  o.tokenizer = tok;
  o.max_length = 128;
  ptm::data::StreamOptions s;
  s.train = false;  // sequential: file order
  s.batch_size = 100;
  auto stream = ptm::data::make_text_classification(o, s);
  CHECK(stream->examples() == 4000);
  CHECK(contains(stream->describe(), "great=2600 other=1400"));
  std::ifstream in(tmp.file("ref.jsonl"));
  std::string line;
  int compared = 0;
  for (int k = 0; k < 3; ++k) {
    const auto b = *stream->next();
    for (int64_t i = 0; i < b.size(); ++i) {
      REQUIRE(std::getline(in, line));
      const auto j = nlohmann::json::parse(line);
      const auto ids = b.input_ids[i];
      INFO("example " << compared);
      CHECK(std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + 128) == j["ids"].get<std::vector<int64_t>>());
      const auto mask = b.attention_mask[i];
      CHECK(std::vector<int64_t>(mask.data_ptr<int64_t>(), mask.data_ptr<int64_t>() + 128) ==
            j["attention_mask"].get<std::vector<int64_t>>());
      ++compared;
    }
  }
  CHECK(compared == 300);
}

TEST_CASE("Fashion-MNIST loads 60000 + 10000 balanced images", "[integration][data]") {
  require_data("fashion-mnist/train-images-idx3-ubyte");
  ptm::data::IdxImagesOptions o;
  o.path = ptm::test::data_dir() + "/fashion-mnist";
  for (const auto& [split, n] : std::map<std::string, int64_t>{{"train", 60000}, {"val", 10000}}) {
    ptm::data::StreamOptions s;
    s.split = split;
    s.train = false;
    s.batch_size = 5000;
    auto stream = ptm::data::make_idx_images(o, s);
    std::vector<int64_t> per_class(10, 0);
    int64_t total = 0;
    double mean = 0;
    while (auto b = stream->next()) {
      CHECK(b->images.sizes() == std::vector<int64_t>{b->size(), 1, 28, 28});
      for (int64_t i = 0; i < b->size(); ++i) ++per_class[b->labels[i].item<int64_t>()];
      mean += b->images.sum().item<double>();
      total += b->size();
    }
    CHECK(total == n);
    for (auto c : per_class) CHECK(c == n / 10);
    if (split == "train") CHECK(std::abs(mean / (total * 784.0)) < 0.01);  // normalised with the training mean
  }
}

TEST_CASE("Fashion-MNIST with val_fraction: a held-out share of train validates, t10k tests", "[integration][data]") {
  require_data("fashion-mnist/train-images-idx3-ubyte");
  ptm::data::IdxImagesOptions o;
  o.path = ptm::test::data_dir() + "/fashion-mnist";
  ptm::data::StreamOptions s;
  s.train = false;
  s.split = "test";
  CHECK(ptm::data::make_idx_images(o, s) == nullptr);  // without val_fraction, t10k is the validation split
  o.val_fraction = 0.1;
  for (const auto& [split, n] : std::map<std::string, int64_t>{{"train", 54000}, {"val", 6000}, {"test", 10000}}) {
    s.split = split;
    const auto stream = ptm::data::make_idx_images(o, s);
    REQUIRE(stream);
    CHECK(stream->examples() == n);
  }
}

TEST_CASE("ptm data prepare input errors exit 2 and write nothing", "[integration][data]") {
  ptm::test::TempDir tmp;
  const std::string out = tmp.file("out");
  auto r = run_ptm("data prepare --config recipes/data/janeausten_bpe.yaml prepare.sources=[data/corpus/nope] prepare.out=" + out);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "prepare.sources: 'data/corpus/nope' does not exist (run scripts/get-data.sh)"));
  r = run_ptm("data prepare --config tests/fixtures/recipes/good.yaml");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "prepare: missing: ptm data prepare needs a prepare: section"));
  tmp.write("corpus/empty.txt", "");
  r = run_ptm("data prepare --config recipes/data/janeausten_bpe.yaml prepare.sources=[" + tmp.file("corpus") +
              "] prepare.out=" + out);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "the sources hold no text"));
  CHECK_FALSE(fs::exists(out));
  r = run_ptm("data inspect " + tmp.path());
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "manifest.json"));
}

TEST_CASE("text classification rejects labels outside the label map", "[integration][data]") {
  require_data("models/minilm/tokenizer.json");
  ptm::test::TempDir tmp;
  ptm::data::TextClassificationOptions o;
  o.train = tmp.write("train.tsv", "text\tlabel\ngood food\tgreat\nbad food\tother\n");
  o.val = tmp.write("val.tsv", "text\tlabel\nfine\tmeh\n");
  o.tokenizer = ptm::test::data_dir() + "/models/minilm/tokenizer.json";
  ptm::data::StreamOptions s;
  s.split = "val";
  CHECK(contains(ptm::test::error_of([&] { ptm::data::make_text_classification(o, s); }),
                 "val.tsv:2: label 'meh' is not one of the labels (2 known)"));
  o.val = tmp.write("val2.tsv", "text\tscore\nfine\tgreat\n");
  CHECK(contains(ptm::test::error_of([&] { ptm::data::make_text_classification(o, s); }),
                 "val2.tsv:1: no column 'label' in the TSV header"));
}
