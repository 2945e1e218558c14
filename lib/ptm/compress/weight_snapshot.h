// The weights a lottery-ticket round rewinds to (prune.rewind): a copy of the model's trainable
// parameters and floating-point buffers (BatchNorm statistics) taken at one step. Frozen
// parameters are not copied: they never move. It goes into the checkpoint with the masks, so a
// run resumed after the step it was taken rewinds to the same values.
#pragma once
#include <map>
#include <string>

#include "ptm/models/model.h"

namespace ptm::compress {

class WeightSnapshot {
 public:
  explicit WeightSnapshot(models::ModelImpl& model);

  void take();  // copies the current values
  bool taken() const { return !copies_.empty(); }
  void restore();  // the copied values back into the model (in place)

  // The copies as "<prefix><name>" on the CPU (empty before take()); load() reads those
  // entries of `state` back (IoError when a tensor is missing or does not fit).
  models::NamedTensors state(const std::string& prefix) const;
  void load(const models::NamedTensors& state, const std::string& prefix, const std::string& file);

 private:
  std::map<std::string, torch::Tensor> live_;    // the model's tensors, by name
  std::map<std::string, torch::Tensor> copies_;  // on their device
};

}  // namespace ptm::compress
