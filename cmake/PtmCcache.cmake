# Use ccache when present. Hits across checkouts need CCACHE_BASEDIR/CCACHE_NOHASHDIR,
# which scripts/build.sh exports; the sloppiness settings make precompiled headers cacheable.
find_program(PTM_CCACHE ccache)
if(PTM_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      ${CMAKE_COMMAND} -E env CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
      ${PTM_CCACHE})
  message(STATUS "ptm: compiling through ccache (${PTM_CCACHE})")
endif()
