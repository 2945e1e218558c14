// Data sets and the loader: determinism, exact resume from a cursor, rank sharding,
// evaluation passes, fixed shapes, IDX parsing and errors.
#include <fstream>
#include <set>

#include "catch.h"
#include "helpers.h"
#include "ptm/core/errors.h"
#include "ptm/data/example_stream.h"
#include "ptm/data/idx_images.h"
#include "ptm/data/loader.h"
#include "ptm/data/shard.h"
#include "ptm/data/token_windows.h"

using namespace ptm::data;

namespace {

// A prepared folder with tokens 0..n-1 in two train shards and one val shard.
std::string make_prepared(const ptm::test::TempDir& d, int64_t n) {
  std::vector<int32_t> ids(n);
  for (int64_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>(i % 60000);
  const int64_t half = n / 2;
  for (auto [name, from, to] : {std::tuple<const char*, int64_t, int64_t>{"train_000000.bin", 0, half},
                                {"train_000001.bin", half, n}, {"val_000000.bin", 0, n}}) {
    ShardWriter w(d.file(name), 60000);
    w.append(ids.data() + from, static_cast<size_t>(to - from));
    w.close();
  }
  d.write("manifest.json", R"({"tokenizer": {"vocab_size": 60000},
    "train": {"tokens": )" + std::to_string(n) + R"(, "shards": [{"file": "train_000000.bin"}, {"file": "train_000001.bin"}]},
    "val": {"tokens": )" + std::to_string(n) + R"(, "shards": [{"file": "val_000000.bin"}]}})");
  return d.path();
}

}  // namespace

TEST_CASE("token windows: targets are inputs shifted by one across shard borders", "[unit][data]") {
  ptm::test::TempDir d;
  TokenWindowsOptions o{make_prepared(d, 1000), 16};
  StreamOptions s;
  s.batch_size = 32;
  auto stream = make_token_windows(o, s);
  for (int k = 0; k < 5; ++k) {
    const auto b = *stream->next();
    REQUIRE(b.input_ids.sizes() == std::vector<int64_t>{32, 16});
    CHECK(torch::equal(b.input_ids.narrow(1, 1, 15), b.targets.narrow(1, 0, 15)));
    CHECK(torch::equal(b.targets - b.input_ids, torch::ones_like(b.input_ids)));  // tokens are 0..n-1
  }
}

TEST_CASE("token windows refuse shard ids outside the manifest's vocabulary, naming shard and position",
          "[unit][data][messages]") {
  ptm::test::TempDir d;
  make_prepared(d, 1000);  // ids 0..999 in shards of a 60000-token vocabulary
  d.write("manifest.json", R"({"tokenizer": {"vocab_size": 600},
    "train": {"shards": [{"file": "train_000000.bin"}, {"file": "train_000001.bin"}]},
    "val": {"shards": [{"file": "val_000000.bin"}]}})");
  StreamOptions s;
  const std::string m = ptm::test::error_of([&] { make_token_windows({d.path(), 16}, s); });
  // train_000000.bin holds 0..499, train_000001.bin 500..999: the first id >= 600 is its 100th.
  CHECK(m == "token shard '" + d.file("train_000001.bin") + "': the token at position 100 has id 600, outside the "
             "vocabulary of 600 in '" + d.file("manifest.json") + "' (a shard made with another tokenizer, or a "
             "damaged one)");
  s.split = "val";
  CHECK(ptm::test::contains(ptm::test::error_of([&] { make_token_windows({d.path(), 16}, s); }),
                            "token shard '" + d.file("val_000000.bin") + "': the token at position 600 has id 600"));
}

TEST_CASE("token windows name a manifest field of the wrong type", "[unit][data][messages]") {
  ptm::test::TempDir d;
  make_prepared(d, 1000);
  const std::string manifest = d.file("manifest.json");
  StreamOptions s;
  auto message = [&](const std::string& json) {
    d.write("manifest.json", json);
    return ptm::test::error_of([&] { make_token_windows({d.path(), 16}, s); });
  };
  const std::string shards = R"("train": {"shards": [{"file": "train_000000.bin"}]})";
  CHECK(message(R"({"tokenizer": {"vocab_size": "60000"}, )" + shards + "}") ==
        manifest + ": 'tokenizer.vocab_size' has the wrong type (\"60000\"), expected an integer");
  CHECK(message(R"({"tokenizer": {}, )" + shards + "}") ==
        manifest + ": 'tokenizer.vocab_size' is missing (expected an integer)");
  CHECK(message(R"({"tokenizer": 7, )" + shards + "}") ==
        manifest + ": 'tokenizer' has the wrong type (7), expected an object");
  CHECK(message(R"({"tokenizer": {"vocab_size": 60000}, "train": {"shards": {"file": "a.bin"}}})") ==
        manifest + ": 'train.shards' has the wrong type ({\"file\":\"a.bin\"}), expected a list");
  CHECK(message(R"({"tokenizer": {"vocab_size": 60000}, "train": {"shards": [{"file": "train_000000.bin"}, {"file": 1}]}})") ==
        manifest + ": 'train.shards[1].file' has the wrong type (1), expected a string");
}

