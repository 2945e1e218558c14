// flock-based exclusive lock file (see file_lock.h).
#include "ptm/core/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ptm/core/errors.h"

namespace ptm {

FileLock::FileLock(const std::string& path, const std::string& what) : path_(path) {
  for (;;) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw IoError("cannot open lock file '" + path + "': " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      char buf[32] = {};
      const auto n = ::pread(fd_, buf, sizeof(buf) - 1, 0);
      ::close(fd_);
      fd_ = -1;
      if (err != EWOULDBLOCK) throw IoError("cannot lock '" + path + "': " + std::strerror(err));
      std::string pid(buf, n > 0 ? static_cast<size_t>(n) : 0);
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      throw IoError("'" + path + "' is locked by another process" + (pid.empty() ? "" : " (pid " + pid + ")") +
                    " " + what + "; wait for it to finish or stop it");
    }
    // The holder before us may have removed the file between our open and our lock: then we
    // locked a file no one else will find. Only the file still at `path` counts.
    struct stat held {}, now {};
    if (::fstat(fd_, &held) == 0 && ::stat(path.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
        held.st_dev == now.st_dev)
      break;
    ::close(fd_);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The lock holds anyway; only the name of the holder is missing.
  }
}

FileLock::~FileLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still locked: a waiting process finds no file or a new one
  ::close(fd_);
}

}  // namespace ptm
