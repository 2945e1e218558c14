// Token shard header validation (data/shard.h) on arbitrary bytes: an IoError, or a header
// whose token count matches the input exactly.
#include <cstdint>
#include <cstdlib>

#include "ptm/core/errors.h"
#include "ptm/data/shard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ptm::data;
  ShardHeader h;
  try {
    h = parse_shard_header(data, size, "fuzz.bin");
  } catch (const ptm::IoError&) {
    return 0;
  }
  if (h.tokens < 0 || h.vocab_size < 0 || (h.token_bytes != 2 && h.token_bytes != 4)) std::abort();
  if (kShardHeaderBytes + static_cast<uint64_t>(h.tokens) * h.token_bytes != size) std::abort();
  if (h.tokens > 0) {  // the last token lies inside the input (ASan checks)
    volatile uint8_t last = data[size - 1];
    (void)last;
  }
  return 0;
}