TEST_CASE("token windows resume exactly from a saved cursor", "[unit][data]") {
  ptm::test::TempDir d;
  TokenWindowsOptions o{make_prepared(d, 5000), 8};
  StreamOptions s;
  s.batch_size = 4;
  s.seed = 7;
  auto a = make_token_windows(o, s);
  for (int k = 0; k < 3; ++k) a->next();
  const auto saved = a->state();
  const auto expected = *a->next();
  auto b = make_token_windows(o, s);
  b->load_state(saved);
  CHECK(torch::equal(b->next()->input_ids, expected.input_ids));
  s.seed = 8;
  auto c = make_token_windows(o, s);
  c->load_state(saved);
  CHECK_FALSE(torch::equal(c->next()->input_ids, expected.input_ids));  // the seed matters
}

TEST_CASE("evaluation passes cover the split once and ranks split it", "[unit][data]") {
  ptm::test::TempDir d;
  TokenWindowsOptions o{make_prepared(d, 1000), 10};
  std::set<int64_t> firsts;
  int64_t windows = 0;
  for (int rank = 0; rank < 2; ++rank) {
    StreamOptions s;
    s.split = "val";
    s.train = false;
    s.batch_size = 7;
    s.rank = rank;
    s.world = 2;
    auto stream = make_token_windows(o, s);
    while (auto b = stream->next()) {
      windows += b->size();
      for (int64_t i = 0; i < b->size(); ++i) firsts.insert(b->input_ids[i][0].item<int64_t>());
    }
  }
  CHECK(windows == 99);  // (1000 - 1) / 10 full windows with a target
  CHECK(firsts.size() == 99);
}

TEST_CASE("the loader prefetches on a thread and its state counts consumed batches", "[unit][data]") {
  ptm::test::TempDir d;
  TokenWindowsOptions o{make_prepared(d, 5000), 8};
  StreamOptions s;
  s.batch_size = 2;
  std::vector<torch::Tensor> seen;
  nlohmann::json after_two;
  {
    Loader loader(make_token_windows(o, s), torch::kCPU, 3);
    seen.push_back(loader.next()->input_ids);
    seen.push_back(loader.next()->input_ids);
    after_two = loader.state();
  }
  CHECK(after_two["batches"] == 2);  // not what the worker prefetched
  auto resumed = make_token_windows(o, s);
  resumed->load_state(after_two);
  Loader loader(std::move(resumed), torch::kCPU, 3);
  auto direct = make_token_windows(o, s);
  direct->next();
  direct->next();
  CHECK(torch::equal(loader.next()->input_ids, direct->next()->input_ids));
}

TEST_CASE("loader rethrows stream errors on the caller's thread", "[unit][data]") {
  class Broken : public BatchStream {
   public:
    std::optional<Batch> next() override { throw ptm::IoError("disk gone"); }
    nlohmann::json state() const override { return {}; }
    void load_state(const nlohmann::json&) override {}
    int64_t examples() const override { return 0; }
    std::string describe() const override { return "broken"; }
  };
  Loader loader(std::make_unique<Broken>(), torch::kCPU, 2);
  CHECK_THROWS_AS(loader.next(), ptm::IoError);
}

TEST_CASE("a damaged example-stream cursor is refused, not used as an index", "[unit][data]") {
  class Five : public ExampleStream {  // five examples; a batch's labels are their indices
   public:
    explicit Five(const StreamOptions& s) : ExampleStream(s) { set_count(5); }
    std::string describe() const override { return "five"; }

   protected:
    Batch gather(const std::vector<int64_t>& index, int64_t) override {
      Batch b;
      b.labels = torch::tensor(index);
      return b;
    }
  };
  StreamOptions s;
  s.batch_size = 2;
  Five f(s);
  for (const char* bad : {R"({"epoch": 0, "position": -3})", R"({"epoch": -1, "position": 0})",
                          R"({"epoch": "x", "position": 0})", R"({"epoch": 0})", "[]"}) {
    INFO(bad);
    const std::string err = ptm::test::error_of([&] { f.load_state(nlohmann::json::parse(bad)); });
    CHECK(ptm::test::contains(err, "the checkpoint's data state"));
  }
  f.load_state(nlohmann::json::parse(R"({"epoch": 2, "position": 4})"));  // the last example of epoch 2
  CHECK(f.next()->labels.size(0) == 2);
}

TEST_CASE("IDX files parse and bad ones are named", "[unit][data]") {
  ptm::test::TempDir d;
  std::string images = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2};
  images += std::string{0, 127, char(255), 1, 2, 3, 4, 5};
  std::string labels = {0, 0, 8, 1, 0, 0, 0, 2, 3, 9};
  d.write("train-images-idx3-ubyte", images);
  d.write("train-labels-idx1-ubyte", labels);
  const auto t = read_idx(d.file("train-images-idx3-ubyte"));
  CHECK(t.sizes() == std::vector<int64_t>{2, 2, 2});
  CHECK(t[0][1][0].item<int>() == 255);
  IdxImagesOptions o{d.path(), 0.5, 0.25};
  StreamOptions s;
  s.batch_size = 2;
  s.train = false;
  auto stream = make_idx_images(o, s);
  const auto b = *stream->next();
  CHECK(b.images.sizes() == std::vector<int64_t>{2, 1, 2, 2});
  CHECK(b.images[0][0][0][1].item<float>() == Approx((127 / 255.0 - 0.5) / 0.25));
  CHECK(b.labels[1].item<int64_t>() == 9);
  d.write("bad", labels.substr(0, 9));
  CHECK(ptm::test::contains(ptm::test::error_of([&] { read_idx(d.file("bad")); }), "is truncated or corrupt"));
  d.write("foreign", std::string(20, 'x'));
  CHECK(ptm::test::contains(ptm::test::error_of([&] { read_idx(d.file("foreign")); }), "is not an IDX file"));
}
