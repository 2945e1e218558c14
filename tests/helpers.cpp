// Implementation of the test helpers.
#include "helpers.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace ptm::test {

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "ptm-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const fs::path p = fs::path(path_) / name;
  fs::create_directories(p.parent_path());
  std::ofstream(p) << content;
  return p.string();
}

void record_skip(const std::string& test_name, const std::string& reason) {
  std::ofstream(std::string(binary_dir()) + "/skipped.txt", std::ios::app) << test_name << ": " << reason << "\n";
}

std::string data_dir() { return std::string(source_dir()) + "/data"; }

std::string prepare_data(const std::string& name, const std::string& recipe) {
  const std::string prepared = data_dir() + "/prepared";
  const std::string manifest = prepared + "/" + name + "/manifest.json";
  if (std::filesystem::exists(manifest)) return "";
  std::filesystem::create_directories(prepared);
  const std::string lock_path = prepared + "/." + name + ".test-lock";
  const int fd = ::open(lock_path.c_str(), O_CREAT | O_RDWR, 0644);
  if (fd < 0) return "cannot open " + lock_path;
  ::flock(fd, LOCK_EX);  // released when fd closes
  std::string error;
  if (!std::filesystem::exists(manifest)) {
    const auto r = run_ptm("data prepare --config " + recipe);
    if (r.exit_code != 0) error = "ptm data prepare --config " + recipe + " failed: " + r.err;
  }
  ::close(fd);
  return error;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

RunResult run_ptm(const std::string& args, const std::string& cwd) {
  TempDir io;
  const std::string out = io.file("stdout"), err = io.file("stderr");
  const std::string cmd = "cd '" + cwd + "' && '" + std::string(ptm_binary()) + "' " + args + " >'" + out +
                          "' 2>'" + err + "' </dev/null";
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out);
  r.err = read_text(err);
  return r;
}

}  // namespace ptm::test
