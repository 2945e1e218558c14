#!/usr/bin/env bash
# libFuzzer runs of ptm's parsers (fuzz/*_fuzz.cpp): builds them with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer in build-fuzz/, then runs each target for the given time on
# its seed corpus (fuzz/corpus/<target>/). New inputs collect in build-fuzz/corpus/<target>/,
# crashing inputs in build-fuzz/findings/<target>/. Prints executions per target; exits 1
# when a target found something.
# Usage: scripts/fuzz.sh [seconds-per-target (60)] [target...]
#   targets: safetensors tokenizer recipe shard text_records (default: all)
#   PTM_FUZZ_RUNS=N stops a target after N executions if that comes before the time limit.
# Installs clang and its runtimes when missing (Debian 12: clang libclang-rt-14-dev).
set -euo pipefail
source "$(dirname "$0")/env.sh"

seconds="${1:-60}"
[[ $# -gt 0 ]] && shift
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(safetensors tokenizer recipe shard text_records)
[[ "$seconds" =~ ^[0-9]+$ ]] || ptm_die "seconds per target must be a whole number, got '$seconds'"
# clang with its sanitizer and libFuzzer runtimes (Debian 12 packages; elsewhere bring your own).
if command -v dpkg-query >/dev/null; then
  ptm_apt_install clang libclang-rt-14-dev
fi
command -v clang++ >/dev/null || ptm_die "clang++ not found (Debian 12: apt-get install clang libclang-rt-14-dev)"

build="${PTM_FUZZ_BUILD_DIR:-$PTM_ROOT/build-fuzz}"
PTM_BUILD_DIR="$build" PTM_BUILD_TYPE=RelWithDebInfo PTM_BUILD_TARGET=ptm_fuzzers \
  bash "$PTM_ROOT/scripts/build.sh" -DCMAKE_CXX_COMPILER=clang++ -DPTM_FUZZ=ON -DPTM_BUILD_TESTS=OFF -DPTM_USE_PCH=OFF

# The targets link no LibTorch, so leak checking stays on unless the caller says otherwise.
# malloc_context_size=0: ASan records no stack per allocation (its stack depot and unwinding
# were about a fifth of the recipe target's time, perf). Every error is still found; a report
# then lacks where the block was allocated and freed: rerun the finding with
# ASAN_OPTIONS=detect_leaks=1 build-fuzz/fuzz/fuzz_<target> <finding> for those stacks.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:malloc_context_size=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
status=0
summary=()
for t in "${targets[@]}"; do
  bin="$build/fuzz/fuzz_$t"
  [[ -x "$bin" ]] || ptm_die "no fuzz target '$t' (have: $(cd "$build/fuzz" && ls fuzz_* | sed 's/^fuzz_//' | tr '\n' ' '))"
  mkdir -p "$build/corpus/$t" "$build/findings/$t"
  dict=()
  [[ -f "$PTM_ROOT/fuzz/$t.dict" ]] && dict=(-dict="$PTM_ROOT/fuzz/$t.dict")
  log="$build/findings/$t.log"
  ptm_log "fuzzing $t for ${seconds}s (log: $log)"
  rc=0
  start=$SECONDS
  # The first corpus folder receives new inputs; the committed seeds are only read.
  "$bin" -max_total_time="$seconds" ${PTM_FUZZ_RUNS:+-runs="$PTM_FUZZ_RUNS"} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" \
    -artifact_prefix="$build/findings/$t/" "$build/corpus/$t" "$PTM_ROOT/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  took=$((SECONDS - start))
  if [[ $rc -ne 0 ]]; then
    status=1
    summary+=("$t: FOUND a failure after ${execs:-?} executions in ${took}s (rc $rc): $(ls -t "$build/findings/$t" | head -1)")
    grep -m3 -E "ERROR|runtime error|terminate|deadly" "$log" >&2 || tail -20 "$log" >&2
  else
    summary+=("$t: ${execs:-?} executions in ${took}s, no finding")
  fi
done
printf '%s\n' "${summary[@]}"
exit $status
