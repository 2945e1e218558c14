// splitmix64: a small, platform-independent 64-bit mixer for seeded counters (data order,
// held-out splits, document sampling), so the same seed gives the same data everywhere.
#pragma once
#include <cstdint>

namespace ptm {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Counter-based random numbers: the same (seed, stream, index) always gives the same value.
inline uint64_t counter_hash(uint64_t seed, uint64_t stream, uint64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ index);
}

}  // namespace ptm
