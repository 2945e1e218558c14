// Batch helpers and the seeded counters shared by every data set.
#include <numeric>

#include "ptm/core/splitmix.h"
#include "ptm/data/dataset.h"

namespace ptm::data {
namespace {

template <class F>
Batch map_tensors(const Batch& b, F f) {
  Batch out;
  auto apply = [&](const torch::Tensor& t) { return t.defined() ? f(t) : t; };
  out.input_ids = apply(b.input_ids);
  out.targets = apply(b.targets);
  out.attention_mask = apply(b.attention_mask);
  out.token_type_ids = apply(b.token_type_ids);
  out.labels = apply(b.labels);
  out.images = apply(b.images);
  return out;
}

}  // namespace

int64_t Batch::size() const {
  for (const auto* t : {&input_ids, &labels, &images})
    if (t->defined()) return t->size(0);
  return 0;
}

Batch Batch::to(const torch::Device& device, bool non_blocking) const {
  return map_tensors(*this, [&](const torch::Tensor& t) { return t.to(device, non_blocking); });
}

Batch Batch::pin_memory() const {
  return map_tensors(*this, [](const torch::Tensor& t) { return t.pin_memory(); });
}

uint64_t hash64(uint64_t seed, uint64_t stream, uint64_t index) {
  return counter_hash(seed, stream, index);
}

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates with counter-based draws
    const auto j = static_cast<int64_t>(hash64(seed, 0x5eed0000ull + epoch, i) % static_cast<uint64_t>(i + 1));
    std::swap(p[i], p[j]);
  }
  return p;
}

}  // namespace ptm::data
