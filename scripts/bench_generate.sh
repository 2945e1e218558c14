#!/usr/bin/env bash
# Greedy generation speed on the CPU: `ptm generate` (key/value cache, left-padded batches) vs
# transformers' generate() on the same random models, prompts and threads, one call. Models:
# GPT-2 and Llama shapes of 6 layers x 384 (scripts/peers/generate_peer.py make) with the 8k
# byte-level BPE of data/prepared/janeausten_bpe8k; prompts: 8 spans of Emma of 4 to 46 words;
# 64 new tokens each, no end-of-text stop. Batch 1 runs the prompts one after another, batch 8
# all at once. Prefill: the prompts' forward up to the first new token; decode: the other new
# tokens. Medians of ROUNDS runs; "same ids" compares ptm's ids with transformers' token for token.
#
# Usage: scripts/bench_generate.sh [ROUNDS (3)] [THREADS (1)]
#   needs: scripts/get-data.sh, scripts/setup.sh, scripts/build.sh
set -euo pipefail
source "$(dirname "$0")/env.sh"

rounds="${1:-3}"
threads="${2:-1}"
ptm="$PTM_BUILD_DIR/bin/ptm"
py="$PTM_VENV/bin/python"
peer="$PTM_ROOT/scripts/peers/generate_peer.py"
data="$PTM_ROOT/data"
tokenizer="$data/prepared/janeausten_bpe8k/tokenizer.json"
[[ -x "$ptm" ]] || ptm_die "$ptm is missing: build first (scripts/build.sh)"
[[ -x "$py" ]] || ptm_die "$py is missing: run scripts/setup.sh"
[[ -f "$tokenizer" ]] || ptm_die "$tokenizer is missing: run scripts/get-data.sh"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
awk 'NR >= 300 && NR <= 420 { for (i = 1; i <= NF; i++) w[n++] = $i }
     END { s = 0; for (p = 0; p < 8; p++) { len = 4 + 6 * p; line = "";
           for (k = 0; k < len; k++) line = line (k ? " " : "") w[s + k]; print line; s += len } }' \
  "$data/corpus/janeausten/emma.txt" > "$tmp/prompts.txt"
max_new=64

# One measurement as a JSON line like the peer's: prompt_tokens, new_tokens, seconds, prefill_seconds, ids.
ptm_run() {  # dir batch extra-args...
  local dir="$1" batch="$2"
  shift 2
  "$ptm" generate --hf "$dir" --prompts "$tmp/prompts.txt" --max-new-tokens "$max_new" --eos-id -1 \
    --batch-size "$batch" --threads "$threads" --json "$@" > "$tmp/ptm.jsonl" 2> "$tmp/ptm.err"
  "$py" - "$tmp/ptm.jsonl" "$tmp/ptm.err" <<'EOF'
import json, re, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
m = re.search(r"prefill (\d+) prompt tokens in ([0-9.]+) s .*decode (\d+) tokens in ([0-9.]+) s", open(sys.argv[2]).read())
print(json.dumps({"prompt_tokens": int(m[1]), "new_tokens": sum(l["new_tokens"] for l in lines),
                  "seconds": float(m[2]) + float(m[4]), "prefill_seconds": float(m[2]), "ids": [l["ids"] for l in lines]}))
EOF
}

echo
echo "Greedy generate, $max_new new tokens x 8 prompts, $threads thread(s), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg), medians of $rounds"
echo "| model | batch | ptm prefill tok/s | ptm decode tok/s | ptm new tok/s | transformers prefill tok/s | transformers decode tok/s | transformers new tok/s | ptm / transformers | ptm no cache new tok/s | same ids |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for arch in gpt2 llama; do
  "$py" "$peer" make "$arch" "$tmp/$arch" "$tokenizer"
  for batch in 1 8; do
    : > "$tmp/runs.jsonl"
    for ((r = 0; r < rounds; r++)); do
      {
        echo "{\"who\": \"ptm\", \"run\": $(ptm_run "$tmp/$arch" "$batch")}"
        echo "{\"who\": \"nocache\", \"run\": $(ptm_run "$tmp/$arch" "$batch" --no-kv-cache)}"
        echo "{\"who\": \"hf\", \"run\": $("$py" "$peer" run "$tmp/$arch" "$tmp/prompts.txt" "$max_new" "$batch" "$threads")}"
      } >> "$tmp/runs.jsonl"
    done
    "$py" - "$tmp/runs.jsonl" "$arch" "$batch" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
def med(who, f):
    return statistics.median(f(r["run"]) for r in runs if r["who"] == who)
prefill = lambda r: r["prompt_tokens"] / r["prefill_seconds"]
decode = lambda r: (r["new_tokens"] - len(r["ids"])) / (r["seconds"] - r["prefill_seconds"])
total = lambda r: r["new_tokens"] / r["seconds"]
ids = {r["who"]: r["run"]["ids"] for r in runs}
same = "yes" if ids["ptm"] == ids["hf"] == ids["nocache"] else "NO"
print(f"| {sys.argv[2]} | {sys.argv[3]} | {med('ptm', prefill):,.0f} | {med('ptm', decode):,.0f} | {med('ptm', total):,.0f} | "
      f"{med('hf', prefill):,.0f} | {med('hf', decode):,.0f} | {med('hf', total):,.0f} | "
      f"{med('ptm', total) / med('hf', total):.2f}x | {med('nocache', total):,.0f} | {same} |")
EOF
  done
done
