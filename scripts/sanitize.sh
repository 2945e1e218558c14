#!/usr/bin/env bash
# The test suite built with AddressSanitizer and UndefinedBehaviorSanitizer (ptm's own code is
# instrumented; LibTorch is not), in build-asan/, then ctest. Any sanitizer report fails the test
# that triggered it (-fno-sanitize-recover). Leak checking is off: LibTorch keeps allocations
# alive at exit. A cold build compiles every file again (about 30+ CPU-minutes).
# Usage: scripts/sanitize.sh [ctest arguments...]      e.g.  scripts/sanitize.sh -R safetensors
#        scripts/sanitize.sh "[tags]" [Catch2 args...]  runs the test binary on a tag expression,
#                                                      e.g.  scripts/sanitize.sh "[unit]"
#        scripts/sanitize.sh --base [Catch2 args...]    only the torch-free tests (parsers, config,
#                                                      tokenizers, shards): minutes, not a full rebuild
#        (PTM_JOBS, PTM_SANITIZE_BUILD_DIR; the compiler is the default one, gcc or clang)
set -euo pipefail
source "$(dirname "$0")/env.sh"

build="${PTM_SANITIZE_BUILD_DIR:-$PTM_ROOT/build-asan}"
target=ptm_tests
if [[ "${1:-}" == "--base" ]]; then
  target=ptm_base_tests
  shift
fi
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# Set before building: test discovery runs the sanitized test binary.
#   detect_leaks=0: LibTorch (not instrumented) keeps allocations alive at exit, and libcuda's
#     cuInit leaks by design; the reports would be theirs, not ptm's.
#   protect_shadow_gap=0: the CUDA driver reserves addresses inside the gap that ASan protects,
#     so on a GPU machine cuInit/cudaMalloc fail ("out of memory") unless the gap stays mapped
#     (google/sanitizers#629). Harmless without a GPU.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:protect_shadow_gap=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
# -O1 -g1: quicker to build than Release's -O3, with line numbers in reports.
PTM_BUILD_DIR="$build" PTM_BUILD_TYPE=Release PTM_BUILD_TARGET=$target bash "$PTM_ROOT/scripts/build.sh" \
  -DCMAKE_CXX_FLAGS="$sanitize -g1" -DCMAKE_CXX_FLAGS_RELEASE="-O1 -DNDEBUG" \
  -DCMAKE_EXE_LINKER_FLAGS="$sanitize" -DCMAKE_SHARED_LINKER_FLAGS="$sanitize"

rm -f "$build/tests/skipped.txt"
status=0
if [[ $target == ptm_base_tests ]]; then
  (cd "$PTM_ROOT" && "$build/tests/ptm_base_tests" "$@") || status=$?
elif [[ "${1:-}" == "["* ]]; then  # a Catch2 tag expression: ctest has no labels for the tags
  (cd "$PTM_ROOT" && "$build/tests/ptm_tests" "$@") || status=$?
else
  (cd "$build" && ctest --output-on-failure --parallel "${PTM_JOBS:-$(nproc)}" "$@") || status=$?
fi
cd "$build"
if [[ -s tests/skipped.txt ]]; then
  ptm_log "skipped, with their reasons ($(wc -l <tests/skipped.txt)):"
  sort tests/skipped.txt | sed 's/^/  /' >&2
fi
exit "$status"
