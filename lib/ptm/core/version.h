// ptm's own version and the git revision it was built from.
#pragma once
#include <string>

namespace ptm {

std::string version();       // "0.1.0"
std::string git_revision();  // "3f2a9c1b0d4e" or "3f2a9c1b0d4e-dirty" or "unknown"

}  // namespace ptm
