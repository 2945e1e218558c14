#!/usr/bin/env bash
# RESULTS.md "NAS" on the real MiniLM-L6-H384 and the fine-food reviews (issue 20's results):
#   1. super-network fine-tuning (sandwich, in-place distillation), then NSGA-II against random
#      search with the same number of evaluations, accuracy vs latency measured on this CPU,
#      three seeds (final hypervolumes);
#   2. the front point nearest half of the encoder's parameters, exported and fine-tuned briefly,
#      against the full model and against the same architecture sliced from MiniLM without
#      super-network training and fine-tuned alone for as many steps;
#   3. SortedNet: the nested sub-networks' accuracy by size.
# Hours on 2 CPU cores: run it on a quiet machine. Every step is skipped when its summary.json
# exists, so a killed run continues with the same command (searches resume from their state).
#   bash scripts/results_nas_minilm.sh [RUNS_DIR] [extra overrides for every run...]
# A smoke run of the whole chain in minutes:
#   SEARCH_ARGS="nas.population=2 nas.generations=1" bash scripts/results_nas_minilm.sh /tmp/smoke \
#     train.max_steps=2 train.eval_batches=1
set -euo pipefail
cd "$(dirname "$0")/.."
ptm=${PTM_BIN:-build/bin/ptm}
runs=${1:-runs/results_nas_minilm}
shift || true
extra=("$@")  # e.g. train.max_steps=4 for a smoke run
mkdir -p "$runs"
py=${PYTHON:-python3}

done_() { [ -f "$1/summary.json" ]; }
test_accuracy() { "$py" -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s.get("test", s.get("final_eval", {})).get("accuracy"))' "$1/summary.json"; }

done_ "$runs/full" ||
  $ptm finetune --config recipes/finetune/minilm_sentiment.yaml "${extra[@]}" --run-dir "$runs/full"
done_ "$runs/supernet_sandwich" ||
  $ptm finetune --config recipes/nas/minilm_reviews_supernet.yaml "${extra[@]}" --run-dir "$runs/supernet_sandwich"
done_ "$runs/supernet_sortednet" ||
  $ptm finetune --config recipes/nas/minilm_reviews_supernet.yaml supernet.sampling=sortednet \
    supernet.inplace_distill=false "${extra[@]}" --run-dir "$runs/supernet_sortednet"
# Units sorted as for the super-networks, no super-network training (a step of lr 1e-30): the
# source of the "trained alone" architecture of result 2.
done_ "$runs/sorted_only" ||
  $ptm finetune --config recipes/nas/minilm_reviews_supernet.yaml train.max_steps=1 optimizer.lr=1e-30 \
    train.eval_every=0 "${extra[@]}" --run-dir "$runs/sorted_only"

search() {  # search(from, out, args...)
  local from=$1 out=$2
  shift 2
  done_ "$out" ||
    $ptm nas search --config recipes/nas/minilm_reviews_search.yaml \
      init_from.checkpoint="$from/checkpoints/latest" "$@" "${extra[@]}" ${SEARCH_ARGS:-} --run-dir "$out"
}
for seed in 1 2 3; do search "$runs/supernet_sandwich" "$runs/search_s$seed" run.seed=$seed; done
search "$runs/sorted_only" "$runs/search_sorted_only" nas.population=2 nas.generations=1 nas.baseline=none

# Result 2: the front point with at most the embeddings plus half of the encoder.
# The whole classifier has 22,713,986 parameters, 6 layers of 1,774,464 (q, k, v, output, MLP,
# two LayerNorms at H 384, I 1536).
budget=$((22713986 - 3 * 1774464))
half="$runs/half"
[ -d "$half" ] || $ptm nas export --from "$runs/search_s1" --max-params "$budget" --out "$half" > "$runs/half_export.json"
genome=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["search_point"]["genome"])' "$runs/half_export.json")
[ -d "$runs/half_alone" ] ||
  $ptm nas export --from "$runs/search_sorted_only" --genome "$genome" --out "$runs/half_alone" > /dev/null
brief=(train.max_steps=100 train.eval_every=50 train.save_every=50 schedule.warmup_fraction=0.1)
# An exported sub-network's config.yaml is its recipe (model: with the per-layer sizes).
done_ "$runs/half_finetuned" ||
  $ptm finetune --config "$half/config.yaml" init_from.checkpoint="$half/checkpoints/latest" "${brief[@]}" \
    "${extra[@]}" --run-dir "$runs/half_finetuned"
done_ "$runs/half_alone_finetuned" ||
  $ptm finetune --config "$runs/half_alone/config.yaml" init_from.checkpoint="$runs/half_alone/checkpoints/latest" \
    train.max_steps=350 "${extra[@]}" --run-dir "$runs/half_alone_finetuned"

echo "== result 1: final hypervolume (accuracy vs latency), NSGA-II vs random search"
for seed in 1 2 3; do
  "$py" - "$runs/search_s$seed/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(sys.argv[1], "nsga2", s["hypervolume_per_generation"], "random", s["baseline"]["hypervolume_per_generation"],
      "evaluated", s["evaluated"], s["baseline"]["evaluated"])
PY
done
echo "== result 2: test accuracy (genome $genome)"
echo "full model          $(test_accuracy "$runs/full")"
echo "front point, brief  $(test_accuracy "$runs/half_finetuned")"
echo "same arch, alone    $(test_accuracy "$runs/half_alone_finetuned")"
echo "== result 3: nested sub-networks (validation accuracy by size)"
for from in search_s1; do
  for g in 3/384,3/384,3/384,3/384,-,- 6/768,6/768,6/768,6/768,6/768,- 9/1152,9/1152,9/1152,9/1152,9/1152,9/1152 \
    12/1536,12/1536,12/1536,12/1536,12/1536,12/1536; do
    for sn in supernet_sandwich supernet_sortednet; do
      out="$runs/nested_${sn}_${g//[\/,]/_}"
      src="$runs/search_s1"
      [ "$sn" = supernet_sortednet ] && { search "$runs/supernet_sortednet" "$runs/search_sortednet" nas.population=2 nas.generations=1 nas.baseline=none; src="$runs/search_sortednet"; }
      [ -d "$out" ] || $ptm nas export --from "$src" --genome "$g" --out "$out" > /dev/null
      printf '%s %s ' "$sn" "$g"
      $ptm eval --from "$out" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["accuracy"])'
    done
  done
done
