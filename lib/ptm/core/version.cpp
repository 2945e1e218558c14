// Reads the header generated at build time by cmake/PtmWriteVersion.cmake.
#include "ptm/core/version.h"

#include "ptm/version_info.h"

namespace ptm {

std::string version() { return PTM_VERSION_STRING; }
std::string git_revision() { return PTM_GIT_REVISION; }

}  // namespace ptm
