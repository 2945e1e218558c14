// Data sets as batch streams (registry "data"). A stream yields fixed-shape batches:
// training streams are endless and seeded; evaluation streams make one sequential pass.
// Every stream can save and restore its cursor (checkpoints resume mid-epoch exactly) and
// shards itself by rank for multi-process training.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ptm/config/binder.h"
#include "ptm/core/registry.h"

namespace ptm::data {

// What models and objectives read; tensors a data set does not produce stay undefined.
struct Batch {
  torch::Tensor input_ids;       // [B, T] int64
  torch::Tensor targets;         // [B, T] int64, next-token targets (language modelling)
  torch::Tensor attention_mask;  // [B, T] int64, 1 = real token
  torch::Tensor token_type_ids;  // [B, T] int64, 0/1 for sentence pairs
  torch::Tensor labels;          // [B] int64 classes (or float for regression)
  torch::Tensor images;          // [B, C, H, W] float, normalised

  int64_t size() const;                                   // B
  Batch to(const torch::Device& device, bool non_blocking) const;
  Batch pin_memory() const;
};

struct StreamOptions {
  int64_t batch_size = 8;
  int64_t seed = 1337;
  std::string split = "train";  // "train" or "val"
  bool train = true;  // train: endless, shuffled; eval: one sequential pass
  int rank = 0;       // this process's share of the data ...
  int world = 1;      // ... out of `world` processes
};

class BatchStream {
 public:
  virtual ~BatchStream() = default;
  // The next batch; nullopt once an evaluation pass is done (training streams never end).
  virtual std::optional<Batch> next() = 0;
  virtual nlohmann::json state() const = 0;           // the cursor
  virtual void load_state(const nlohmann::json& s) = 0;
  virtual int64_t examples() const = 0;               // examples (or windows) in this split
  virtual std::string describe() const = 0;           // one line for the log
  // What the batches need of a model, checked before training (0: nothing to check): token
  // ids below vocab_size(), inputs of at most sequence_length() tokens.
  virtual int64_t vocab_size() const { return 0; }
  virtual int64_t sequence_length() const { return 0; }
};

using StreamBuilder = std::function<std::unique_ptr<BatchStream>(const StreamOptions&)>;
using DataFactory = std::function<StreamBuilder(config::Section&)>;

Registry<DataFactory>& datasets();

// Reads a `data:` section (type required). Null builder + recorded problems on error.
StreamBuilder parse_dataset(config::Section s);

// Counter-based random numbers: the same (seed, stream, index) always gives the same value,
// so cursors are just counters and resume is exact.
uint64_t hash64(uint64_t seed, uint64_t stream, uint64_t index);
// A permutation of [0, n) for one epoch, seeded.
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace ptm::data
