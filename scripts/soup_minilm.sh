#!/usr/bin/env bash
# Model soups of MiniLM on the fine-food reviews (issue 7, point 3): full fine-tunes of
# recipes/finetune/minilm_sentiment.yaml from one initial model (the transformers-made init of
# tests/reference/finetune_minilm.py, so every run starts from the same classifier head), seeds
# 42 43 44 (data order and dropout differ); a uniform soup of their final checkpoints and a
# greedy one (ingredients best first, each kept only if the soup's accuracy does not drop); a
# table of accuracy / macro-F1 / loss. Held-out data = the recipe's validation split, which is
# the test split (there is no separate validation split). Finished runs and the init are reused.
#   scripts/soup_minilm.sh [OUT=runs/minilm_soup] [ptm finetune overrides ...]
#   PTM_SOUP_EVAL_BATCHES=1 scripts/soup_minilm.sh /tmp/soup_smoke train.max_steps=2 train.eval_batches=1
# Env: PTM_SOUP_SEEDS (default "42 43 44"), PTM_SOUP_EVAL_BATCHES (default: the whole split),
# PTM_BIN (default build/bin/ptm). About 10-35 min per run on a 2-core CPU.
#
# Soups are made with plain `ptm merge soup` (an average) and scored with `ptm eval --config`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
out="$(realpath -m "${1:-$PTM_ROOT/runs/minilm_soup}")"
if (($# > 0)); then shift; fi
ptm="$(realpath -m "${PTM_BIN:-$PTM_BUILD_DIR/bin/ptm}")"
py="$PTM_VENV/bin/python"
recipe=recipes/finetune/minilm_sentiment.yaml
read -r -a seeds <<<"${PTM_SOUP_SEEDS:-42 43 44}"
eval_batches=()
[[ -n "${PTM_SOUP_EVAL_BATCHES:-}" ]] && eval_batches=(--batches "$PTM_SOUP_EVAL_BATCHES")
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

# A merged folder is scored as the recipe's model loaded from it (`ptm eval --config`).
eval_folder() {
  "$ptm" eval --config "${runs[0]}/config.yaml" init_from.hf="$1" --out "$1/eval.json" "${eval_batches[@]}" >/dev/null
}
accuracy() { "$py" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j.get("eval", j)["accuracy"])' "$1"; }
soup() {  # soup OUT INPUTS...: the uniform average of INPUTS, evaluated
  local dest="$1"
  shift
  "$ptm" merge soup --inputs "$@" --out "$dest" --overwrite >/dev/null
  eval_folder "$dest"
}

ptm_log "uniform soup of ${#runs[@]} runs -> $out/soup_uniform"
soup "$out/soup_uniform" "${runs[@]}"

# Greedy: ingredients ranked by their final evaluation (summary.json: the same split), best first.
mapfile -t ranked < <(for r in "${runs[@]}"; do echo "$(accuracy "$r/summary.json") $r"; done | sort -s -k1,1gr | cut -d' ' -f2-)
kept=("${ranked[0]}")
best="$(accuracy "${ranked[0]}/summary.json")"
trials="$out/soup_greedy.trials"
rm -rf "$trials" && mkdir -p "$trials"
for ((k = 1; k < ${#ranked[@]}; ++k)); do
  soup "$trials/try$k" "${kept[@]}" "${ranked[k]}"
  a="$(accuracy "$trials/try$k/eval.json")"
  if awk -v a="$a" -v b="$best" 'BEGIN { exit !(a >= b) }'; then
    kept+=("${ranked[k]}") best="$a" last="$trials/try$k"
    ptm_log "greedy soup: ${ranked[k]} kept (accuracy $a)"
  else
    ptm_log "greedy soup: ${ranked[k]} dropped (accuracy $a < $best)"
  fi
done
rm -rf "$out/soup_greedy"
if ((${#kept[@]} > 1)); then
  cp -r "$last" "$out/soup_greedy"
else  # no mix beat the best run alone: the greedy soup is that run
  "$ptm" export --format hf --from "${kept[0]}" --out "$out/soup_greedy" >/dev/null
fi
eval_folder "$out/soup_greedy"
printf '%s\n' "${kept[@]}" >"$out/soup_greedy/kept.txt"

"$py" - "$out" "${runs[@]}" <<'EOF'
import json, os, sys
out, runs = sys.argv[1], sys.argv[2:]
rows = [(os.path.basename(r), json.load(open(os.path.join(r, "summary.json")))["eval"]) for r in runs]
n_greedy = len(open(os.path.join(out, "soup_greedy", "kept.txt")).read().split())
rows += [(f"soup_uniform ({len(runs)})", json.load(open(os.path.join(out, "soup_uniform", "eval.json")))),
         (f"soup_greedy ({n_greedy} kept)", json.load(open(os.path.join(out, "soup_greedy", "eval.json"))))]
print(f"{'model':<24} {'accuracy':>8} {'macro_f1':>8} {'loss':>7} {'examples':>8}")
for name, e in rows:
    print(f"{name:<24} {e['accuracy']:>8.4f} {e['macro_f1']:>8.4f} {e['loss']:>7.4f} {int(e['targets']):>8}")
best = max(e["accuracy"] for _, e in rows[:-2])
for name, e in rows[-2:]:
    print(f"{name}: accuracy {e['accuracy']:.4f} {'>=' if e['accuracy'] >= best else '<'} best ingredient {best:.4f}")
EOF
