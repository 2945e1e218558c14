#!/usr/bin/env bash
# Every check that needs a GPU, in one run, for a short lease on a GPU machine: build with
# CUDA, `ptm info`, the [gpu] tests (each model forward and backward in bf16 against fp32 on
# the CPU), a short gpt_tiny pretraining run on CUDA, and the side-by-side benchmarks against
# PyTorch (scripts/bench_vs_pytorch.sh). At most 6 files land in the output folder.
#   bash scripts/gpu_checks.sh [OUT_DIR]        (default: $OUT, else ./gpu_results)
# Stages that fail are reported in summary.txt and the later ones still run.
set -uo pipefail
source "$(dirname "$0")/env.sh"
out="${1:-${OUT:-$PTM_ROOT/gpu_results}}"
mkdir -p "$out"
summary="$out/summary.txt"
: >"$summary"
stage() {  # stage NAME LOGFILE COMMAND...: runs it, appends status and wall time to the summary
  local name="$1" log="$2" start rc
  shift 2
  start=$(date +%s)
  "$@" >>"$log" 2>&1
  rc=$?
  echo "$name: exit $rc, $(($(date +%s) - start)) s" | tee -a "$summary"
  return $rc
}
cd "$PTM_ROOT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >>"$summary" 2>&1 || true
stage build "$out/build.log" bash scripts/build.sh || { tail -40 "$out/build.log" >>"$summary"; exit 1; }
ptm="$PTM_BUILD_DIR/bin/ptm"
stage info "$out/info.txt" "$ptm" info
stage gpu_tests "$out/tests.txt" "$PTM_BUILD_DIR/tests/ptm_tests" "[gpu]"
# The real-corpus run needs the prepared corpus (scripts/get-data.sh, which needs the
# registries); a GPU machine without them skips it.
if [[ -f data/prepared/janeausten_bpe8k/manifest.json ]]; then
  stage pretrain_cuda "$out/tests.txt" "$ptm" pretrain --config recipes/pretrain/gpt_tiny.yaml --device cuda \
    --run-dir "$(mktemp -d)/gpt_tiny_cuda" train.max_steps=200 train.eval_every=100
else
  echo "pretrain_cuda: skipped (no data/prepared/janeausten_bpe8k)" | tee -a "$summary"
fi
stage bench "$out/bench.txt" bash scripts/bench_vs_pytorch.sh --device cuda --out "$(mktemp -d)"
tail -30 "$out/bench.txt" >>"$summary"
