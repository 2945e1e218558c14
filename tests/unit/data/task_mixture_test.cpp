// Task mixtures (data type "task_mixture"): fine-tuning examples of several labelled data sets
// in given proportions. Every example's text names its source and number ("good n7": source a,
// example 7; "bad n7": source b), so the realised shares, the epochs, rank sharding, exact
// resume and evaluation coverage are counted on the batches themselves, independently of the
// stream's own counts; and the recipe check refuses sources that disagree on the head.
#include <algorithm>
#include <map>
#include <set>

#include "catch.h"
#include "helpers.h"
#include "ptm/config/load.h"
#include "ptm/data/idx_images.h"
#include "ptm/data/sourced_stream.h"
#include "ptm/data/task_mixture.h"
#include "ptm/data/text_classification.h"
#include "ptm/data/token_classification.h"
#include "ptm/recipes/recipe.h"

using namespace ptm::data;
using ptm::test::contains;
using ptm::test::error_of;

namespace {

constexpr int64_t kWords = 40;  // n0 .. n39
constexpr int64_t kGood = 5, kBad = 6, kFirstN = 7;

// [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, good 5, bad 6, n0 7, n1 8, ...
std::string vocab(const ptm::test::TempDir& d, const std::string& name = "vocab.txt") {
  std::string v = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ngood\nbad\n";
  for (int64_t i = 0; i < kWords; ++i) v += "n" + std::to_string(i) + "\n";
  return d.write(name, v);
}

// A TSV of n examples "<word> n<k>" (repeated `repeat` times after the word) with labels yes/no.
std::string tsv(const ptm::test::TempDir& d, const std::string& name, const std::string& word, int64_t n,
                int64_t repeat = 1, const std::string& yes = "yes", const std::string& no = "no") {
  std::string t = "text\tlabel\n";
  for (int64_t k = 0; k < n; ++k) {
    t += word;
    for (int64_t r = 0; r < repeat; ++r) t += " n" + std::to_string(k);
    t += "\t" + std::string(k % 3 == 0 ? yes : no) + "\n";
  }
  return d.write(name, t);
}

TaskSource text_source(const std::string& name, double weight, const TextClassificationOptions& o) {
  return {name, weight, [o](const StreamOptions& so) { return make_text_classification(o, so); }};
}

// Sources a (23 examples "good n<k>", val 9) and b (17 examples "bad n<k> n<k> n<k>", val 6).
TaskMixtureOptions two(const ptm::test::TempDir& d, double wa, double wb, const std::string& pad_to = "longest") {
  TextClassificationOptions a, b;
  a.train = tsv(d, "a/train.tsv", "good", 23);
  a.val = tsv(d, "a/val.tsv", "good", 9);
  b.train = tsv(d, "b/train.tsv", "bad", 17, 3);
  b.val = tsv(d, "b/val.tsv", "bad", 6, 3);
  a.tokenizer = b.tokenizer = vocab(d);
  a.max_length = b.max_length = 16;
  a.pad_to = b.pad_to = pad_to;
  return {{text_source("a", wa, a), text_source("b", wb, b)}};
}

struct Row {
  int source;      // 0: a ("good"), 1: b ("bad")
  int64_t number;  // the example's k
  bool operator<(const Row& o) const { return source != o.source ? source < o.source : number < o.number; }
  bool operator==(const Row& o) const { return source == o.source && number == o.number; }
};

Row row_of(const torch::Tensor& ids) {
  const auto word = ids[1].item<int64_t>();
  REQUIRE((word == kGood || word == kBad));
  return {word == kGood ? 0 : 1, ids[2].item<int64_t>() - kFirstN};
}

std::vector<Row> rows_of(const Batch& b) {
  std::vector<Row> out;
  for (int64_t j = 0; j < b.size(); ++j) out.push_back(row_of(b.input_ids[j]));
  return out;
}

StreamOptions training(int64_t batch, int world = 1, int rank = 0) {
  StreamOptions s;
  s.batch_size = batch;
  s.world = world;
  s.rank = rank;
  return s;
}

// The problems a recipe's check gives ("" when none).
std::string problems(const std::string& yaml) {
  try {
    ptm::recipes::check(ptm::config::parse_yaml(yaml, "r.yaml"), "r");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a one-source task mixture in one process draws exactly the batches of its data set",
          "[unit][data][mixture]") {
  ptm::test::TempDir d;
  const auto o = two(d, 1, 0);
  TextClassificationOptions a;
  a.train = d.file("a/train.tsv");
  a.tokenizer = d.file("vocab.txt");
  a.max_length = 16;
  a.pad_to = "longest";
  // 10 batches of 4 rows: into the second epoch (23 examples). (Over several ranks the mixture
  // draws what one process draws, unlike a data set, which leaves out 23 % W examples an epoch.)
  auto mix = make_task_mixture(o, training(4));
  auto alone = make_text_classification(a, training(4));
  for (int k = 0; k < 10; ++k) {
    const auto m = *mix->next(), t = *alone->next();
    INFO("batch " << k);
    CHECK(torch::equal(m.input_ids, t.input_ids));
    CHECK(torch::equal(m.attention_mask, t.attention_mask));
    CHECK(torch::equal(m.labels, t.labels));
  }
}

TEST_CASE("task mixture batches hold each source's share exactly per block, in epochs, over ranks, and resume exactly",
          "[unit][data][mixture]") {
  ptm::test::TempDir d;
  const auto o = two(d, 0.7, 0.3);
  const int64_t B = 10;
  auto one = make_task_mixture(o, training(B));
  std::vector<Batch> batches;
  std::vector<std::vector<Row>> drawn(2);  // each source's examples in the order drawn
  for (int64_t k = 1; k <= 12; ++k) {
    batches.push_back(*one->next());
    const auto& b = batches.back();
    const auto rows = rows_of(b);
    int64_t a = 0;
    for (const auto& r : rows) {
      a += r.source == 0 ? 1 : 0;
      drawn[static_cast<size_t>(r.source)].push_back(r);
    }
    INFO("batch " << k);
    CHECK(a == 7);  // 0.7 of every block of 10 examples, counted from the texts
    // The state counts the same, over the whole run.
    const auto st = one->state();
    CHECK(st["source_examples"]["a"].get<int64_t>() == 7 * k);
    CHECK(st["source_examples"]["b"].get<int64_t>() == 3 * k);
    // Rows of both sources share one length: the longest row (b's: [CLS] bad n n n [SEP] = 6).
    CHECK(b.input_ids.size(1) == 6);
    for (int64_t j = 0; j < B; ++j)
      CHECK(b.attention_mask[j].sum().item<int64_t>() == (rows[static_cast<size_t>(j)].source == 0 ? 4 : 6));
    // Labels: example k is "yes" (id 1 of the sorted no, yes) when k % 3 == 0.
    for (int64_t j = 0; j < B; ++j)
      CHECK(b.labels[j].item<int64_t>() == (rows[static_cast<size_t>(j)].number % 3 == 0 ? 1 : 0));
  }
  // Epochs: every example of a source once before any is drawn again (a: 84 drawn of 23).
  for (size_t i = 0; i < 2; ++i) {
    const int64_t n = i == 0 ? 23 : 17;
    for (size_t start = 0; start + n <= drawn[i].size(); start += static_cast<size_t>(n)) {
      std::set<int64_t> epoch;
      for (size_t t = start; t < start + static_cast<size_t>(n); ++t) epoch.insert(drawn[i][t].number);
      CHECK(static_cast<int64_t>(epoch.size()) == n);
    }
  }
  // The sources spread over the rows: not the same order in every batch.
  std::set<std::vector<int>> orders;
  for (const auto& b : batches) {
    std::vector<int> order;
    for (const auto& r : rows_of(b)) order.push_back(r.source);
    orders.insert(order);
  }
  CHECK(orders.size() > 6);
  // Two ranks of 5 rows: rank r's row j is row 2j+r of the one-process batch of 10.
  for (int rank = 0; rank < 2; ++rank) {
    auto part = make_task_mixture(o, training(B / 2, 2, rank));
    for (size_t k = 0; k < batches.size(); ++k) {
      const auto b = *part->next();
      for (int64_t j = 0; j < B / 2; ++j) {
        const auto want = row_of(batches[k].input_ids[2 * j + rank]), got = row_of(b.input_ids[j]);
        CHECK(want.source == got.source);
        CHECK(want.number == got.number);
      }
    }
    CHECK(part->state()["source_examples"] == one->state()["source_examples"]);
  }
  // A new stream from the state after 5 batches continues with batch 6.
  auto first = make_task_mixture(o, training(B));
  for (int k = 0; k < 5; ++k) first->next();
  const auto st = nlohmann::json::parse(first->state().dump());
  auto resumed = make_task_mixture(o, training(B));
  resumed->load_state(st);
  for (size_t k = 5; k < batches.size(); ++k) {
    const auto b = *resumed->next();
    CHECK(torch::equal(b.input_ids, batches[k].input_ids));
    CHECK(torch::equal(b.labels, batches[k].labels));
  }
  auto fewer = o;
  fewer.sources.pop_back();
  CHECK(contains(error_of([&] { make_task_mixture(fewer, training(B))->load_state(st); }),
                 "a task mixture of 2 sources, this recipe has 1"));
  CHECK(contains(error_of([&] {
                   make_task_mixture(o, training(B))->load_state({{"batches", 1}, {"examples", {3, -1}}});
                 }),
                 "the checkpoint's data state is not a task mixture's position"));
}

TEST_CASE("a task mixture's evaluation walks every source once, a batch of one source at a time, interleaved",
          "[unit][data][mixture]") {
  ptm::test::TempDir d;
  const auto o = two(d, 0.6, 0.4);
  std::multiset<Row> seen;
  std::vector<int> first_sources;
  for (int rank = 0; rank < 2; ++rank) {
    StreamOptions s = training(2, 2, rank);
    s.split = "val";
    s.train = false;
    auto stream = make_task_mixture(o, s);
    const auto* sourced = dynamic_cast<const SourcedStream*>(stream.get());
    REQUIRE(sourced);
    CHECK(sourced->source_names() == std::vector<std::string>{"a", "b"});
    while (auto b = stream->next()) {
      const auto rows = rows_of(*b);
      for (const auto& r : rows) {
        CHECK(r.source == sourced->batch_source());  // one source a batch, as reported
        seen.insert(r);
      }
      if (rank == 0 && first_sources.size() < 4) first_sources.push_back(sourced->batch_source());
    }
  }
  std::multiset<Row> expected;
  for (int64_t k = 0; k < 9; ++k) expected.insert({0, k});
  for (int64_t k = 0; k < 6; ++k) expected.insert({1, k});
  CHECK(seen == expected);
  // Interleaved, not one source after the other.
  CHECK(std::count(first_sources.begin(), first_sources.end(), 0) >= 1);
  CHECK(std::count(first_sources.begin(), first_sources.end(), 1) >= 1);
  // Split "test": only the sources that have one; none has: no test split.
  StreamOptions s = training(4);
  s.split = "test";
  s.train = false;
  CHECK(make_task_mixture(o, s) == nullptr);
}

TEST_CASE("token classification sources join with their tags padded as -100", "[unit][data][mixture]") {
  ptm::test::TempDir d;
  TokenClassificationOptions a, b;
  a.train = d.write("a/train.conll", "good B-X\n\ngood O\n");
  b.train = d.write("b/train.conll", "bad B-X\nn1 O\nn2 O\n\nbad O\nn3 B-X\n");
  a.tokenizer = b.tokenizer = vocab(d);
  a.pad_to = b.pad_to = "longest";
  TaskMixtureOptions o{{{"a", 1, [a](const StreamOptions& so) { return make_token_classification(a, so); }},
                        {"b", 1, [b](const StreamOptions& so) { return make_token_classification(b, so); }}}};
  auto stream = make_task_mixture(o, training(4));
  for (int k = 0; k < 3; ++k) {
    const auto batch = *stream->next();
    REQUIRE(batch.labels.dim() == 2);
    CHECK(batch.input_ids.size(1) == 5);  // [CLS] bad n1 n2 [SEP]
    for (int64_t j = 0; j < 4; ++j) {
      const bool good = batch.input_ids[j][1].item<int64_t>() == kGood;
      const int64_t real = batch.attention_mask[j].sum().item<int64_t>();
      CHECK(real == (good ? 3 : batch.input_ids[j][2].item<int64_t>() == kFirstN + 3 ? 4 : 5));
      // Padding and specials carry -100; the words their tags (B-X 0, O 1).
      CHECK(batch.labels[j][0].item<int64_t>() == -100);
      for (int64_t t = real - 1; t < 5; ++t) CHECK(batch.labels[j][t].item<int64_t>() == -100);
    }
  }
}

// An IDX folder of n train images of side x side, image k filled with the value `fill`, label k % 10.
std::string idx_folder(const ptm::test::TempDir& d, const std::string& name, int n, int side, uint8_t fill) {
  const auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  std::string images = be32(0x803) + be32(n) + be32(side) + be32(side), labels = be32(0x801) + be32(n);
  for (int k = 0; k < n; ++k) {
    images += std::string(static_cast<size_t>(side * side), static_cast<char>(fill));
    labels += static_cast<char>(k % 10);
  }
  d.write(name + "/train-images-idx3-ubyte", images);
  d.write(name + "/train-labels-idx1-ubyte", labels);
  return d.file(name);
}

TEST_CASE("image sources of one shape join and another shape is refused naming the source", "[unit][data][mixture]") {
  ptm::test::TempDir d;
  const auto source = [](const std::string& name, double weight, const std::string& path) {
    IdxImagesOptions o;
    o.path = path;
    o.mean = 0;
    o.std = 1;
    return TaskSource{name, weight, [o](const StreamOptions& so) { return make_idx_images(o, so); }};
  };
  TaskMixtureOptions o{
      {source("dark", 1, idx_folder(d, "dark", 6, 4, 0)), source("light", 3, idx_folder(d, "light", 6, 4, 255))}};
  auto stream = make_task_mixture(o, training(8));
  const auto b = *stream->next();
  REQUIRE(b.images.sizes() == torch::IntArrayRef({8, 1, 4, 4}));
  CHECK(b.images.amax({1, 2, 3}).sum().item<float>() == 6);  // 3:1 of 8 rows: 6 light (1.0) and 2 dark (0.0)
  CHECK(b.labels.size(0) == 8);
  o.sources.push_back(source("big", 1, idx_folder(d, "big", 6, 5, 0)));
  CHECK(contains(error_of([&] { make_task_mixture(o, training(8)); }),
                 "data.sources.2.path: images of 1x5x5 differ from the 1x4x4 images of data.sources.0"));
  // One normalisation (an exported model has one preprocessor), checked by the recipe check.
  const auto images = [&](const std::string& extra) {
    return "data:\n  type: task_mixture\n  sources:\n    - {type: idx_images, path: " + d.file("dark") +
           "}\n    - {type: idx_images, path: " + d.file("light") + extra + "}\n";
  };
  CHECK(problems(images("")) == "");
  CHECK(contains(problems(images(", mean: 0.5")), "data.sources.1.mean: mean 0.5, std 0.353 differ from "
                                                   "data.sources.0's mean 0.286, std 0.353"));
}

TEST_CASE("a task mixture's sources must agree on the head, and bad weights are refused naming the key",
          "[unit][data][mixture][messages]") {
  ptm::test::TempDir d;
  const auto tok = vocab(d), same_bytes = vocab(d, "copy/vocab.txt");
  std::string other_vocab = d.write("other/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nbad\ngood\n");
  const auto a = tsv(d, "a/train.tsv", "good", 6), b = tsv(d, "b/train.tsv", "bad", 6);
  const auto posneg = tsv(d, "c/train.tsv", "bad", 6, 1, "pos", "neg");
  const auto conll = d.write("t/train.conll", "good B-X\n");
  const auto text = [&](const std::string& train, const std::string& extra = "") {
    return "{type: text_classification, train: " + train + ", tokenizer: " + tok + extra + "}";
  };
  const auto recipe = [&](const std::string& s0, const std::string& s1) {
    return "objective: {type: classification}\ndata:\n  type: task_mixture\n  sources:\n    - " + s0 + "\n    - " + s1 +
           "\n";
  };
  // Another path to a file of the same bytes is the same tokenizer.
  CHECK(problems(recipe(text(a, ", weight: 3"),
                        "{type: text_classification, train: " + b + ", tokenizer: " + same_bytes + "}")) == "");
  auto p = problems(recipe(text(a), text(b, ", weight: -0.5")));
  CHECK(contains(p, "data.sources.1.weight: must be >= 0, got -0.5"));
  p = problems(recipe(text(a, ", weight: 0"), text(b, ", weight: 0")));
  CHECK(contains(p, "data.sources: the weights are all 0: at least one source needs a positive weight"));
  p = problems(recipe(text(a), text(posneg)));
  CHECK(contains(p, "data.sources.1.labels: [neg, pos] (the sorted labels of its train file '" + posneg +
                        "') differ from data.sources.0's [no, yes] (the sorted labels of its train file '" + a + "')"));
  p = problems(recipe(text(a, ", labels: [no, yes]"), text(b, ", labels: [yes, no]")));
  CHECK(contains(p, "data.sources.1.labels: [yes, no] (its labels: list) differ from data.sources.0's [no, yes]"));
  p = problems(recipe(text(a), "{type: text_classification, train: " + b + ", tokenizer: " + other_vocab + "}"));
  CHECK(contains(
      p, "data.sources.1.tokenizer: '" + other_vocab + "' is not the tokenizer of data.sources.0 ('" + tok + "')"));
  p = problems(recipe(text(a), "{type: token_classification, train: " + conll + ", tokenizer: " + tok + "}"));
  CHECK(contains(p,
                 "data.sources.1.type: 'token_classification' differs from data.sources.0.type "
                 "'text_classification': the sources of a task mixture feed one model head"));
  p = problems(recipe(text(a), text(b, ", max_length: 64")));
  CHECK(contains(p, "data.sources.1.max_length: 64 differs from data.sources.0.max_length 128"));
  CHECK(problems(recipe(text(a, ", pad_to: longest"), text(b, ", max_length: 64, pad_to: longest"))) == "");
  p = problems(recipe(text(a), text(b, ", pad_to: longest")));
  CHECK(contains(p, "data.sources.1.pad_to: 'longest' differs from data.sources.0.pad_to 'max_length'"));
  p = problems(recipe(text(a), text(a)));
  CHECK(contains(p, "data.sources.1.name: 'a' names another source too"));
  p = problems(recipe(text(a), "{type: tokens, path: " + d.path() + "}"));
  CHECK(contains(p,
                 "data.sources.1.type: 'tokens' is not one of: text_classification, token_classification, idx_images"));
  p = problems(recipe(text(a, ", lables: [no, yes]"), text(b)));
  CHECK(contains(p, "data.sources.0.lables: unknown key"));
  CHECK(contains(problems("data: {type: task_mixture, sources: []}\n"), "data.sources: expected a non-empty list"));
  // The objective decides the label type of every source.
  p = problems("objective: {type: regression}\ndata:\n  type: task_mixture\n  sources:\n    - " + text(a) + "\n    - " +
               text(b, ", label_type: class") + "\n");
  CHECK(contains(p, "data.sources.1.label_type: 'class' contradicts objective.type 'regression'"));
  CHECK_FALSE(contains(p, "data.sources.0.label_type: "));
}
