#!/usr/bin/env bash
# The two `ptm report` pictures of the README (docs/images/), made from real runs:
#  (a) gpt_tiny pretraining on Jane Austen (recipes/pretrain/gpt_tiny.yaml, shortened to 120
#      steps and evaluated every 20 steps instead of 100 so the evaluation curve has points);
#  (b) MiniLM fine-tuned on the fine-food reviews three ways, side by side: full fine-tuning
#      (recipes/finetune/minilm_sentiment.yaml), LoRA (minilm_sentiment_lora.yaml), and the
#      uniform soup (`ptm merge soup`) of those two (the LoRA run folded into its base; scored
#      with `ptm eval` on the validation and test splits). Both runs start from one initial
#      model (MiniLM + a seeded classifier head, as scripts/soup_minilm.sh makes it), which is
#      what makes their average a soup.
# The MiniLM runs use the recipes' own settings (250 steps of 32 reviews, 128 tokens, the whole
# validation and test splits), evaluated every 25 steps instead of 125 so that the evaluation
# curves have points: 15-45 min per run on 2 cores, depending on what else runs. PTM_EXAMPLES_QUICK=1 shortens them
# to a demonstration that runs in minutes (60 steps at batch 16, 64 tokens, the first 208
# validation and test reviews), in which no model leaves the majority class. Finished runs are
# reused.
#   scripts/report_examples.sh [OUT=runs/report_examples]
# Env: PTM_BIN (default build/bin/ptm), PTM_EXAMPLES_IMAGES (default docs/images),
# PTM_EXAMPLES_QUICK. Needs chromium on PATH for the PNGs (the HTML pages are written without it).
set -euo pipefail
source "$(dirname "$0")/env.sh"
out="$(realpath -m "${1:-$PTM_ROOT/runs/report_examples}")"
ptm="$(realpath -m "${PTM_BIN:-$PTM_BUILD_DIR/bin/ptm}")"
images="$(realpath -m "${PTM_EXAMPLES_IMAGES:-$PTM_ROOT/docs/images}")"
py="$PTM_VENV/bin/python"
[[ -x "$ptm" ]] || ptm_die "build first: scripts/build.sh (or set PTM_BIN)"
[[ -x "$py" ]] || ptm_die "no Python environment at $PTM_VENV: scripts/setup.sh"
cd "$PTM_ROOT"  # the recipes name data/ relative to the checkout
mkdir -p "$out"

finished() { [[ -f "$1/summary.json" ]]; }

# (b) MiniLM: full, LoRA and a soup of two full runs.
if [[ "${PTM_EXAMPLES_QUICK:-0}" == 1 ]]; then
  MINILM=(train.max_steps=60 train.batch_size=16 data.max_length=64 train.log_every=5 train.eval_every=20
          train.save_every=60 train.eval_batches=13)
  EVAL_BATCHES=13
else
  MINILM=(train.eval_every=25)
  EVAL_BATCHES=1000  # the recipe's train.eval_batches: every review of the split
fi
init="$out/minilm_init"
if [[ ! -f "$init/model.safetensors" ]]; then
  ptm_log "initial model (MiniLM + a seeded classifier head) -> $init"
  "$py" tests/reference/finetune_minilm.py init --minilm data/models/minilm --out "$init"
fi
finetune() {  # finetune RECIPE RUN_DIR [overrides...]
  local recipe="$1" dir="$2"
  shift 2
  finished "$dir" && return 0
  ptm_log "fine-tuning $recipe -> $dir"
  "$ptm" finetune --config "$recipe" init_from.hf="$init" "${MINILM[@]}" "$@" --run-dir "$dir" --resume auto
}
finetune recipes/finetune/minilm_sentiment.yaml "$out/minilm_full" run.seed=42
finetune recipes/finetune/minilm_sentiment_lora.yaml "$out/minilm_lora" run.seed=42
soup="$out/minilm_soup"
if [[ ! -f "$soup/eval_test.json" ]]; then
  ptm_log "uniform soup of the full and LoRA runs -> $soup"
  "$ptm" merge soup --inputs "$out/minilm_full" "$out/minilm_lora" --out "$soup" --overwrite >/dev/null
  # A merged folder is scored as the recipe's model loaded from it; ptm report reads eval.json
  # (validation) and eval_test.json (test) next to merge.json.
  "$ptm" eval --config "$out/minilm_full/config.yaml" init_from.hf="$soup" --batches "$EVAL_BATCHES" --out "$soup/eval.json" >/dev/null
  "$ptm" eval --config "$out/minilm_full/config.yaml" init_from.hf="$soup" --batches "$EVAL_BATCHES" --split test \
    --out "$soup/eval_test.json" >/dev/null
fi

# (a) gpt_tiny pretraining.
GPT_TINY=(train.max_steps=120 train.eval_every=20 train.save_every=60)
[[ -d data/prepared/janeausten_bpe8k ]] || "$ptm" data prepare --config recipes/data/janeausten_bpe.yaml
if ! finished "$out/gpt_tiny"; then
  ptm_log "gpt_tiny pretraining -> $out/gpt_tiny"
  "$ptm" pretrain --config recipes/pretrain/gpt_tiny.yaml "${GPT_TINY[@]}" --run-dir "$out/gpt_tiny" --resume auto
fi

# The pages and their pictures (the top of each page at 1280 px).
# Folders named relative to the checkout, as the pages show them.
r="$(realpath --relative-to="$PTM_ROOT" "$out")"
"$ptm" report "$r/gpt_tiny" --out "$out/report_gpt_tiny.html"
"$ptm" report "$r/minilm_full" "$r/minilm_lora" "$r/minilm_soup" --out "$out/report_minilm.html"
if command -v chromium >/dev/null 2>&1; then
  mkdir -p "$images"
  "$py" scripts/screenshot_report.py "$out/report_gpt_tiny.html" "$images/report_gpt_tiny.png" --height 1500
  "$py" scripts/screenshot_report.py "$out/report_minilm.html" "$images/report_minilm.png" --height 1900
else
  ptm_log "no chromium on PATH: pages in $out, no pictures"
fi
