# Git revision for `ptm --version`, `ptm info` and cmdline.txt. Read at configure time and
# again on every build (a tiny generated header, so only version.cpp recompiles).
set(PTM_VERSION_IN ${CMAKE_CURRENT_LIST_DIR}/version.h.in)
set(PTM_VERSION_OUT ${CMAKE_BINARY_DIR}/generated/ptm/version_info.h)
add_custom_target(ptm_version_header
  COMMAND ${CMAKE_COMMAND} -DIN=${PTM_VERSION_IN} -DOUT=${PTM_VERSION_OUT}
          -DSRC=${CMAKE_SOURCE_DIR} -DVERSION=${PROJECT_VERSION} -DBUILD_TYPE=${CMAKE_BUILD_TYPE}
          "-DCOMPILER=${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}"
          -P ${CMAKE_CURRENT_LIST_DIR}/PtmWriteVersion.cmake
  BYPRODUCTS ${PTM_VERSION_OUT}
  COMMENT "ptm: version header")
