// The word cache: 16 mutex-guarded shards of linear-probing tables with keys and ids in arenas.
#include "ptm/data/tokenizer_cache.h"

#include <cstring>

namespace ptm::data {
namespace {

inline uint64_t mix(uint64_t a, uint64_t b) {
  const __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

}  // namespace

uint64_t hash_bytes(std::string_view s) {
  constexpr uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL;
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = k0 ^ (n * k1);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = mix(h ^ v, k1);
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t v = 0;
    std::memcpy(&v, p, n);
    h = mix(h ^ v ^ (uint64_t{n} << 56), k0);
  }
  h = mix(h, k1);
  return h == 0 ? 1 : h;  // 0 marks an empty slot
}

struct WordCache::Shard {
  struct Slot {
    uint64_t hash = 0;
    uint32_t key_offset = 0, key_length = 0, ids_offset = 0, ids_length = 0;
  };
  std::mutex mu;
  std::vector<Slot> slots;
  std::string keys;
  std::vector<int32_t> ids;
  size_t count = 0;

  const Slot* find(std::string_view word, uint64_t hash) const {
    if (slots.empty()) return nullptr;
    const size_t mask = slots.size() - 1;
    for (size_t i = (hash >> 4) & mask;; i = (i + 1) & mask) {
      const Slot& s = slots[i];
      if (s.hash == 0) return nullptr;
      if (s.hash == hash && s.key_length == word.size() &&
          std::memcmp(keys.data() + s.key_offset, word.data(), word.size()) == 0)
        return &s;
    }
  }

  void place(const Slot& slot) {
    const size_t mask = slots.size() - 1;
    size_t i = (slot.hash >> 4) & mask;
    while (slots[i].hash != 0) i = (i + 1) & mask;
    slots[i] = slot;
  }

  void grow() {
    std::vector<Slot> old;
    old.swap(slots);
    // Small at first: a tokenizer that encodes a few words (a check, a prompt, the fuzzer)
    // should not clear 16 tables of 1024 slots; a corpus doubles its way up in a few steps.
    slots.assign(old.empty() ? 16 : old.size() * 2, Slot{});
    for (const Slot& s : old)
      if (s.hash != 0) place(s);
  }

  void clear() {
    slots.clear();
    keys.clear();
    ids.clear();
    count = 0;
  }
};

WordCache::WordCache(size_t max_entries) : shards_(new Shard[kShards]), max_per_shard_(max_entries / kShards + 1) {}

WordCache::~WordCache() = default;

bool WordCache::lookup(std::string_view word, uint64_t hash, std::vector<int32_t>& out) const {
  Shard& sh = shards_[hash % kShards];
  std::lock_guard<std::mutex> lock(sh.mu);
  const Shard::Slot* s = sh.find(word, hash);
  if (!s) return false;
  out.insert(out.end(), sh.ids.data() + s->ids_offset, sh.ids.data() + s->ids_offset + s->ids_length);
  return true;
}

void WordCache::insert(std::string_view word, uint64_t hash, const int32_t* ids, size_t count) const {
  if (word.size() > 4096) return;  // rare giant pieces are not worth keeping
  Shard& sh = shards_[hash % kShards];
  std::lock_guard<std::mutex> lock(sh.mu);
  if (sh.find(word, hash)) return;
  if (sh.count >= max_per_shard_ || sh.keys.size() + word.size() > (size_t{1} << 31)) sh.clear();
  if ((sh.count + 1) * 2 > sh.slots.size()) sh.grow();
  Shard::Slot slot;
  slot.hash = hash;
  slot.key_offset = static_cast<uint32_t>(sh.keys.size());
  slot.key_length = static_cast<uint32_t>(word.size());
  slot.ids_offset = static_cast<uint32_t>(sh.ids.size());
  slot.ids_length = static_cast<uint32_t>(count);
  sh.keys.append(word.data(), word.size());
  sh.ids.insert(sh.ids.end(), ids, ids + count);
  sh.place(slot);
  ++sh.count;
}

}  // namespace ptm::data
