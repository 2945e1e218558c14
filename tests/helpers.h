// Test helpers: temporary directories, files, and running the built ptm binary.
#pragma once
#include <string>

namespace ptm::test {

// Where things are (generated at configure time: test_paths.cpp).
const char* ptm_binary();
const char* source_dir();
const char* fixtures_dir();
const char* python_exe();  // Python with the reference packages; "" when unknown
const char* binary_dir();  // <build>/tests
// The fetched data (scripts/get-data.sh): <source>/data.
std::string data_dir();

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes `content` to path()/name (creating folders) and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `ptm <args>` (args already shell-quoted as needed) in `cwd` (default: the source tree).
RunResult run_ptm(const std::string& args, const std::string& cwd = source_dir());

// Makes data/prepared/<name> with `ptm data prepare --config <recipe>` unless it holds a
// manifest already. Test processes run in parallel and prepare the same data sets: a lock file
// lets one prepare while the others wait for its result. Returns "" or the error.
std::string prepare_data(const std::string& name, const std::string& recipe);

std::string read_text(const std::string& path);
bool contains(const std::string& haystack, const std::string& needle);

// The message of what `f` throws, or "no error" (Catch2 v2/v3 matchers differ; this does not).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace ptm::test
