# Third-party dependencies, with the shims that let one CMakeLists build on Debian 12
# (yaml-cpp 0.7, Catch2 v2, CLI11 2.1) and on Ubuntu 24.04 (yaml-cpp 0.8, Catch2 v3, CLI11 2.4).
#
# LibTorch: find_package(Torch). scripts/build.sh passes the torch wheel's cmake prefix;
# users bringing their own LibTorch set Torch_DIR or CMAKE_PREFIX_PATH.
find_package(Torch REQUIRED)
message(STATUS "ptm: LibTorch ${Torch_VERSION} from ${Torch_DIR}")

# The wheel's TorchConfig may add flags (ABI define on older builds).
if(TORCH_CXX_FLAGS)
  separate_arguments(_ptm_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
endif()
add_library(ptm_torch INTERFACE)
# The torch wheel's libtorch.so exports its own (broken when called from outside) copy of
# std::filesystem; naming libstdc++ first makes the dynamic linker bind ours to the real one.
target_link_libraries(ptm_torch INTERFACE stdc++ ${TORCH_LIBRARIES})
target_compile_options(ptm_torch INTERFACE ${_ptm_torch_flags})
if(TARGET torch_cuda OR CAFFE2_USE_CUDA OR USE_CUDA)
  set(PTM_TORCH_HAS_CUDA ON)
else()
  set(PTM_TORCH_HAS_CUDA OFF)
endif()

find_package(yaml-cpp REQUIRED)
add_library(ptm_yaml INTERFACE)
if(TARGET yaml-cpp::yaml-cpp)          # yaml-cpp >= 0.8
  target_link_libraries(ptm_yaml INTERFACE yaml-cpp::yaml-cpp)
else()                                 # yaml-cpp 0.7 exports a bare target
  target_link_libraries(ptm_yaml INTERFACE yaml-cpp)
endif()

find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)

if(PTM_BUILD_TESTS)
  find_package(Catch2 REQUIRED)
  add_library(ptm_catch2 INTERFACE)
  target_link_libraries(ptm_catch2 INTERFACE Catch2::Catch2WithMain)
  if(Catch2_VERSION VERSION_GREATER_EQUAL 3)
    target_compile_definitions(ptm_catch2 INTERFACE PTM_CATCH2_V3=1)
  endif()
  include(Catch)
  message(STATUS "ptm: Catch2 ${Catch2_VERSION}")
endif()
