#!/usr/bin/env bash
# Sets everything up, builds ptm, and runs the main job on the default real corpus:
# Jane Austen's novels -> a byte-level BPE trained on them -> token shards + manifest ->
# pretraining a tiny GPT-2 on them (CPU, a few minutes; each run starts afresh).
# Extra arguments go to `ptm pretrain`, e.g.  scripts/quickstart.sh train.max_steps=50
set -euo pipefail
source "$(dirname "$0")/env.sh"

bash "$PTM_ROOT/scripts/setup.sh"
bash "$PTM_ROOT/scripts/get-data.sh" janeausten
bash "$PTM_ROOT/scripts/build.sh"
cd "$PTM_ROOT"
ptm="$PTM_BUILD_DIR/bin/ptm"
"$ptm" info
"$ptm" data prepare --config recipes/data/janeausten_bpe.yaml --overwrite
"$ptm" data inspect data/prepared/janeausten_bpe8k --tokens 48
"$ptm" pretrain --config recipes/pretrain/gpt_tiny.yaml --overwrite "$@"
