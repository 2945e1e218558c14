// The safetensors header, parsed and validated without torch, so the reader and the fuzz
// target (fuzz/safetensors_fuzz.cpp) run the same code. The rules are the reference
// implementation's (safetensors/src/tensor.rs):
//   file < 8 bytes; header length N > 100,000,000; N > file size - 8; not JSON / not an object;
//   unknown dtype; a dimension past int64; shape x dtype size overflowing (checked products)
//   or differing from end - begin; offsets that do not tile the data buffer exactly
//   (sorted, each begin = the previous end, the last end = the end of the file).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ptm::models {

constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;  // the reference's limit

struct SafetensorsHeader {
  struct Tensor {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;
    size_t begin = 0, end = 0;  // byte offsets in the data buffer
  };
  std::vector<Tensor> tensors;  // by data offset
  std::map<std::string, std::string> metadata;
  size_t data_start = 0;  // 8 + N: where the data buffer starts in the file
};

// Validates the whole header of a file's `size` bytes at `bytes`. Throws ptm::IoError naming
// `path` (and the tensor) on any violation.
SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size, const std::string& path);

// Bytes per element of a safetensors dtype name ("F32" -> 4); 0 when ptm does not support it.
size_t safetensors_dtype_bytes(const std::string& dtype);

}  // namespace ptm::models
