// IDX reading and the shuffled/sequential image streams.
#include "ptm/data/idx_images.h"

#include <filesystem>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/data/example_stream.h"
#include "ptm/data/split_files.h"

namespace ptm::data {

torch::Tensor read_idx(const std::string& path) {
  const std::string raw = fs_util::read_file(path);
  auto u32 = [&](size_t off) {
    return (uint32_t(uint8_t(raw[off])) << 24) | (uint32_t(uint8_t(raw[off + 1])) << 16) |
           (uint32_t(uint8_t(raw[off + 2])) << 8) | uint32_t(uint8_t(raw[off + 3]));
  };
  if (raw.size() < 8) throw IoError("IDX file '" + path + "' is truncated (" + std::to_string(raw.size()) + " bytes)");
  const uint32_t magic = u32(0);
  if (magic != 0x801 && magic != 0x803)
    throw IoError("'" + path + "' is not an IDX file of unsigned bytes (magic 0x" + [&] {
      char b[16];
      std::snprintf(b, sizeof(b), "%x", magic);
      return std::string(b);
    }() + ", expected 0x801 or 0x803)");
  const int dims = magic == 0x801 ? 1 : 3;
  std::vector<int64_t> shape;
  size_t expected = 1;
  for (int d = 0; d < dims; ++d) {
    shape.push_back(u32(4 + 4 * d));
    expected *= shape.back();
  }
  const size_t offset = 4 + 4 * dims;
  if (raw.size() != offset + expected)
    throw IoError("IDX file '" + path + "' is truncated or corrupt: expected " + std::to_string(offset + expected) +
                  " bytes, found " + std::to_string(raw.size()));
  auto t = torch::empty(shape, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), raw.data() + offset, expected);
  return t;
}

namespace {

// `set` is "train" or "t10k".
std::string idx_file(const std::string& dir, const std::string& set, const char* kind) {
  return dir + "/" + set + "-" + kind + "-ubyte";
}

class IdxImages : public ExampleStream {
 public:
  IdxImages(const IdxImagesOptions& o, const StreamOptions& s) : ExampleStream(s), o_(o) {
    if (s.split != "train" && s.split != "val" && s.split != "test")
      throw IoError("idx_images: unknown split '" + s.split + "' (train, val or test)");
    const bool held_out = o.val_fraction > 0 && s.split != "test";
    const std::string set = s.split == "train" || held_out ? "train" : "t10k";
    images_ = read_idx(idx_file(o.path, set, "images-idx3"));
    labels_ = read_idx(idx_file(o.path, set, "labels-idx1")).to(torch::kInt64);
    if (images_.size(0) != labels_.size(0))
      throw IoError("'" + o.path + "': " + std::to_string(images_.size(0)) + " images but " +
                    std::to_string(labels_.size(0)) + " labels in split " + s.split);
    if (held_out) {
      const auto keep = torch::tensor(
          holdout_split(images_.size(0), o.val_fraction, o.val_seed, s.split, "'" + idx_file(o.path, set, "images-idx3") + "'"),
          torch::kInt64);
      images_ = images_.index_select(0, keep);
      labels_ = labels_.index_select(0, keep);
    }
    const int64_t classes = labels_.numel() > 0 ? labels_.max().item<int64_t>() + 1 : 0;
    if (!o.labels.empty() && classes > static_cast<int64_t>(o.labels.size()))
      throw ConfigError(Origin{idx_file(o.path, set, "labels-idx1")}, "data.labels",
                        "names " + std::to_string(o.labels.size()) + " classes, but this file has labels up to " +
                            std::to_string(classes - 1));
    set_count(images_.size(0));
  }

  std::string describe() const override {
    return "idx_images " + o_.path + " [" + s_.split + "]: " + std::to_string(images_.size(0)) + " images " +
           std::to_string(images_.size(1)) + "x" + std::to_string(images_.size(2)) + ", " +
           std::to_string(labels_.max().item<int64_t>() + 1) + " classes";
  }

 protected:
  Batch gather(const std::vector<int64_t>& index, int64_t /*min_length: images*/) override {
    const auto idx = torch::tensor(index, torch::kInt64);
    Batch b;
    b.images = images_.index_select(0, idx).unsqueeze(1).to(torch::kFloat32).div_(255.0).sub_(o_.mean).div_(o_.std);
    b.labels = labels_.index_select(0, idx);
    return b;
  }

 private:
  IdxImagesOptions o_;
  torch::Tensor images_, labels_;
};

}  // namespace

std::unique_ptr<BatchStream> make_idx_images(const IdxImagesOptions& o, const StreamOptions& s) {
  if (s.split == "test" && o.val_fraction <= 0) return nullptr;
  return std::make_unique<IdxImages>(o, s);
}

void bind(config::Section& s, IdxImagesOptions& o) {
  if (s.req("path", o.path, "folder with MNIST-format IDX files").ok() &&
      !std::filesystem::exists(idx_file(o.path, "train", "images-idx3")))
    s.problem("path", "'" + o.path + "' holds no train-images-idx3-ubyte (run scripts/get-data.sh)");
  s.opt("mean", o.mean, "normalisation mean (of x/255)");
  s.opt("std", o.std, "normalisation standard deviation").above(0.0);
  s.opt("val_fraction", o.val_fraction,
        "share of the training images held out as the validation split (t10k then becomes the test split)")
      .min(0.0)
      .max(0.5);
  s.opt("val_seed", o.val_seed, "seed of the held-out share (the same for every run.seed)").min(0);
  s.opt("labels", o.labels, "class names in id order, e.g. Fashion-MNIST's (ptm export writes them as id2label)");
  for (size_t i = 0; i < o.labels.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (o.labels[i] == o.labels[j])
        s.problem("labels", "'" + o.labels[i] + "' names classes " + std::to_string(j) + " and " + std::to_string(i) +
                                " (expected one name per class)");
}

StreamBuilder idx_images_factory(config::Section& s) {
  IdxImagesOptions o;
  bind(s, o);
  s.finish();
  return [o](const StreamOptions& so) { return make_idx_images(o, so); };
}

}  // namespace ptm::data
