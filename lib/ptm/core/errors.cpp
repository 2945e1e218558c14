// Formatting of origins and diagnostics.
#include "ptm/core/errors.h"

namespace ptm {

std::string Origin::str() const {
  if (line <= 0) return file;
  std::string s = file + ":" + std::to_string(line);
  if (column > 0) s += ":" + std::to_string(column);
  return s;
}

std::string Diagnostic::str() const {
  std::string s;
  const std::string where = origin.str();
  if (!where.empty()) s += where + ": ";
  if (!path.empty()) s += path + ": ";
  return s + message;
}

static std::string summarize(const std::vector<Diagnostic>& d) {
  if (d.size() == 1) return d.front().str();
  std::string s = std::to_string(d.size()) + " problems:";
  for (const auto& x : d) s += "\n  " + x.str();
  return s;
}

ConfigError::ConfigError(std::vector<Diagnostic> diagnostics)
    : Error(summarize(diagnostics)), diagnostics_(std::move(diagnostics)) {}

ConfigError::ConfigError(Origin origin, std::string path, std::string message)
    : ConfigError(std::vector<Diagnostic>{{std::move(origin), std::move(path), std::move(message)}}) {}

}  // namespace ptm
