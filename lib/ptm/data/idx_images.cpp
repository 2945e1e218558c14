// IDX reading and the shuffled/sequential image streams.
#include "ptm/data/idx_images.h"

#include <filesystem>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/data/example_stream.h"

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

std::string idx_file(const std::string& dir, const std::string& split, const char* kind) {
  return dir + "/" + (split == "train" ? "train" : "t10k") + "-" + kind + "-ubyte";
}

class IdxImages : public ExampleStream {
 public:
  IdxImages(const IdxImagesOptions& o, const StreamOptions& s) : ExampleStream(s), o_(o) {
    images_ = read_idx(idx_file(o.path, s.split, "images-idx3"));
    labels_ = read_idx(idx_file(o.path, s.split, "labels-idx1")).to(torch::kInt64);
    if (images_.size(0) != labels_.size(0))
      throw IoError("'" + o.path + "': " + std::to_string(images_.size(0)) + " images but " +
                    std::to_string(labels_.size(0)) + " labels in split " + s.split);
    set_count(images_.size(0));
  }

  std::string describe() const override {
    return "idx_images " + o_.path + " [" + s_.split + "]: " + std::to_string(images_.size(0)) + " images " +
           std::to_string(images_.size(1)) + "x" + std::to_string(images_.size(2)) + ", " +
           std::to_string(labels_.max().item<int64_t>() + 1) + " classes";
  }

 protected:
  Batch gather(const std::vector<int64_t>& index) override {
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
  return std::make_unique<IdxImages>(o, s);
}

StreamBuilder idx_images_factory(config::Section& s) {
  IdxImagesOptions o;
  if (s.req("path", o.path, "folder with MNIST-format IDX files").ok() &&
      !std::filesystem::exists(idx_file(o.path, "train", "images-idx3")))
    s.problem("path", "'" + o.path + "' holds no train-images-idx3-ubyte (run scripts/get-data.sh)");
  s.opt("mean", o.mean, "normalisation mean (of x/255)");
  s.opt("std", o.std, "normalisation standard deviation").above(0.0);
  s.finish();
  return [o](const StreamOptions& so) { return make_idx_images(o, so); };
}

}  // namespace ptm::data
