// `init_from:`: start a run from other weights (a ptm checkpoint or a Hugging Face folder),
// weights only: optimizer, schedule and data start fresh.
//   init_from: {hf: data/models/minilm}                  # config.json + (sharded) safetensors
//   init_from: {checkpoint: runs/x/checkpoints/latest, strict: true}
// With strict: false (the default for hf, where a new task head is expected to be missing),
// tensors the checkpoint lacks keep their initialisation and are listed in the log; a tensor
// whose shape differs is always an error, and so is a file that provides less than
// `min_loaded` (default half) of the model's weight values: names that match nothing.
//   init_from: {checkpoint: runs/teacher, layers: [0, 2, 4]}   # student from every 2nd layer
// With layers, the source's transformer layers (encoder.layer.N / h.N / layers.N) at those indices become
// the model's layers 0, 1, 2, ...; the other source layers are not used.
#pragma once
#include <string>
#include <vector>

#include "ptm/config/binder.h"
#include "ptm/models/model.h"

namespace ptm::recipes {

struct InitFrom {
  std::string hf, checkpoint;
  bool strict = true;
  bool strict_given = false;
  std::vector<int64_t> layers;  // source layer per model layer; empty: by name
  double min_loaded = 0.5;      // share of the model's weight values the file must provide
  bool empty() const { return hf.empty() && checkpoint.empty(); }
};

void bind(config::Section& s, InitFrom& c);

// Loads the weights into `model`; IoError listing every problem when they do not fit.
void apply_init_from(const InitFrom& init, models::ModelImpl& model);

}  // namespace ptm::recipes
