// Reads the header generated at build time by cmake/PtmWriteVersion.cmake.
#include "ptm/core/version.h"

#include "ptm/version_info.h"

namespace ptm {

std::string version() { return PTM_VERSION_STRING; }
std::string git_revision() { return PTM_GIT_REVISION; }
std::string build_type() { return PTM_BUILD_TYPE; }
std::string compiler() { return PTM_COMPILER; }

}  // namespace ptm
