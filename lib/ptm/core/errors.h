// Errors thrown by library code. Only apps/ptm/main.cpp turns them into messages and
// exit codes: ConfigError and IoError -> 2 (the user's input is wrong), RuntimeError -> 1.
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace ptm {

// Where a value came from: "recipes/a.yaml:12:3" or "override 'train.lr=1e-4'".
struct Origin {
  std::string file;  // file path, or a description such as "command line"
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown
  std::string str() const;
};

// One problem in a recipe: where, which key, what was expected.
struct Diagnostic {
  Origin origin;
  std::string path;     // dotted key path, e.g. "train.max_steps"
  std::string message;  // e.g. "unknown key (did you mean max_steps?)"
  std::string str() const;
};

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A recipe, override or command line is wrong. Carries every problem found, not just the first.
class ConfigError : public Error {
 public:
  explicit ConfigError(std::vector<Diagnostic> diagnostics);
  ConfigError(Origin origin, std::string path, std::string message);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

// A file the user named is missing, unreadable, corrupt or cannot be written.
class IoError : public Error {
 public:
  using Error::Error;
};

// Anything else that went wrong while running (diverged loss, CUDA failure, ...).
class RuntimeError : public Error {
 public:
  using Error::Error;
};

}  // namespace ptm
