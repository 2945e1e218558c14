// Epoch bookkeeping for indexable data sets.
#include "ptm/data/example_stream.h"

#include "ptm/core/errors.h"

namespace ptm::data {

void ExampleStream::start_epoch() {
  std::vector<int64_t> all;
  if (s_.train) {
    all = epoch_permutation(count_, static_cast<uint64_t>(s_.seed), epoch_);
  } else {
    all.resize(count_);
    for (int64_t i = 0; i < count_; ++i) all[i] = i;
  }
  order_.clear();
  // Training epochs drop the last count % world examples of the permutation, so every rank's
  // epoch has the same length and the ranks' batches stay one global batch.
  const int64_t used = s_.train ? count_ - count_ % s_.world : count_;
  for (int64_t i = s_.rank; i < used; i += s_.world) order_.push_back(all[i]);
}

std::optional<Batch> ExampleStream::next() {
  if (order_.empty()) start_epoch();
  if (order_.empty()) throw RuntimeError("data set has no examples for rank " + std::to_string(s_.rank));
  std::vector<int64_t> index;
  while (static_cast<int64_t>(index.size()) < s_.batch_size) {
    if (position_ >= static_cast<int64_t>(order_.size())) {
      if (!s_.train) break;  // evaluation: one pass, last batch may be short
      ++epoch_;
      position_ = 0;
      start_epoch();
    }
    index.push_back(order_[position_++]);
  }
  if (index.empty()) return std::nullopt;
  return gather(index, 0);
}

void ExampleStream::load_state(const nlohmann::json& st) {
  // From a checkpoint's state.json: a damaged or edited value must not index outside the order.
  auto field = [&](const char* key) {
    if (!st.is_object() || !st.contains(key) || !st[key].is_number_integer() || st[key].get<int64_t>() < 0)
      throw IoError(std::string("the checkpoint's data state: '") + key + "' must be a non-negative integer, got " +
                    (st.is_object() && st.contains(key) ? st[key].dump() : std::string("nothing")));
    return st[key].get<int64_t>();
  };
  epoch_ = field("epoch");
  position_ = field("position");
  start_epoch();
}

}  // namespace ptm::data
