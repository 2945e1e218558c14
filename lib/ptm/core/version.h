// ptm's own version and the git revision it was built from.
#pragma once
#include <string>

namespace ptm {

std::string version();       // "0.1.0"
std::string git_revision();  // "3f2a9c1b0d4e" or "3f2a9c1b0d4e-dirty" or "unknown"
std::string build_type();    // CMAKE_BUILD_TYPE
std::string compiler();      // "GNU 12.2.0"

}  // namespace ptm
