// File helpers that never leave a half-written file behind.
#pragma once
#include <cstdint>
#include <string>

#include "ptm/core/sha256.h"

namespace ptm::fs_util {

// A file streamed to "<path>.tmp-<pid>" and renamed over `path` by commit() after an fsync,
// so readers see the old file or the whole new one; destroyed uncommitted, it removes the
// temporary. It hashes what it writes, so checksums cost no second read.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // IoError naming the file when it cannot be created
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);  // IoError naming the file (disk full, ...)
  void write(const std::string& s) { write(s.data(), s.size()); }
  // fsync, close, rename; returns the SHA-256 (hex) of the bytes written.
  std::string commit();
  uint64_t size() const { return size_; }

 private:
  [[noreturn]] void fail(int err);
  std::string path_, tmp_;
  int fd_ = -1;
  uint64_t size_ = 0;
  Sha256 hash_;
};

// Writes `content` atomically (AtomicFile); returns its SHA-256. `path` is untouched on failure.
std::string write_file_atomic(const std::string& path, const std::string& content);

// Makes creations, renames and deletions inside `dir` durable; IoError on failure.
void fsync_dir(const std::string& dir);

std::string read_file(const std::string& path);  // IoError when unreadable

// Appends `content` to `path` (created when absent); IoError naming the file on failure.
void append_file(const std::string& path, const std::string& content);

}  // namespace ptm::fs_util
