// safetensors in and out (the Hugging Face weight format), without the Rust library:
//   8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}},
//   then the data buffer (offsets relative to its start).
// Reading memory-maps the file and validates everything before touching data: header size
// limit, JSON, known dtype, shape x dtype size = byte length, offsets inside the buffer, no
// overlaps and no holes. Any violation is an IoError naming the file and the tensor.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ptm::models {

struct TensorInfo {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"
  std::vector<int64_t> shape;
  size_t begin = 0, end = 0;  // byte offsets in the data buffer
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in file order
  const TensorInfo* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // A CPU tensor holding a copy of the data (independent of the mapping).
  torch::Tensor tensor(const std::string& name) const;

 private:
  std::string path_;
  const uint8_t* map_ = nullptr;
  size_t size_ = 0;
  const uint8_t* data_ = nullptr;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, TensorInfo> by_name_;
  std::map<std::string, std::string> metadata_;
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Writes tensors in the given order, streamed one at a time to the file (each moved to the CPU
// only while it is written, so memory never holds the whole file); atomic (temporary name +
// fsync + rename). Returns the file's SHA-256 (hex).
std::string save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Every tensor of a file, or of a sharded checkpoint (a folder or index with
// model.safetensors.index.json {"weight_map": {name: file}}), or a folder's model.safetensors.
NamedTensors load_safetensors(const std::string& path);

// Writes `tensors` as shards of at most `max_shard_bytes` plus model.safetensors.index.json
// (one file named model.safetensors when everything fits).
void save_sharded(const std::string& dir, const NamedTensors& tensors, size_t max_shard_bytes);

torch::ScalarType scalar_type_of(const std::string& dtype);  // IoError-free: std::invalid_argument
std::string dtype_name(torch::ScalarType t);                 // std::invalid_argument if unsupported

}  // namespace ptm::models
