// safetensors header validation (models/safetensors_header.h) on arbitrary bytes: it must
// end in an IoError or in tensors whose ranges lie inside the input and match their shapes.
#include <cstdint>
#include <cstdlib>

#include "ptm/core/errors.h"
#include "ptm/models/safetensors_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ptm::models;
  SafetensorsHeader h;
  try {
    h = parse_safetensors_header(data, size, "fuzz.safetensors");
  } catch (const ptm::IoError&) {
    return 0;
  }
  size_t cursor = 0;
  for (const auto& t : h.tensors) {
    if (t.begin != cursor || t.end < t.begin || h.data_start + t.end > size) std::abort();
    unsigned __int128 bytes = safetensors_dtype_bytes(t.dtype);
    for (int64_t d : t.shape) {
      if (d < 0) std::abort();
      bytes *= static_cast<uint64_t>(d);
      if (bytes > size) bytes = size + 1;  // already too large to match; keep it from wrapping
    }
    if (bytes != t.end - t.begin) std::abort();
    if (t.end > t.begin) {  // ASan checks that the range really is inside the input
      volatile uint8_t first = data[h.data_start + t.begin], last = data[h.data_start + t.end - 1];
      (void)first, (void)last;
    }
    cursor = t.end;
  }
  if (h.data_start + cursor != size) std::abort();
  return 0;
}
