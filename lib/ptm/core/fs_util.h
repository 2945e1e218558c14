// File helpers that never leave a half-written file behind.
#pragma once
#include <string>

namespace ptm::fs_util {

// Writes to "<path>.tmp-<pid>", flushes to disk, then renames over `path`.
// Throws IoError naming the file on any failure; `path` is untouched then.
void write_file_atomic(const std::string& path, const std::string& content);

std::string read_file(const std::string& path);  // IoError when unreadable

// Appends `content` to `path` (created when absent); IoError naming the file on failure.
void append_file(const std::string& path, const std::string& content);

}  // namespace ptm::fs_util
