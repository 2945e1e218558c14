#!/usr/bin/env bash
# Data-parallel scaling on the CPU: gpt_tiny (recipes/bench/gpt_tiny_cpu.yaml) as one process
# with 2 threads and batch 16, against `ptm launch --nproc 2` with 1 thread per rank and
# batch 8 per rank (the same global batch, so the same work per step), alternating runs.
# Throughput is the last logged interval's (the ranks' tokens summed by rank 0).
# Usage: scripts/bench_dp_cpu.sh [ROUNDS=3]
set -euo pipefail
source "$(dirname "$0")/env.sh"
rounds="${1:-3}"
ptm="$PTM_BUILD_DIR/bin/ptm"
py="$PTM_VENV/bin/python"
[[ -x "$ptm" ]] || ptm_die "build first: scripts/build.sh"
run_dir="$(mktemp -d)"
trap 'rm -rf "$run_dir"' EXIT
recipe="$PTM_ROOT/recipes/bench/gpt_tiny_cpu.yaml"
last_rate() { grep '"loss"' "$1/metrics.jsonl" | tail -1 | "$py" -c 'import json,sys;print(round(json.load(sys.stdin)["tokens_per_s"]))'; }
one=() two=()
for ((i = 1; i <= rounds; i++)); do
  "$ptm" pretrain --config "$recipe" --run-dir "$run_dir/one$i" --log-level warn run.threads=2 train.batch_size=16 >/dev/null
  "$ptm" launch --nproc 2 -- pretrain --config "$recipe" --run-dir "$run_dir/two$i" --log-level warn \
    run.threads=1 train.batch_size=8 >/dev/null 2>&1
  a=$(last_rate "$run_dir/one$i") b=$(last_rate "$run_dir/two$i")
  echo "round $i: 1 process x 2 threads $a tok/s, 2 processes x 1 thread $b tok/s"
  one+=("$a") two+=("$b")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
a=$(median "${one[@]}") b=$(median "${two[@]}")
echo "median: 1 process $a tok/s, 2 processes $b tok/s, ratio $(awk -v a="$b" -v b="$a" 'BEGIN{printf "%.2f", a/b}')"
