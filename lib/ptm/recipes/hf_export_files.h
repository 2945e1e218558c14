// What makes `ptm export --format hf` a folder that works as it is, next to config.json and the
// weights: the tokenizer the run's data used (tokenizer.json, tokenizer_config.json,
// special_tokens_map.json), the data's label names as config.json's id2label/label2id, and
// generation_config.json (bos/eos/pad ids) for language models; for image models the
// preprocessor_config.json that turns an image into the inputs the run trained on.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ptm/config/node.h"

namespace ptm::recipes {

struct DataExtras {
  std::string tokenizer;            // the data's tokenizer (file or folder); empty: none
  std::vector<std::string> labels;  // class or tag names in id order; empty: no label map
  // Image data: pixels are scaled to [0, 1], then (x - mean) / std per channel.
  std::optional<double> image_mean, image_std;
};

// From a run's resolved recipe: `data.tokenizer` (text_classification, token_classification)
// or `data.path`'s tokenizer.json (tokens), the label names the data set gives its ids
// (`data.labels` of idx_images), and an image set's normalisation; for a task mixture, those
// of its first source (the sources agree on tokenizer and labels).
DataExtras data_extras(const config::Node& resolved_recipe);

// Writes the tokenizer files into `dir` and completes its config.json (id2label/label2id,
// bos/eos ids) and generation_config.json. A tokenizer.json is copied as it is, with the
// tokenizer_config.json and special_tokens_map.json beside it when there are any; other
// tokenizers (vocab.txt, vocab.json + merges.txt) are written as tokenizer.json. A config.json
// with `num_classes` and no id2label (ptm's torchvision ResNet) gets one; a ViT gets a
// ViTImageProcessor config with the data's normalisation, so pipeline("image-classification")
// sees the inputs the run trained on.
void write_hf_extras(const std::string& dir, const DataExtras& extras);

}  // namespace ptm::recipes
