#!/usr/bin/env bash
# gpt_tiny training throughput on the CPU: ptm vs the PyTorch eager peer, same model, batch,
# sequence length and optimizer, alternating runs so both see the same machine state.
# Prints each run and the medians. Usage: scripts/bench_vs_pytorch_cpu.sh [ROUNDS=3]
set -euo pipefail
source "$(dirname "$0")/env.sh"
rounds="${1:-3}"
ptm="$PTM_BUILD_DIR/bin/ptm"
py="$PTM_VENV/bin/python"
peer="${PTM_PEER:-$PTM_ROOT/../shared/peer/gpt_peer.py}"
[[ -x "$ptm" ]] || ptm_die "build first: scripts/build.sh"
[[ -f "$peer" ]] || ptm_die "PyTorch peer not found at $peer (set PTM_PEER)"
run_dir="$(mktemp -d)"
trap 'rm -rf "$run_dir"' EXIT
ptm_rates=() peer_rates=()
for ((i = 1; i <= rounds; i++)); do
  "$ptm" pretrain --config "$PTM_ROOT/recipes/bench/gpt_tiny_cpu.yaml" --run-dir "$run_dir/r$i" --log-level warn >/dev/null
  # The last logged interval (steps 21-30): warm, and free of the start-up.
  r=$(grep '"loss"' "$run_dir/r$i/metrics.jsonl" | tail -1 | "$py" -c 'import json,sys;print(round(json.load(sys.stdin)["tokens_per_s"]))')
  p=$("$py" "$peer" --device cpu --layers 4 --d-model 128 --heads 4 --seq 256 --batch 8 --vocab 8192 --steps 10 |
      "$py" -c 'import json,sys;print(round(json.load(sys.stdin)["tokens_per_s"]))')
  echo "round $i: ptm $r tok/s, pytorch eager $p tok/s"
  ptm_rates+=("$r") peer_rates+=("$p")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
pm=$(median "${ptm_rates[@]}") qm=$(median "${peer_rates[@]}")
ratios=()
for i in "${!ptm_rates[@]}"; do ratios+=("$(awk -v a="${ptm_rates[$i]}" -v b="${peer_rates[$i]}" 'BEGIN{printf "%.3f", a/b}')"); done
echo "median: ptm $pm tok/s, pytorch eager $qm tok/s, ratio $(awk -v a="$pm" -v b="$qm" 'BEGIN{printf "%.2f", a/b}')"
# Paired: steadier than the ratio of medians when the machine's speed drifts between rounds.
echo "median of per-round ratios: $(median "${ratios[@]}")"
