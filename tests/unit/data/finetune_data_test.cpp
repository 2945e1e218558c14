// Labelled data for fine-tuning: regression labels read as numbers (the objective decides,
// through the recipe check), the seeded held-out validation split, the optional test split,
// and CoNLL-style token classification (reader, tag ids, alignment to word pieces). Runs on a
// tiny WordPiece vocabulary written here; the parity of the alignment with transformers on
// real text is tests/integration/token_data_test.cpp.
#include <set>

#include "catch.h"
#include "helpers.h"
#include "ptm/config/load.h"
#include "ptm/core/errors.h"
#include "ptm/data/conll.h"
#include "ptm/data/split_files.h"
#include "ptm/data/text_classification.h"
#include "ptm/data/token_classification.h"
#include "ptm/recipes/recipe.h"

using ptm::test::contains;
using ptm::test::error_of;

namespace {

std::string vocab(const ptm::test::TempDir& d) {
  return d.write("vocab.txt",
                 "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ngood\nbad\nfood\nun\n##believ\n##ably\neu\nrejects\n.\n");
}

ptm::recipes::Recipe recipe(const std::string& yaml) {
  return ptm::recipes::check(ptm::config::parse_yaml(yaml, "r.yaml"), "r");
}

ptm::data::StreamOptions pass(const std::string& split, int64_t batch = 64) {
  ptm::data::StreamOptions s;
  s.split = split;
  s.train = false;
  s.batch_size = batch;
  return s;
}

std::vector<double> values(const torch::Tensor& t) {
  const auto d = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

// Every label of one pass over `split` (or of `batches` training batches).
std::vector<double> labels_of(ptm::data::BatchStream& stream, int64_t batches = -1) {
  std::vector<double> out;
  for (int64_t k = 0; batches < 0 || k < batches; ++k) {
    auto b = stream.next();
    if (!b) break;
    for (double v : values(b->labels)) out.push_back(v);
  }
  return out;
}

}  // namespace

TEST_CASE("objective regression reads text labels as numbers, not as ids of sorted strings", "[unit][data]") {
  ptm::test::TempDir d;
  const std::string train = d.write("train.tsv", "text\tlabel\ngood food\t2.5\nbad food\t10\nfood\t-1\ngood\t0.125\n");
  const std::string data = "data: {type: text_classification, train: " + train + ", val: " + train +
                           ", tokenizer: " + vocab(d) + ", max_length: 8}\n";
  const auto r = recipe(data + "objective: {type: regression}\n");
  // The recipe check set data.label_type from the objective, and config.yaml records it.
  REQUIRE(r.resolved.find("data")->find("label_type"));
  CHECK(r.resolved.find("data")->find("label_type")->text() == "number");
  auto stream = r.data(pass("val"));
  const auto b = *stream->next();
  CHECK(b.labels.scalar_type() == torch::kFloat32);
  CHECK(values(b.labels) == std::vector<double>{2.5, 10, -1, 0.125});

  // Classification objectives keep class ids (sorted label strings).
  auto classes = recipe(data + "objective: {type: classification}\n").data(pass("val"));
  const auto c = *classes->next();
  CHECK(c.labels.scalar_type() == torch::kInt64);
  CHECK(values(c.labels) == std::vector<double>{3, 2, 0, 1});  // "-1" < "0.125" < "10" < "2.5"
}

TEST_CASE("a regression label that is not a number names the file, line and label", "[unit][data]") {
  ptm::test::TempDir d;
  const std::string train = d.write("train.tsv", "text\tlabel\ngood food\t2.5\nbad food\tgreat\n");
  const auto r = recipe("data: {type: text_classification, train: " + train + ", tokenizer: " + vocab(d) +
                        "}\nobjective: {type: regression}\n");
  CHECK(contains(error_of([&] { r.data(pass("train")); }), "train.tsv:3: label 'great' is not a number"));
  const std::string jsonl = d.write("train.jsonl", "{\"text\": \"good\", \"label\": 0.5}\n{\"text\": \"bad\", \"label\": \"1e400\"}\n");
  const auto j = recipe("data: {type: text_classification, train: " + jsonl + ", tokenizer: " + vocab(d) +
                        "}\nobjective: {type: regression}\n");
  CHECK(contains(error_of([&] { j.data(pass("train")); }), "train.jsonl:2: label '1e400' is not a number"));
}

TEST_CASE("label types and data that contradict the objective are refused by the recipe check", "[unit][data]") {
  ptm::test::TempDir d;
  const std::string train = d.write("train.tsv", "text\tlabel\ngood\t1\n");
  const std::string conll = d.write("train.conll", "good O\n");
  const std::string tok = vocab(d);
  auto message = [&](const std::string& yaml) { return error_of([&] { recipe(yaml); }); };
  CHECK(contains(message("data: {type: text_classification, train: " + train + ", tokenizer: " + tok +
                         ", label_type: number}\nobjective: {type: classification}\n"),
                 "data.label_type: 'number' contradicts objective.type 'classification'"));
  CHECK(contains(message("data: {type: text_classification, train: " + train + ", tokenizer: " + tok +
                         ", label_type: class}\nobjective: {type: regression}\n"),
                 "data.label_type: 'class' contradicts objective.type 'regression'"));
  CHECK(contains(message("data: {type: token_classification, train: " + conll + ", tokenizer: " + tok +
                         "}\nobjective: {type: classification}\n"),
                 "objective.type: 'classification' does not fit data type token_classification"));
  CHECK(contains(message("data: {type: text_classification, train: " + train + ", tokenizer: " + tok +
                         "}\nobjective: {type: token_classification}\n"),
                 "does not fit data type text_classification"));
  CHECK(contains(message("data: {type: text_classification, train: " + train + ", val: " + train +
                         ", val_fraction: 0.2, tokenizer: " + tok + "}\n"),
                 "data.val_fraction: give either val (a file) or val_fraction"));
}

TEST_CASE("val_fraction holds out a seeded share of train that training never reads", "[unit][data]") {
  ptm::test::TempDir d;
  std::string tsv = "text\tlabel\n";
  for (int i = 0; i < 50; ++i) tsv += std::string(i % 2 ? "good" : "bad") + " food\t" + std::to_string(i) + "\n";
  const std::string train = d.write("train.tsv", tsv);
  auto with_seed = [&](int seed) {
    return recipe("data: {type: text_classification, train: " + train + ", tokenizer: " + vocab(d) +
                  ", val_fraction: 0.2, val_seed: " + std::to_string(seed) + "}\nobjective: {type: regression}\n");
  };
  const auto r = with_seed(0);
  const auto val = labels_of(*r.data(pass("val")));
  const auto val_again = labels_of(*with_seed(0).data(pass("val")));
  const auto other_seed = labels_of(*with_seed(1).data(pass("val")));
  CHECK(val.size() == 10);
  CHECK(val == val_again);  // the same examples every time
  CHECK(val != other_seed);
  CHECK(std::is_sorted(val.begin(), val.end()));  // file order

  // Three epochs of shuffled training batches see exactly the other 40 examples.
  ptm::data::StreamOptions s;
  s.batch_size = 7;
  s.seed = 3;
  auto train_stream = r.data(s);
  CHECK(train_stream->examples() == 40);
  const auto seen = labels_of(*train_stream, 3 * 40 / 7);
  std::set<double> trained(seen.begin(), seen.end()), held(val.begin(), val.end());
  CHECK(trained.size() == 40);
  for (double v : held) CHECK(trained.count(v) == 0);
  CHECK(trained.size() + held.size() == 50);

  // The helper alone: disjoint, complete, rounding, and refusing an empty side.
  const auto t = ptm::data::holdout_split(7, 0.3, 5, "train", "x"), v = ptm::data::holdout_split(7, 0.3, 5, "val", "x");
  CHECK(t.size() == 5);
  CHECK(v.size() == 2);
  std::set<int64_t> all(t.begin(), t.end());
  all.insert(v.begin(), v.end());
  CHECK(all.size() == 7);
  CHECK(contains(error_of([] { ptm::data::holdout_split(3, 0.1, 0, "val", "'f.tsv'"); }),
                 "of the 3 examples of 'f.tsv' leaves no validation examples"));
}

TEST_CASE("the test split comes from data.test and is absent without it", "[unit][data]") {
  ptm::test::TempDir d;
  const std::string train = d.write("train.tsv", "text\tlabel\ngood\tgreat\nbad\tother\n");
  const std::string test = d.write("test.tsv", "text\tlabel\nfood\tother\ngood food\tgreat\nbad food\tother\n");
  ptm::data::TextClassificationOptions o;
  o.train = train;
  o.val = train;
  o.tokenizer = vocab(d);
  CHECK(ptm::data::make_text_classification(o, pass("test")) == nullptr);
  o.test = test;
  const auto stream = ptm::data::make_text_classification(o, pass("test"));
  REQUIRE(stream);
  CHECK(stream->examples() == 3);
  CHECK(values(stream->next()->labels) == std::vector<double>{1, 0, 1});  // ids of the training labels
  o.val.clear();
  CHECK(contains(error_of([&] { ptm::data::make_text_classification(o, pass("val")); }),
                 "no validation split: set data.val (a file) or data.val_fraction"));
}

TEST_CASE("CoNLL files: -DOCSTART- and blank lines split sentences, the tag is the last column", "[unit][data]") {
  ptm::test::TempDir d;
  const std::string path = d.write("a.conll",
                                   "-DOCSTART- -X- -X- O\n\nEU NNP B-ORG\r\nrejects\tVBZ\tO\n\n\n"
                                   "good O\n-DOCSTART- O\nfood   O\n");
  const auto s = ptm::data::read_conll(path);
  REQUIRE(s.size() == 3);
  CHECK(s[0].words == std::vector<std::string>{"EU", "rejects"});
  CHECK(s[0].tags == std::vector<std::string>{"B-ORG", "O"});
  CHECK(s[0].line == 3);
  CHECK(s[1].words == std::vector<std::string>{"good"});
  CHECK(s[2].words == std::vector<std::string>{"food"});
  CHECK(contains(error_of([&] { ptm::data::read_conll(d.write("b.conll", "good O\nfood\n")); }),
                 "b.conll:2: expected a word and its tag separated by whitespace, got 'food'"));
  CHECK(contains(error_of([&] { ptm::data::read_conll(d.write("c.conll", "\n-DOCSTART- O\n\n")); }),
                 "holds no sentences"));
}

TEST_CASE("word tags go to the first piece of each word, -100 elsewhere, or to every piece", "[unit][data]") {
  ptm::test::TempDir d;
  ptm::data::TokenClassificationOptions o;
  o.train = d.write("train.conll", "EU B-ORG\nrejects O\nunbelievably B-MISC\n.\tO\n\ngood B-X\nfood I-X\n");
  o.val = d.write("val.conll", "good O\nfood B-ORG\n\nbad B-PER\n");
  o.tokenizer = vocab(d);
  o.max_length = 16;
  o.pad_to = "longest";
  // Tags sorted: B-MISC 0, B-ORG 1, B-X 2, I-X 3, O 4. Ids: [CLS] 2, eu 11, rejects 12, un 8,
  // ##believ 9, ##ably 10, . 13, [SEP] 3, [PAD] 0.
  auto stream = ptm::data::make_token_classification(o, pass("train"));
  auto b = *stream->next();
  CHECK(values(b.input_ids[0]) == std::vector<double>{2, 11, 12, 8, 9, 10, 13, 3});
  CHECK(values(b.labels[0]) == std::vector<double>{-100, 1, 4, 0, -100, -100, 4, -100});
  CHECK(values(b.labels[1]) == std::vector<double>{-100, 2, 3, -100, -100, -100, -100, -100});
  CHECK(values(b.attention_mask[1]) == std::vector<double>{1, 1, 1, 1, 0, 0, 0, 0});
  // label_all_pieces: B-X would become I-X on later pieces; B-MISC has no I-MISC and stays.
  o.label_all_pieces = true;
  b = *ptm::data::make_token_classification(o, pass("train"))->next();
  CHECK(values(b.labels[0]) == std::vector<double>{-100, 1, 4, 0, 0, 0, 4, -100});
  // Truncation keeps the specials; words cut off lose their tags.
  o.max_length = 5;
  b = *ptm::data::make_token_classification(o, pass("train"))->next();
  CHECK(values(b.input_ids[0]) == std::vector<double>{2, 11, 12, 8, 3});
  CHECK(values(b.labels[0]) == std::vector<double>{-100, 1, 4, 0, -100});
  // A tag the training file does not have names the file and line.
  CHECK(contains(error_of([&] { ptm::data::make_token_classification(o, pass("val")); }),
                 "val.conll:4: tag 'B-PER' is not one of the tags (5 known)"));
  const auto cont = ptm::data::continuation_tags({"B-LOC", "B-PER", "I-PER", "O"});
  CHECK(cont == std::vector<int64_t>{0, 2, 2, 3});
}
