// Data set "synthetic": seeded random batches for fast tests and benchmarks, with the same
// shapes and dtypes as the real sets (lm: input_ids/targets; classification: input_ids,
// attention_mask, labels; images: images, labels). The label of a classification example is
// a function of its tokens, so models can learn it.
#include "ptm/data/dataset.h"

namespace ptm::data {
namespace {

struct SyntheticOptions {
  std::string kind = "lm";  // lm | classification | images
  int64_t vocab_size = 256, seq_len = 64, num_classes = 2, image_size = 28, channels = 1, examples = 10000;
};

class Synthetic : public BatchStream {
 public:
  Synthetic(const SyntheticOptions& o, const StreamOptions& s) : o_(o), s_(s) {}

  std::optional<Batch> next() override {
    const int64_t first = cursor_ * s_.batch_size;
    if (!s_.train && first >= o_.examples) return std::nullopt;
    const int64_t B = s_.train ? s_.batch_size : std::min(s_.batch_size, o_.examples - first);
    // Each batch has its own generator seeded from (seed, split, rank, batch): exact resume.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(
        hash64(static_cast<uint64_t>(s_.seed), s_.split == "train" ? 1 : 2, (uint64_t(s_.rank) << 40) + cursor_));
    ++cursor_;
    Batch b;
    if (o_.kind == "images") {
      b.images = torch::randn({B, o_.channels, o_.image_size, o_.image_size}, gen);
      b.labels = torch::randint(o_.num_classes, {B}, gen, torch::kInt64);
      return b;
    }
    const int64_t T = o_.seq_len;
    auto tokens = torch::randint(o_.vocab_size, {B, T + 1}, gen, torch::kInt64);
    if (o_.kind == "lm") {
      b.input_ids = tokens.narrow(1, 0, T).contiguous();
      b.targets = tokens.narrow(1, 1, T).contiguous();
    } else {
      b.input_ids = tokens.narrow(1, 0, T).contiguous();
      b.attention_mask = torch::ones({B, T}, torch::kInt64);
      b.labels = b.input_ids.select(1, 0).remainder(o_.num_classes);
    }
    return b;
  }

  nlohmann::json state() const override { return {{"batches", cursor_}}; }
  void load_state(const nlohmann::json& s) override { cursor_ = s.at("batches").get<int64_t>(); }
  int64_t examples() const override { return o_.examples; }
  int64_t vocab_size() const override { return o_.kind == "images" ? 0 : o_.vocab_size; }
  int64_t sequence_length() const override { return o_.kind == "images" ? 0 : o_.seq_len; }
  std::string describe() const override { return "synthetic " + o_.kind + " [" + s_.split + "]"; }

 private:
  SyntheticOptions o_;
  StreamOptions s_;
  int64_t cursor_ = 0;
};

}  // namespace

StreamBuilder synthetic_factory(config::Section& s) {
  SyntheticOptions o;
  s.opt("kind", o.kind, "lm | classification | images").one_of({"lm", "classification", "images"});
  s.opt("vocab_size", o.vocab_size, "token ids in [0, vocab_size)").min(2);
  s.opt("seq_len", o.seq_len, "tokens per example").min(1);
  s.opt("num_classes", o.num_classes, "classes").min(2);
  s.opt("image_size", o.image_size, "image height and width").min(1);
  s.opt("channels", o.channels, "image channels").min(1);
  s.opt("examples", o.examples, "examples in an evaluation pass").min(1);
  s.finish();
  return [o](const StreamOptions& so) -> std::unique_ptr<BatchStream> {
    if (so.split == "test") return nullptr;  // train and val only
    return std::make_unique<Synthetic>(o, so);
  };
}

}  // namespace ptm::data
