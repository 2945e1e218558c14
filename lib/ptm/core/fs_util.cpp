// Atomic writes via temporary file + fsync + rename.
#include "ptm/core/fs_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ptm/core/errors.h"

namespace ptm::fs_util {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp-" + std::to_string(::getpid())) {
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError("cannot write '" + path_ + "': " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

void AtomicFile::fail(int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  tmp_.clear();
  throw IoError("cannot write '" + path_ + "': " + std::strerror(err));
}

void AtomicFile::write(const void* data, size_t size) {
  if (fd_ < 0) throw IoError("cannot write '" + path_ + "': already closed");
  const auto* p = static_cast<const char*>(data);
  hash_.update(p, size);
  size_ += size;
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd_, p + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno);
    }
    done += static_cast<size_t>(n);
  }
}

std::string AtomicFile::commit() {
  if (fd_ < 0) throw IoError("cannot write '" + path_ + "': already closed");
  if (::fsync(fd_) != 0) fail(errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0 || std::rename(tmp_.c_str(), path_.c_str()) != 0) fail(errno);
  tmp_.clear();
  return hash_.hex();
}

std::string write_file_atomic(const std::string& path, const std::string& content) {
  AtomicFile f(path);
  f.write(content);
  return f.commit();
}

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw IoError("cannot open folder '" + dir + "': " + std::strerror(errno));
  const bool ok = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok && err != EINVAL) throw IoError("cannot sync folder '" + dir + "': " + std::strerror(err));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot read '" + path + "': " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void append_file(const std::string& path, const std::string& content) {
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (!f) throw IoError("cannot open '" + path + "' for appending: " + std::strerror(errno));
  const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  if (std::fclose(f) != 0 || !ok) throw IoError("cannot write '" + path + "': " + std::strerror(errno));
}

}  // namespace ptm::fs_util
