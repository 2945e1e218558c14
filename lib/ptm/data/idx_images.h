// Data set "idx_images": MNIST-format IDX files (Fashion-MNIST, MNIST), normalised to
// (x/255 - mean) / std, as [B, 1, H, W] float images with int64 labels. Splits: "train" is
// the train-* files; with val_fraction > 0, "val" is that seeded share of them (held out of
// "train") and "test" the t10k-* files; otherwise "val" is t10k-* and there is no "test".
#pragma once
#include <string>
#include <vector>

#include "ptm/data/dataset.h"

namespace ptm::data {

struct IdxImagesOptions {
  std::string path;     // folder with {train,t10k}-{images-idx3,labels-idx1}-ubyte
  double mean = 0.2860; // Fashion-MNIST training-set statistics
  double std = 0.3530;
  double val_fraction = 0;  // > 0: validation = this share of the training images
  int64_t val_seed = 0;
  std::vector<std::string> labels;  // class names in id order (ptm export writes them as id2label)
};

// Reads one IDX file: magic 0x801 (labels) or 0x803 (images); IoError naming the file otherwise.
torch::Tensor read_idx(const std::string& path);

// Null for split "test" when val_fraction is 0 (t10k is then the validation split).
std::unique_ptr<BatchStream> make_idx_images(const IdxImagesOptions& o, const StreamOptions& s);
// Reads the section's keys into `o` (without finish(): a task mixture's source adds its own).
void bind(config::Section& s, IdxImagesOptions& o);
StreamBuilder idx_images_factory(config::Section& s);

}  // namespace ptm::data
