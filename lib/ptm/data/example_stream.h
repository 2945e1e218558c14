// Base of data sets made of N indexable examples: training shuffles each epoch with a
// seeded permutation and never ends (state = epoch + position); evaluation walks the
// examples in order once. Ranks take every world-th example.
#pragma once
#include "ptm/data/dataset.h"

namespace ptm::data {

class ExampleStream : public BatchStream {
 public:
  explicit ExampleStream(const StreamOptions& s) : s_(s) {}

  std::optional<Batch> next() override;
  nlohmann::json state() const override { return {{"epoch", epoch_}, {"position", position_}}; }
  void load_state(const nlohmann::json& st) override;
  int64_t examples() const override { return count_; }
  // The batch of these examples, whatever the cursor, with at least `min_length` tokens per
  // row where the rows are token sequences (for task mixtures, whose batches join sources).
  Batch batch_of(const std::vector<int64_t>& index, int64_t min_length = 0) { return gather(index, min_length); }

 protected:
  void set_count(int64_t n) { count_ = n; }
  // Builds the batch of the given example indices; token rows padded to at least min_length.
  virtual Batch gather(const std::vector<int64_t>& index, int64_t min_length) = 0;
  StreamOptions s_;

 private:
  int64_t count_ = 0, epoch_ = 0, position_ = 0;
  std::vector<int64_t> order_;  // this rank's examples for the current epoch
  void start_epoch();
};

}  // namespace ptm::data
