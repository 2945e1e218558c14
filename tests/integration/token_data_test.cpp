// Token classification data on real text: word tags aligned to MiniLM's word pieces exactly
// as transformers' fast tokenizer (is_split_into_words, word_ids()) and the alignment of its
// token-classification example do (tests/golden/token_classification_reference.py).
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "catch.h"
#include "helpers.h"
#include "ptm/data/token_classification.h"

namespace fs = std::filesystem;

namespace {

void require_reference() {
  for (const char* rel : {"models/minilm/tokenizer.json", "reviews/train.tsv"}) {
    INFO("missing " << ptm::test::data_dir() << "/" << rel << ": run scripts/get-data.sh");
    REQUIRE(fs::exists(ptm::test::data_dir() + "/" + rel));
  }
  INFO("no reference Python (PTM_PYTHON): run scripts/setup.sh, then rebuild");
  REQUIRE(std::string(ptm::test::python_exe()) != "");
}

// Real words in CoNLL form: the first `n` reviews, one sentence each, split at spaces and
// tabs, tagged by their shape (capitalised runs B-CAP/I-CAP, words with digits B-NUM, else O).
std::string reviews_as_conll(const ptm::test::TempDir& dir, int n) {
  std::ifstream in(ptm::test::data_dir() + "/reviews/train.tsv");
  std::string line, out = "-DOCSTART- -X- O\n\n";
  std::getline(in, line);  // header
  for (int k = 0; k < n && std::getline(in, line); ++k) {
    std::istringstream words(line.substr(0, line.rfind('\t')));
    std::string w, previous = "O";
    while (words >> w) {
      std::string tag = "O";
      if (w.find_first_of("0123456789") != std::string::npos)
        tag = "B-NUM";
      else if (w[0] >= 'A' && w[0] <= 'Z')
        tag = previous == "O" || previous == "B-NUM" ? "B-CAP" : "I-CAP";
      out += w + (k % 2 ? "\t" : " ") + tag + "\n";
      previous = tag;
    }
    out += "\n";
  }
  return dir.write("reviews.conll", out);
}

void expect_reference(const std::string& file, int64_t max_length, bool label_all) {
  ptm::test::TempDir io;
  const std::string folder = ptm::test::data_dir() + "/models/minilm";
  const std::string cmd = "cd '" + std::string(ptm::test::source_dir()) + "' && '" + ptm::test::python_exe() +
                          "' tests/golden/token_classification_reference.py '" + folder + "' '" + file + "' " +
                          std::to_string(max_length) + " " + (label_all ? "1" : "0") + " '" + io.file("ref.jsonl") +
                          "' 2>'" + io.file("err") + "'";
  const int status = std::system(cmd.c_str());
  INFO(ptm::test::read_text(io.file("err")));
  REQUIRE(WEXITSTATUS(status) == 0);

  ptm::data::TokenClassificationOptions o;
  o.train = file;
  o.tokenizer = folder + "/tokenizer.json";
  o.max_length = max_length;
  o.pad_to = "longest";
  o.label_all_pieces = label_all;
  ptm::data::StreamOptions s;
  s.train = false;  // file order
  s.batch_size = 16;
  auto stream = ptm::data::make_token_classification(o, s);
  std::ifstream ref(io.file("ref.jsonl"));
  std::string line;
  int64_t sentences = 0, labelled = 0;
  while (auto b = stream->next()) {
    const int64_t T = b->input_ids.size(1);
    for (int64_t i = 0; i < b->size(); ++i) {
      REQUIRE(std::getline(ref, line));
      const auto j = nlohmann::json::parse(line);
      const auto ids = j["input_ids"].get<std::vector<int64_t>>();
      const auto labels = j["labels"].get<std::vector<int64_t>>();
      const auto types = j["token_type_ids"].get<std::vector<int64_t>>();
      const auto n = static_cast<int64_t>(ids.size());
      REQUIRE(n <= T);
      auto row = [&](const torch::Tensor& t) {
        const auto r = t[i].contiguous();
        return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + T);
      };
      auto got_ids = row(b->input_ids), got_labels = row(b->labels), got_types = row(b->token_type_ids),
           got_mask = row(b->attention_mask);
      INFO("sentence " << sentences << " of " << file);
      CHECK(std::vector<int64_t>(got_ids.begin(), got_ids.begin() + n) == ids);
      CHECK(std::vector<int64_t>(got_labels.begin(), got_labels.begin() + n) == labels);
      CHECK(std::vector<int64_t>(got_types.begin(), got_types.begin() + n) == types);
      CHECK(std::vector<int64_t>(got_mask.begin(), got_mask.begin() + n) == std::vector<int64_t>(n, 1));
      for (int64_t t = n; t < T; ++t) CHECK((got_labels[t] == -100 && got_mask[t] == 0));
      for (const auto l : labels) labelled += l != -100;
      ++sentences;
    }
  }
  CHECK_FALSE(std::getline(ref, line));  // as many sentences as the reference
  CHECK(sentences > 0);
  CHECK(labelled > sentences);
}

}  // namespace

TEST_CASE("token classification labels match transformers' word_ids() alignment on real text",
          "[integration][data]") {
  require_reference();
  ptm::test::TempDir dir;
  const std::string reviews = reviews_as_conll(dir, 400);
  // max_length 64 truncates most reviews: the cut must fall where the reference's does.
  for (const bool label_all : {false, true}) {
    expect_reference(reviews, 64, label_all);
    expect_reference(reviews, 512, label_all);
  }
  // The fixture of the shipped recipe: punctuation, accents, CJK, -DOCSTART-, tabs.
  expect_reference(std::string(ptm::test::fixtures_dir()) + "/conll/train.conll", 128, false);
}

TEST_CASE("the token classification recipe fine-tunes MiniLM and reports validation and test tag metrics",
          "[integration][finetune]") {
  require_reference();
  ptm::test::TempDir tmp;
  const std::string dir = tmp.file("run");
  const auto r = ptm::test::run_ptm("finetune --config recipes/finetune/minilm_ner_fixture.yaml --run-dir " + dir +
                                    " train.max_steps=3 train.batch_size=8 train.eval_every=3 train.eval_batches=2"
                                    " train.save_every=0 train.log_every=1");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto summary = nlohmann::json::parse(ptm::test::read_text(dir + "/summary.json"));
  for (const char* split : {"eval", "test"})
    for (const char* k : {"loss", "accuracy", "macro_f1", "mcc"}) CHECK(summary[split].contains(k));
  // Labelled word pieces only: about one per word of 16 sentences of 7 to 15 words.
  CHECK(summary["test"]["targets"].get<double>() > 16 * 6);
  CHECK(summary["test"]["targets"].get<double>() < 16 * 16);
  CHECK(ptm::test::contains(ptm::test::read_text(dir + "/log.txt"), "token_classification [val]: 64 sentences"));
}
