#!/usr/bin/env bash
# Single-thread tokenizer encode speed: ptm vs Hugging Face `tokenizers` on the same text and
# machine, line by line (Python: a loop of Tokenizer.encode, TOKENIZERS_PARALLELISM=false; the
# last column is one encode_batch call over all lines, also on one thread, for reference).
# Tokenizers: MiniLM's WordPiece (data/models/minilm) and byte-level BPEs trained by ptm on
# Emma (vocab 4096) and on all six novels (vocab 16384), exported as tokenizer.json.
#
# Usage: scripts/bench_tokenizer.sh [FILE...]
#   default FILE: the whole corpus (data/corpus/janeausten, data/corpus/linux-doc, review texts)
#   needs: scripts/get-data.sh, scripts/setup.sh, and a build with tests/bench (scripts/build.sh)
set -euo pipefail
source "$(dirname "$0")/env.sh"

bench="$PTM_BUILD_DIR/bin/ptm_tokenizer_bench"
py="$PTM_VENV/bin/python"
data="$PTM_ROOT/data"
[[ -x "$bench" ]] || ptm_die "$bench is missing: build first (scripts/build.sh)"
[[ -x "$py" ]] || ptm_die "$py is missing: run scripts/setup.sh"
[[ -f "$data/models/minilm/tokenizer.json" ]] || ptm_die "no data in $data: run scripts/get-data.sh"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then
  {
    cat "$data"/corpus/janeausten/*.txt
    find "$data/corpus/linux-doc" -type f ! -name '.*' | LC_ALL=C sort | xargs cat
    tail -n +2 "$data/reviews/train.tsv" | cut -f1
  } > "$tmp/corpus.txt"
  files=("$tmp/corpus.txt")
fi
cat "$data"/corpus/janeausten/*.txt > "$tmp/austen.txt"

ptm_log "training the byte-level BPEs (ptm) and exporting them for tokenizers"
"$bench" "train:4096:$data/corpus/janeausten/emma.txt" "$tmp/austen.txt" --save-trained "$tmp/bpe4k.json" >/dev/null
"$bench" "train:16384:$tmp/austen.txt" "$tmp/austen.txt" --save-trained "$tmp/bpe16k.json" >/dev/null

row() {  # name tokenizer.json
  local ptm_line hf_line hf_batch
  ptm_line="$("$bench" "$2" "${files[@]}" | tail -1)"
  hf_line="$(TOKENIZERS_PARALLELISM=false "$py" "$PTM_ROOT/tests/golden/tokenizer_bench.py" "$2" "${files[@]}" | tail -1)"
  hf_batch="$(TOKENIZERS_PARALLELISM=false "$py" "$PTM_ROOT/tests/golden/tokenizer_bench.py" "$2" "${files[@]}" --batch | tail -1)"
  awk -v name="$1" -v p="$ptm_line" -v h="$hf_line" -v hb="$hf_batch" 'BEGIN {
    split(p, a, " "); split(h, b, " "); split(hb, c, " ");
    same = (a[7] == b[7] && a[7] == c[7]) ? "yes" : "NO";
    printf "| %-18s | %6s | %9s | %8.2f | %15.2f | %6.1fx | %-6s | %21.2f |\n", name, a[3], a[7], a[11], b[11], a[11] / b[11], same, c[11]
  }'
}

echo
echo "Single-thread encode, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "| tokenizer          |     MB |    tokens | ptm MB/s | tokenizers MB/s |   ratio | same   | tokenizers batch MB/s |"
echo "|--------------------|--------|-----------|----------|-----------------|---------|--------|-----------------------|"
row "MiniLM WordPiece" "$data/models/minilm/tokenizer.json"
row "byte BPE 4k (ptm)" "$tmp/bpe4k.json"
row "byte BPE 16k (ptm)" "$tmp/bpe16k.json"
