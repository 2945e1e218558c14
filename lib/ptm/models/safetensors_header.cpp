// safetensors header validation (torch-free; the reader maps the file and calls this).
#include "ptm/models/safetensors_header.h"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include "ptm/core/errors.h"

namespace ptm::models {

size_t safetensors_dtype_bytes(const std::string& dtype) {
  static const std::map<std::string, size_t> kBytes = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8},
                                                       {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},  {"BOOL", 1}};
  const auto it = kBytes.find(dtype);
  return it == kBytes.end() ? 0 : it->second;
}

SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size, const std::string& path) {
  auto fail = [&](const std::string& why) { return IoError("safetensors file '" + path + "': " + why); };
  if (size < 8) throw fail("truncated (" + std::to_string(size) + " bytes, no header length)");
  uint64_t n = 0;
  for (int b = 0; b < 8; ++b) n |= uint64_t(bytes[b]) << (8 * b);
  if (n > kSafetensorsMaxHeader) throw fail("header length " + std::to_string(n) + " exceeds the 100 MB limit");
  if (n > size - 8)
    throw fail("header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) +
               " bytes)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes + 8, bytes + 8 + n);
  } catch (const nlohmann::json::exception&) {
    throw fail("the header is not valid JSON");
  }
  if (!header.is_object()) throw fail("the header is not a JSON object");
  SafetensorsHeader out;
  out.data_start = 8 + n;
  const size_t buffer = size - out.data_start;
  for (const auto& item : header.items()) {
    const std::string& name = item.key();  // not a structured binding: lambdas below capture it
    const auto& v = item.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw fail("__metadata__ is not an object");
      for (const auto& [k, s] : v.items()) {
        if (!s.is_string()) throw fail("__metadata__." + k + " is not a string");
        out.metadata[k] = s.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& why) { return fail("tensor '" + name + "': " + why); };
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      throw bad("needs dtype, shape and data_offsets");
    SafetensorsHeader::Tensor t;
    t.name = name;
    if (!v["dtype"].is_string()) throw bad("dtype is not a string");
    t.dtype = v["dtype"].get<std::string>();
    const size_t dtype_bytes = safetensors_dtype_bytes(t.dtype);
    if (dtype_bytes == 0) throw bad("unsupported dtype '" + t.dtype + "'");
    if (!v["shape"].is_array()) throw bad("shape is not a list");
    // Checked products in shape order, then by the dtype size, as the reference folds them:
    // a zero dimension after an overflow does not undo it.
    uint64_t elements = 1, span = 0;
    for (const auto& dim : v["shape"]) {
      if (!dim.is_number_unsigned()) throw bad("shape has a non-integer or negative dimension");
      const uint64_t x = dim.get<uint64_t>();
      if (x > uint64_t(std::numeric_limits<int64_t>::max()))
        throw bad("dimension " + std::to_string(x) + " exceeds the int64 range");
      if (__builtin_mul_overflow(elements, x, &elements)) throw bad("the shape's element count overflows 64 bits");
      t.shape.push_back(static_cast<int64_t>(x));
    }
    if (__builtin_mul_overflow(elements, uint64_t(dtype_bytes), &span))
      throw bad("shape x dtype size overflows 64 bits");
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw bad("data_offsets must be [begin, end]");
    t.begin = off[0].get<uint64_t>();
    t.end = off[1].get<uint64_t>();
    if (t.begin > t.end || t.end > buffer)
      throw bad("data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                "] lie outside the data buffer of " + std::to_string(buffer) + " bytes");
    if (t.end - t.begin != span)
      throw bad("holds " + std::to_string(t.end - t.begin) + " bytes but shape x dtype needs " + std::to_string(span));
    out.tensors.push_back(std::move(t));
  }
  // The tensors tile the buffer exactly: sorted by offsets, each starts where the previous
  // ended (empty tensors included, so one cannot cover a gap), and the last ends the file.
  std::sort(out.tensors.begin(), out.tensors.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end != b.end ? a.end < b.end : a.name < b.name;
  });
  size_t cursor = 0;
  for (const auto& t : out.tensors) {
    if (t.begin < cursor) throw fail("tensor '" + t.name + "' overlaps another tensor's bytes");
    if (t.begin > cursor)
      throw fail("bytes " + std::to_string(cursor) + ".." + std::to_string(t.begin) + " belong to no tensor");
    cursor = t.end;
  }
  if (cursor != buffer)
    throw fail("the data buffer has " + std::to_string(buffer - cursor) + " trailing bytes that belong to no tensor");
  return out;
}

}  // namespace ptm::models
