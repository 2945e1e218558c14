// A file read front to back in blocks, decompressed on the fly when it is gzip or zstd
// (detected by the magic bytes, not the name), with the SHA-256 of the bytes on disk.
// Corpus preparation streams its sources through it, so memory does not grow with a file.
// Torch-free.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "ptm/core/sha256.h"

namespace ptm::data {

class ByteSource {
 public:
  // IoError naming `path` when it cannot be opened. `hash`: keep the SHA-256 of the raw bytes.
  explicit ByteSource(const std::string& path, bool hash = false);
  ~ByteSource();
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  // Up to `n` decompressed bytes into `out`; 0 at the end. IoError naming the file when it is
  // unreadable, corrupt or truncated.
  size_t read(char* out, size_t n);
  // Appends up to `n` bytes to `s`; false at the end.
  bool read_more(std::string& s, size_t n);

  const std::string& path() const { return path_; }
  const char* codec() const;          // "plain" | "gzip" | "zstd"
  int64_t raw_bytes() const { return raw_; }  // bytes read from disk so far
  std::string sha256();               // after the end: the file's hash (needs hash = true)

 private:
  enum class Codec { kPlain, kGzip, kZstd };
  bool fill_raw();  // refills in_ from the file; false at its end
  size_t inflate_some(char* out, size_t n);
  size_t unzstd_some(char* out, size_t n);

  std::string path_;
  std::FILE* file_ = nullptr;
  Codec codec_ = Codec::kPlain;
  bool hash_ = false, raw_eof_ = false, stream_end_ = false;
  Sha256 sha_;
  std::vector<char> in_;
  size_t in_pos_ = 0, in_len_ = 0;
  int64_t raw_ = 0;
  struct State;
  std::unique_ptr<State> state_;
};

// Strips a ".gz", ".zst" or ".zstd" ending: the name a folder's extension filter looks at.
std::string without_compression_suffix(const std::string& name);

}  // namespace ptm::data
