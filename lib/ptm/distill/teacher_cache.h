// A disk cache of teacher logits for repeated epochs of logit distillation. Examples are
// keyed by their content (the real tokens and token types, so padding does not matter):
// data sets need no stable index, and an example seen again in any order, batch or padding
// reuses the teacher output. The file is safetensors: keys [N] (int64 hashes), logits [N, C]
// and the teacher's source and weights hash in the metadata (another teacher, or the same
// folder retrained, starts an empty cache).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "ptm/data/dataset.h"

namespace ptm::distill {

class TeacherCache {
 public:
  // Loads `path` when it exists and was written for `teacher`.
  TeacherCache(std::string path, std::string teacher);
  ~TeacherCache();  // saves what was added (errors are logged, never thrown)

  // The teacher logits [B, C] of every example of the batch (on the batch's device), or an
  // undefined tensor when any example is missing.
  torch::Tensor lookup(const data::Batch& batch);
  void insert(const data::Batch& batch, const torch::Tensor& logits);
  void save();

  int64_t size() const { return static_cast<int64_t>(rows_.size()); }
  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }
  // One key per example: FNV-1a over its real token ids and token types.
  static std::vector<uint64_t> keys(const data::Batch& batch);

 private:
  std::string path_, teacher_;
  std::unordered_map<uint64_t, std::vector<float>> rows_;
  int64_t classes_ = 0, hits_ = 0, misses_ = 0, unsaved_ = 0;
};

}  // namespace ptm::distill
