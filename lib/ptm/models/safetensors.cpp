// safetensors reader (mmap + strict validation) and writer (8-byte aligned header).
#include "ptm/models/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "ptm/core/errors.h"
#include "ptm/core/fs_util.h"
#include "ptm/models/safetensors_header.h"

namespace fs = std::filesystem;

namespace ptm::models {
namespace {

// The torch type of each dtype the header parser accepts (safetensors_dtype_bytes; a unit
// test checks that both agree).
struct DtypeEntry {
  const char* name;
  torch::ScalarType type;
};
const DtypeEntry kDtypes[] = {{"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
                              {"F64", torch::kFloat64}, {"I64", torch::kInt64},   {"I32", torch::kInt32},
                              {"I16", torch::kInt16},   {"I8", torch::kInt8},     {"U8", torch::kUInt8},
                              {"BOOL", torch::kBool}};

const DtypeEntry* dtype_entry(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

}  // namespace

torch::ScalarType scalar_type_of(const std::string& dtype) {
  if (const auto* d = dtype_entry(dtype)) return d->type;
  throw std::invalid_argument("unsupported safetensors dtype " + dtype);
}

std::string dtype_name(torch::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  throw std::invalid_argument(std::string("no safetensors dtype for ") + c10::toString(t));
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  auto fail = [&](const std::string& why) { return IoError("safetensors file '" + path + "': " + why); };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open safetensors file '" + path + "': " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  size_ = static_cast<size_t>(st.st_size);
  if (size_ == 0) {  // nothing to map (mmap refuses length 0): the parser words the error
    ::close(fd);
    parse_safetensors_header(nullptr, 0, path);
  }
  void* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) throw fail(std::string("cannot map: ") + std::strerror(errno));
  map_ = static_cast<const uint8_t*>(m);
  try {
    auto header = parse_safetensors_header(map_, size_, path);
    data_ = map_ + header.data_start;
    metadata_ = std::move(header.metadata);
    for (auto& h : header.tensors) {
      TensorInfo t{std::move(h.name), std::move(h.dtype), std::move(h.shape), h.begin, h.end};
      by_name_[t.name] = t;
      tensors_.push_back(std::move(t));
    }
  } catch (...) {
    ::munmap(const_cast<uint8_t*>(map_), size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), size_);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) throw IoError("safetensors file '" + path_ + "' has no tensor '" + name + "'");
  auto out = torch::empty(t->shape, torch::TensorOptions().dtype(scalar_type_of(t->dtype)));
  if (t->end > t->begin) std::memcpy(out.data_ptr(), data_ + t->begin, t->end - t->begin);
  return out;
}

std::string save_safetensors(const std::string& path, const NamedTensors& tensors,
                             const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (header.contains(name)) throw RuntimeError("save_safetensors: tensor '" + name + "' given twice");
    const size_t bytes = t.numel() * t.element_size();
    header[name] = {{"dtype", dtype_name(t.scalar_type())}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string json = header.dump();
  json.append((8 - (8 + json.size()) % 8) % 8, ' ');  // align the buffer to 8 bytes
  std::string head(8, '\0');
  for (int b = 0; b < 8; ++b) head[b] = static_cast<char>((uint64_t(json.size()) >> (8 * b)) & 0xff);
  fs_util::AtomicFile out(path);
  out.write(head + json);
  for (const auto& [name, t] : tensors) {
    const auto c = t.detach().to(torch::kCPU).contiguous();
    out.write(c.data_ptr(), c.numel() * c.element_size());
  }
  return out.commit();
}

NamedTensors load_safetensors(const std::string& path) {
  std::string index;
  if (fs::is_directory(path)) {
    if (fs::exists(path + "/model.safetensors.index.json")) index = path + "/model.safetensors.index.json";
    else if (fs::exists(path + "/model.safetensors")) return load_safetensors(path + "/model.safetensors");
    else throw IoError("'" + path + "' holds neither model.safetensors nor model.safetensors.index.json");
  } else if (path.size() > 5 && path.substr(path.size() - 5) == ".json") {
    index = path;
  }
  NamedTensors out;
  if (index.empty()) {
    SafetensorsFile f(path);
    for (const auto& t : f.tensors()) out.emplace_back(t.name, f.tensor(t.name));
    return out;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(fs_util::read_file(index));
  } catch (const nlohmann::json::exception&) {
    throw IoError("'" + index + "' is not valid JSON");
  }
  if (!j.contains("weight_map") || !j["weight_map"].is_object()) throw IoError("'" + index + "' has no weight_map");
  std::map<std::string, std::vector<std::string>> by_file;
  for (const auto& [name, file] : j["weight_map"].items()) by_file[file.get<std::string>()].push_back(name);
  const std::string dir = fs::path(index).parent_path().string();
  for (const auto& [file, names] : by_file) {
    SafetensorsFile f((dir.empty() ? "" : dir + "/") + file);
    for (const auto& name : names) {
      if (!f.find(name)) throw IoError("'" + index + "' maps '" + name + "' to " + file + ", which lacks it");
      out.emplace_back(name, f.tensor(name));
    }
  }
  return out;
}

void save_sharded(const std::string& dir, const NamedTensors& tensors, size_t max_shard_bytes) {
  fs::create_directories(dir);
  std::vector<NamedTensors> shards(1);
  size_t bytes = 0, total = 0;
  for (const auto& nt : tensors) {
    const size_t b = nt.second.numel() * nt.second.element_size();
    if (bytes > 0 && bytes + b > max_shard_bytes) {
      shards.emplace_back();
      bytes = 0;
    }
    shards.back().push_back(nt);
    bytes += b;
    total += b;
  }
  if (shards.size() == 1) {
    save_safetensors(dir + "/model.safetensors", tensors, {{"format", "pt"}});
    return;
  }
  nlohmann::ordered_json index;
  index["metadata"] = {{"total_size", total}};
  for (size_t i = 0; i < shards.size(); ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    save_safetensors(dir + "/" + name, shards[i], {{"format", "pt"}});
    for (const auto& nt : shards[i]) index["weight_map"][nt.first] = name;
  }
  fs_util::write_file_atomic(dir + "/model.safetensors.index.json", index.dump(2) + "\n");
}

}  // namespace ptm::models
