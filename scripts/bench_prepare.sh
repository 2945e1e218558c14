#!/usr/bin/env bash
# `ptm data prepare` at corpus scale (issue 23, "Measured"): for each size, generates a JSONL
# corpus from the real corpora (repeated with 20% of words replaced, planted near duplicates;
# scripts/data/bench_corpus.py), prepares it (16k BPE trained on 8 MB, shards) under
# /usr/bin/time -v for wall time and peak RSS, encodes the same documents with Hugging Face
# `tokenizers` encode_batch on the same threads, prepares it again with MinHash deduplication
# and scores the dropped documents against the planted ones. Prints a Markdown table for
# BENCHMARKS.md; every file (corpora, outputs, logs, JSON results) stays in the work folder.
#
# Usage: scripts/bench_prepare.sh [--sizes 100,1000] [--threads 2] [--memory-mb 256]
#          [--work DIR] [--ptm PATH] [--seed 1] [--hf-mb N] [--no-hf] [--no-dedup]
#   --sizes    MB of text per corpus (default 100,1000; the 1 GB one needs ~2 GB of disk)
#   --hf-mb    encode only the first N MB with tokenizers (~1.7 MB/s on 2 slow cores; 0 = all)
#   --work     default $PTM_CACHE/bench/prepare; corpora are kept and reused when unchanged
#   needs: scripts/get-data.sh (linux-doc, janeausten), a build (scripts/build.sh), the venv
#   (scripts/setup.sh); installs Debian `time` and PyPI `tokenizers` into $PTM_VENV if missing
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"

sizes=100,1000 threads=2 memory_mb=256 seed=1 hf=1 hf_mb=0 dedup=1
work="$PTM_CACHE/bench/prepare"
ptm="$PTM_BUILD_DIR/bin/ptm"
while (($#)); do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --memory-mb) memory_mb="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --ptm) ptm="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --hf-mb) hf_mb="$2"; shift 2 ;;
    --no-hf) hf=0; shift ;;
    --no-dedup) dedup=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) ptm_die "unknown argument '$1' (see --help)" ;;
  esac
done

py="$PTM_VENV/bin/python"
helper="$PTM_ROOT/scripts/data/bench_corpus.py"
[[ -x "$ptm" ]] || ptm_die "$ptm is missing: build first (scripts/build.sh) or pass --ptm"
[[ -x "$py" ]] || ptm_die "$py is missing: run scripts/setup.sh"
[[ -d "$PTM_ROOT/data/corpus/linux-doc" && -d "$PTM_ROOT/data/corpus/janeausten" ]] ||
  ptm_die "no corpora in $PTM_ROOT/data/corpus: run scripts/get-data.sh linux-doc janeausten"
[[ -x /usr/bin/time ]] || ptm_apt_install time
"$py" -c 'import numpy' 2>/dev/null || ptm_die "numpy is missing from $PTM_VENV: run scripts/setup.sh"
if ((hf || dedup)) && ! "$py" -c 'import tokenizers' 2>/dev/null; then
  ptm_log "installing tokenizers into $PTM_VENV"
  "$py" -m pip install -q tokenizers
fi
ptm="$(realpath "$ptm")"
mkdir -p "$work"
work="$(realpath "$work")"

# The process's own peak RSS (libtorch and friends) on a 0.1 MB corpus, to read the others against.
"$py" "$helper" gen --out "$work/corpus_baseline" --mb 0.1 --seed "$seed" --corpus "$PTM_ROOT/data/corpus"
"$py" "$helper" prepare --ptm "$ptm" --corpus "$work/corpus_baseline" --out "$work/out_baseline" \
  --threads "$threads" --memory-mb "$memory_mb" --vocab 1024 --json "$work/baseline.json"

results=()
IFS=, read -ra size_list <<<"$sizes"
for mb in "${size_list[@]}"; do
  corpus="$work/corpus_${mb}mb" out="$work/out_${mb}mb"
  ptm_log "$mb MB: corpus"
  "$py" "$helper" gen --out "$corpus" --mb "$mb" --seed "$seed" --corpus "$PTM_ROOT/data/corpus"
  ptm_log "$mb MB: ptm data prepare ($threads threads, memory_mb $memory_mb)"
  "$py" "$helper" prepare --ptm "$ptm" --corpus "$corpus" --out "$out" --threads "$threads" \
    --memory-mb "$memory_mb" --json "$out.json"
  extra=()
  if ((hf)); then
    ptm_log "$mb MB: tokenizers encode_batch ($threads threads)"
    "$py" "$helper" hf --tokenizer "$out/tokenizer.json" --corpus "$corpus" --threads "$threads" \
      --mb "$hf_mb" --json "$out.hf.json"
    extra+=(--hf "$out.hf.json")
  fi
  cp "$out/tokenizer.json" "$out.tokenizer.json"
  rm -rf "$out"  # the shards: not needed again, and 1 GB of text gives ~0.5 GB of them
  if ((dedup)); then
    ptm_log "$mb MB: ptm data prepare with deduplication"
    "$py" "$helper" prepare --ptm "$ptm" --corpus "$corpus" --out "${out}_dedup" --threads "$threads" \
      --memory-mb "$memory_mb" --dedup --json "${out}_dedup.json"
    "$py" "$helper" survivors --prepared "${out}_dedup" --corpus "$corpus" --json "${out}_dedup.survivors.json"
    rm -rf "${out}_dedup"
    extra+=(--dedup-prepare "${out}_dedup.json" --survivors "${out}_dedup.survivors.json")
  fi
  "$py" "$helper" collect --corpus "$corpus" --prepare "$out.json" --baseline "$work/baseline.json" \
    "${extra[@]}" --out "$work/result_${mb}mb.json"
  results+=("$work/result_${mb}mb.json")
done

echo
echo "$("$ptm" --version), $(date -u +%F);" \
  "command: scripts/bench_prepare.sh --sizes $sizes --threads $threads --memory-mb $memory_mb --hf-mb $hf_mb"
"$py" "$helper" report "${results[@]}" | tee "$work/report.md"
