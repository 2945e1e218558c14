#!/usr/bin/env bash
# Model soups of MiniLM on the fine-food reviews (issue 7, point 3): three full fine-tunes of
# recipes/finetune/minilm_sentiment.yaml from one initial model (the transformers-made init of
# tests/reference/finetune_minilm.py, so every run starts from the same classifier head), seeds
# 42 43 44 (data order and dropout differ), then a uniform and a greedy soup of their final
# checkpoints, each evaluated by `ptm merge --eval-config` on the recipe's validation split
# (held-out data = the test split here: the recipe has no separate validation split), and a
# table of accuracy / macro-F1 / loss. Finished runs and an existing init are reused.
#   scripts/soup_minilm.sh [OUT=runs/minilm_soup] [ptm finetune overrides ...]
#   PTM_SOUP_EVAL_BATCHES=1 scripts/soup_minilm.sh /tmp/soup_smoke train.max_steps=2 train.eval_batches=1
# Env: PTM_SOUP_SEEDS (default "42 43 44"), PTM_SOUP_EVAL_BATCHES (default: the whole split),
# PTM_BIN (default build/bin/ptm). About 15-30 min per run on a 2-core CPU.
set -euo pipefail
source "$(dirname "$0")/env.sh"
out="$(realpath -m "${1:-$PTM_ROOT/runs/minilm_soup}")"
if (($# > 0)); then shift; fi
ptm="$(realpath -m "${PTM_BIN:-$PTM_BUILD_DIR/bin/ptm}")"
py="$PTM_VENV/bin/python"
recipe=recipes/finetune/minilm_sentiment.yaml
read -r -a seeds <<<"${PTM_SOUP_SEEDS:-42 43 44}"
eval_batches=()
[[ -n "${PTM_SOUP_EVAL_BATCHES:-}" ]] && eval_batches=(--eval-batches "$PTM_SOUP_EVAL_BATCHES")
[[ -x "$ptm" ]] || ptm_die "build first: scripts/build.sh (or set PTM_BIN)"
[[ -x "$py" ]] || ptm_die "no Python environment at $PTM_VENV: scripts/setup.sh"
((${#seeds[@]} >= 2)) || ptm_die "a soup needs at least 2 seeds (PTM_SOUP_SEEDS)"
cd "$PTM_ROOT"  # the recipe names data/ relative to the checkout

init="$out/init"
if [[ ! -f "$init/model.safetensors" ]]; then
  ptm_log "initial model (MiniLM + a seeded classifier head) -> $init"
  "$py" tests/reference/finetune_minilm.py init --minilm data/models/minilm --out "$init"
fi

runs=()
for s in "${seeds[@]}"; do
  run="$out/full_s$s"
  if [[ -f "$run/summary.json" ]]; then
    ptm_log "reusing $run (finished)"
  else
    ptm_log "fine-tuning seed $s -> $run"
    "$ptm" finetune --config "$recipe" init_from.hf="$init" run.seed="$s" --run-dir "$run" --resume auto "$@"
  fi
  runs+=("$run")
done

for kind in uniform greedy; do
  flags=()
  [[ $kind == greedy ]] && flags=(--greedy)
  ptm_log "$kind soup of ${#runs[@]} runs -> $out/soup_$kind"
  "$ptm" merge soup --inputs "${runs[@]}" "${flags[@]}" --eval-config "$recipe" "${eval_batches[@]}" \
    --out "$out/soup_$kind" --overwrite >/dev/null  # merge.json keeps what it prints
done

# Ingredients: their final evaluation as the soup command measured it (same split and code).
"$py" - "$out" <<'EOF'
import json, os, sys
out = sys.argv[1]
rows = []
uniform = json.load(open(os.path.join(out, "soup_uniform", "merge.json")))
for ing in uniform["ingredients"]:
    run = ing["input"].split("/checkpoints/")[0]
    rows.append((os.path.basename(run) + " (step " + ing["input"].rsplit("_", 1)[-1].lstrip("0") + ")", ing["eval"]))
for kind in ("uniform", "greedy"):
    m = json.load(open(os.path.join(out, f"soup_{kind}", "merge.json")))
    rows.append((f"soup_{kind} ({len(m['kept'])} kept)", m["soup_eval"]))
print(f"{'model':<28} {'accuracy':>8} {'macro_f1':>8} {'loss':>7} {'examples':>8}")
for name, e in rows:
    print(f"{name:<28} {e['accuracy']:>8.4f} {e.get('macro_f1', float('nan')):>8.4f} {e['loss']:>7.4f} {int(e['targets']):>8}")
best = max(e["accuracy"] for _, e in rows[:-2])
for name, e in rows[-2:]:
    print(f"{name}: {'>=' if e['accuracy'] >= best else '<'} best ingredient ({best:.4f})")
EOF
