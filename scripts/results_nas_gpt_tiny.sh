#!/usr/bin/env bash
# RESULTS.md "NAS" on the tiny GPT (Jane Austen, 8k BPE): a pretrained model made elastic by
# super-network training (sandwich, and SortedNet), NSGA-II against random search with the
# same budget over three seeds (final hypervolume of loss vs params), and the nested
# sub-networks' validation loss by size. Runs on the CPU in about half an hour.
#   bash scripts/results_nas_gpt_tiny.sh [RUNS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ptm=build/bin/ptm
runs=${1:-runs/results_nas}
mkdir -p "$runs"

[ -f "$runs/base/summary.json" ] ||
  $ptm pretrain --config recipes/pretrain/gpt_tiny.yaml train.max_steps=500 --run-dir "$runs/base"
for sampling in sandwich sortednet; do
  [ -f "$runs/supernet_$sampling/summary.json" ] ||
    $ptm pretrain --config recipes/nas/gpt_tiny_supernet.yaml init_from.checkpoint="$runs/base/checkpoints/latest" \
      supernet.sampling=$sampling train.max_steps=150 train.eval_every=75 train.save_every=75 --run-dir "$runs/supernet_$sampling"
done
for seed in 1 2 3; do
  [ -f "$runs/search_s$seed/summary.json" ] ||
    $ptm nas search --config recipes/nas/gpt_tiny_search.yaml \
      init_from.checkpoint="$runs/supernet_sandwich/checkpoints/latest" run.seed=$seed nas.baseline=random \
      --run-dir "$runs/search_s$seed"
done
[ -f "$runs/search_sortednet/summary.json" ] ||
  $ptm nas search --config recipes/nas/gpt_tiny_search.yaml \
    init_from.checkpoint="$runs/supernet_sortednet/checkpoints/latest" run.seed=1 --run-dir "$runs/search_sortednet"

# SortedNet's nested sub-networks (what sortednet sampling trains: the space's sorted_nested
# with 4 levels), exported from each super-network, evaluated on the whole validation split.
for from in search_s1 search_sortednet; do
  i=0
  for g in 1/128,1/128,-,- 2/256,2/256,2/256,- 3/384,3/384,3/384,- 4/512,4/512,4/512,4/512; do
    i=$((i + 1))
    out="$runs/nested_${from}_$i"
    [ -f "$out/summary.json" ] || $ptm nas export --from "$runs/$from" --genome "$g" --out "$out" > /dev/null
    printf '%s %s ' "$from" "$g"
    $ptm eval --from "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["loss"])'
  done
done
for seed in 1 2 3; do
  python3 - "$runs/search_s$seed/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(sys.argv[1], "nsga2", s["hypervolume_per_generation"][-1], "random", s["baseline"]["hypervolume_per_generation"][-1],
      "front", len(s["front"]), "evaluated", s["evaluated"], s["baseline"]["evaluated"])
PY
done
