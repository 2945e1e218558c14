// An exclusive advisory lock (flock) on a file that names its holder: the file holds the
// holder's pid, so a process refused the lock can say who has it. The lock goes with the
// process (a killed holder leaves no stale lock); the file is removed when the holder lets go.
// Torch-free.
#pragma once
#include <string>

namespace ptm {

class FileLock {
 public:
  // Takes the lock on `path` (created if missing) without waiting. IoError naming `path`, and the
  // holder's pid when another process has it; `what` says what the lock guards ("writing 'X'").
  FileLock(const std::string& path, const std::string& what);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace ptm
