# Data parallel (lib/ptm/dist). rank_layout is torch-free (ptm_base); the process group and
# the gradient reducer use c10d from the torch wheel. Its targets define USE_C10D_GLOO/NCCL
# whether or not the headers those backends need are here, so ptm checks for itself:
# Gloo's code is inside libtorch_cpu.so and its headers come from Debian's libgloo-dev (never
# link -lgloo); NCCL's header comes with the nvidia-nccl wheel.
set(PTM_DIST_BASE_SOURCES ptm/dist/rank_layout.cpp ptm/dist/launcher.cpp ptm/dist/error_file.cpp)
set(PTM_DIST_SOURCES ptm/dist/process_group.cpp ptm/dist/grad_sync.cpp ptm/dist/zero.cpp ptm/dist/heartbeat.cpp)
set(_ptm_dist_defs "")
set(_ptm_dist_includes "")
find_path(PTM_GLOO_INCLUDE_DIR gloo/config.h)
if(PTM_GLOO_INCLUDE_DIR)
  list(APPEND _ptm_dist_defs PTM_HAVE_GLOO=1)
  if(NOT PTM_GLOO_INCLUDE_DIR STREQUAL "/usr/include")  # -I/usr/include breaks #include_next
    list(APPEND _ptm_dist_includes ${PTM_GLOO_INCLUDE_DIR})
  endif()
  message(STATUS "ptm: data parallel on CPUs with Gloo (headers in ${PTM_GLOO_INCLUDE_DIR})")
else()
  message(STATUS "ptm: no Gloo headers (apt install libgloo-dev): data-parallel runs need CUDA and NCCL")
endif()
if(PTM_TORCH_HAS_CUDA)
  find_path(PTM_NCCL_INCLUDE_DIR nccl.h HINTS "${TORCH_INSTALL_PREFIX}/../nvidia/nccl/include" PATH_SUFFIXES include)
  if(PTM_NCCL_INCLUDE_DIR)
    list(APPEND _ptm_dist_defs PTM_HAVE_NCCL=1)
    list(APPEND _ptm_dist_includes ${PTM_NCCL_INCLUDE_DIR})
    message(STATUS "ptm: data parallel on GPUs with NCCL (nccl.h in ${PTM_NCCL_INCLUDE_DIR})")
  endif()
endif()
set_source_files_properties(${PTM_DIST_SOURCES} PROPERTIES
  COMPILE_DEFINITIONS "${_ptm_dist_defs}" INCLUDE_DIRECTORIES "${_ptm_dist_includes}"
  SKIP_PRECOMPILE_HEADERS ON)
