#!/usr/bin/env bash
# `ptm bench` against the PyTorch references on this machine, in one go: alternating runs (so
# both see the same machine state), medians over rounds, a Markdown ratio table at the end.
#   GPU: GPT-2 124M, T=1024, B=16 and B=32: ptm (bf16) vs ../shared/peer/gpt_peer.py eager and
#        --compile (same vocabulary, 50257); BERT-base MLM, T=512, B=32: ptm vs
#        scripts/peers/bert_peer.py (transformers BertForMaskedLM, eager), all positions scored
#        and real 15% masking (ptm scores masked positions only; HF computes every logit)
#        A BERT-base fine-tuning step (classification, T=128, B=32) vs BertForSequenceClassification,
#        and a distillation step (BERT-base teacher -> MiniLM-L6-shaped student, T=128, B=32) vs the
#        same loop in transformers (bert_peer.py --task cls / distill).
#   CPU: gpt_tiny, T=256, B=8 (eager and compile); BERT L4/H256 MLM, T=64, B=8 (both maskings);
#        BERT L4/H256 fine-tuning and L4/H256 -> L2/H128 distillation, T=64, B=8
# Usage: scripts/bench_vs_pytorch.sh [--device cpu|cuda] [--rounds N] [--no-compile] [--out DIR]
#        [--only REGEX]   (only the cases whose label matches, e.g. --only 'fine-tune|distill')
# Needs scripts/build.sh (PTM_BUILD_DIR) and a Python with torch (the venv when present, else
# python3); without transformers the BERT peer is skipped with a message.
set -euo pipefail
source "$(dirname "$0")/env.sh"
device="" rounds="" compile=1 out="" only=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --no-compile) compile=0; shift ;;
    --out) out="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    *) ptm_die "unknown argument '$1' (usage: see the header of $0)" ;;
  esac
done
ptm="$PTM_BUILD_DIR/bin/ptm"
py="$PTM_VENV/bin/python"
[[ -x "$py" ]] || py="$(command -v python3)"
gpt_peer="${PTM_PEER:-$PTM_ROOT/../shared/peer/gpt_peer.py}"
bert_peer="$PTM_ROOT/scripts/peers/bert_peer.py"
[[ -x "$ptm" ]] || ptm_die "build first: scripts/build.sh (no $ptm)"
[[ -f "$gpt_peer" ]] || ptm_die "PyTorch peer not found at $gpt_peer (set PTM_PEER)"
[[ -n "$device" ]] || device=$("$py" -c 'import torch;print("cuda" if torch.cuda.is_available() else "cpu")')
out="${out:-$(mktemp -d)}"
mkdir -p "$out"
# Peer results are appended per round: results of an earlier run in the same folder would mix in.
rm -f "$out"/c*_eager.jsonl* "$out"/c*_compile.jsonl* "$out"/c*_ptm_r*.json "$out"/labels.txt
cd "$PTM_ROOT"

# Cases: label | ptm bench arguments | peer command (| compile: 1 to add a --compile peer run)
labels=() ptm_args=() peer_cmds=() compiles=()
add() { labels+=("$1"); ptm_args+=("$2"); peer_cmds+=("$3"); compiles+=("$4"); }
if [[ "$device" == cuda* ]]; then
  rounds="${rounds:-1}"
  for b in 16 32; do
    add "GPT-2 124M B=$b T=1024" "--config recipes/bench/gpt2_124m.yaml --device $device --batch $b --warmup 5 --iters 20" \
        "$gpt_peer --device cuda --batch $b --seq 1024 --vocab 50257 --warmup 5 --steps 20" 1
  done
  add "BERT-base MLM B=32 T=512" "--config recipes/bench/bert_base.yaml --device $device --warmup 5 --iters 20" \
      "$bert_peer --device cuda --batch 32 --seq 512 --warmup 5 --steps 20" 0
  add "BERT-base fine-tune B=32 T=128" "--config recipes/bench/bert_base_cls.yaml --device $device --warmup 5 --iters 20" \
      "$bert_peer --device cuda --task cls --batch 32 --seq 128 --warmup 5 --steps 20" 0
  add "distill BERT-base -> L6/H384 B=32 T=128" "--config recipes/bench/distill_bert_base_to_l6.yaml --device $device --warmup 5 --iters 20 objective.teacher.checkpoint=$out/teacher" \
      "$bert_peer --device cuda --task distill --batch 32 --seq 128 --warmup 5 --steps 20" 0
  teacher_args=(--device "$device")
  if [[ -f data/models/minilm/vocab.txt ]]; then
    add "BERT-base MLM 15% B=32 T=512" "--config recipes/bench/bert_base_mlm15.yaml --device $device --warmup 5 --iters 20" \
        "$bert_peer --device cuda --batch 32 --seq 512 --warmup 5 --steps 20 --mask-rate 0.15" 0
  fi
else
  rounds="${rounds:-3}"
  add "gpt_tiny B=8 T=256" "--config recipes/bench/gpt_tiny_cpu.yaml --device cpu --warmup 3 --iters 10" \
      "$gpt_peer --device cpu --layers 4 --d-model 128 --heads 4 --seq 256 --batch 8 --vocab 8192 --warmup 3 --steps 10" 1
  add "BERT L4/H256 MLM B=8 T=64" "--config recipes/bench/bert_base.yaml --device cpu --batch 8 --seq 64 --warmup 2 --iters 5 model.num_hidden_layers=4 model.hidden_size=256 model.num_attention_heads=4 model.intermediate_size=1024" \
      "$bert_peer --device cpu --layers 4 --hidden 256 --heads 4 --intermediate 1024 --batch 8 --seq 64 --warmup 2 --steps 5" 0
  small="model.num_hidden_layers=4 model.hidden_size=256 model.num_attention_heads=4 model.intermediate_size=1024"
  add "BERT L4/H256 fine-tune B=8 T=64" "--config recipes/bench/bert_base_cls.yaml --device cpu --batch 8 --seq 64 --warmup 2 --iters 5 $small" \
      "$bert_peer --device cpu --task cls --layers 4 --hidden 256 --heads 4 --intermediate 1024 --batch 8 --seq 64 --warmup 2 --steps 5" 0
  add "distill L4/H256 -> L2/H128 B=8 T=64" "--config recipes/bench/distill_bert_base_to_l6.yaml --device cpu --batch 8 --seq 64 --warmup 2 --iters 5 objective.teacher.checkpoint=$out/teacher model.num_hidden_layers=2 model.hidden_size=128 model.num_attention_heads=2 model.intermediate_size=512" \
      "$bert_peer --device cpu --task distill --layers 4 --hidden 256 --heads 4 --intermediate 1024 --student-layers 2 --student-hidden 128 --student-heads 2 --student-intermediate 512 --batch 8 --seq 64 --warmup 2 --steps 5" 0
  # shellcheck disable=SC2206
  teacher_args=(--device cpu train.batch_size=8 data.seq_len=64 $small)
  if [[ -f data/models/minilm/vocab.txt ]]; then
    add "BERT L4/H256 MLM 15% B=8 T=64" "--config recipes/bench/bert_base_mlm15.yaml --device cpu --batch 8 --seq 64 --warmup 2 --iters 5 model.num_hidden_layers=4 model.hidden_size=256 model.num_attention_heads=4 model.intermediate_size=1024" \
        "$bert_peer --device cpu --layers 4 --hidden 256 --heads 4 --intermediate 1024 --batch 8 --seq 64 --warmup 2 --steps 5 --mask-rate 0.15" 0
  fi
fi

if [[ -n "$only" ]]; then  # keep the cases whose label matches --only
  keep=()
  for i in "${!labels[@]}"; do [[ "${labels[$i]}" =~ $only ]] && keep+=("$i"); done
  ((${#keep[@]} > 0)) || ptm_die "--only '$only' matches no case"
  l=() a=() c=() k=()
  for i in "${keep[@]}"; do l+=("${labels[$i]}") a+=("${ptm_args[$i]}") c+=("${peer_cmds[$i]}") k+=("${compiles[$i]}"); done
  labels=("${l[@]}") ptm_args=("${a[@]}") peer_cmds=("${c[@]}") compiles=("${k[@]}")
fi
# The distillation case's teacher: one step of the fine-tuning case's model (its weights do not
# change the timing).
if [[ " ${labels[*]} " == *distill* ]]; then
  "$ptm" finetune --config recipes/bench/bert_base_cls.yaml --run-dir "$out/teacher" --overwrite --log-level warn \
    train.max_steps=1 train.eval_every=0 train.eval_batches=1 train.save_every=0 "${teacher_args[@]}" >/dev/null
fi

peer() {  # peer() FILE CMD...: appends the peer's JSON line to FILE; notes a skip or failure
  local file="$1" rc=0
  shift
  "$py" "$@" >"$file.tmp" 2>"$file.err" || rc=$?
  if [[ $rc -eq 3 ]]; then echo '{"skipped": "transformers not installed"}' >>"$file"; ptm_log "$(cat "$file.err")"
  elif [[ $rc -ne 0 ]]; then echo '{"failed": true}' >>"$file"; ptm_log "peer failed ($*): $(tail -2 "$file.err")"
  else tail -1 "$file.tmp" >>"$file"; fi
}

for ((r = 1; r <= rounds; r++)); do
  for i in "${!labels[@]}"; do
    ptm_log "round $r/$rounds: ${labels[$i]}"
    # shellcheck disable=SC2086
    "$ptm" bench ${ptm_args[$i]} --log-level warn --json "$out/c${i}_ptm_r$r.json" >/dev/null
    # shellcheck disable=SC2086
    peer "$out/c${i}_eager.jsonl" ${peer_cmds[$i]}
    # shellcheck disable=SC2086
    if [[ $compile == 1 && ${compiles[$i]} == 1 ]]; then peer "$out/c${i}_compile.jsonl" ${peer_cmds[$i]} --compile; fi
  done
done

printf '%s\n' "${labels[@]}" >"$out/labels.txt"
"$py" - "$out" "$rounds" "$device" <<'PY'
import glob, json, os, statistics, sys
out, rounds, device = sys.argv[1], int(sys.argv[2]), sys.argv[3]
labels = open(os.path.join(out, "labels.txt")).read().splitlines()
def med(xs): return statistics.median(xs) if xs else None
def peers(path):  # (median tokens/s, median peak GiB, note, tokens/s per round)
    if not os.path.exists(path): return None, None, "not run", []
    recs = [json.loads(l) for l in open(path) if l.strip()]
    ok = [r for r in recs if "tokens_per_s" in r]
    if not ok: return None, None, "skipped" if any("skipped" in r for r in recs) else "failed", []
    mem = [r["peak_mem_gb"] for r in ok if r.get("peak_mem_gb") is not None]
    tps = [r["tokens_per_s"] for r in ok]
    return med(tps), med(mem), "", tps
env = None
rows, rounds_lines = [], []
for i, label in enumerate(labels):
    files = glob.glob(os.path.join(out, f"c{i}_ptm_r*.json"))  # in round order (r10 after r9)
    files.sort(key=lambda f: int(f.rsplit("_r", 1)[1].split(".")[0]))
    res = [json.load(open(f)) for f in files]
    env = env or res[0]["environment"]
    p_r = [x["results"][0]["throughput"] for x in res]  # per round, in order
    p_tps = med(p_r)
    mem = [x["results"][0]["peak_memory_bytes"] / 2**30 for x in res if x["results"][0]["peak_memory_bytes"]]
    p_mem = med(mem) if device.startswith("cuda") else None
    e_tps, e_mem, e_note, e_r = peers(os.path.join(out, f"c{i}_eager.jsonl"))
    c_tps, c_mem, c_note, _ = peers(os.path.join(out, f"c{i}_compile.jsonl"))
    f = lambda v, n="": f"{v:,.0f}" if v else (n or "-")
    r = lambda a, b: f"**{a / b:.2f}x**" if a and b else "-"
    g = lambda v: f"{v:.2f} GiB" if v else "-"
    # Per round, and the median of per-round ratios: on a machine whose speed drifts between
    # rounds, the paired ratio is steadier than the ratio of the two medians.
    if e_r and len(e_r) == len(p_r):
        paired = med([a / b for a, b in zip(p_r, e_r)])
        rounds_lines.append(f"- {label}: ptm {', '.join(f'{v:,.0f}' for v in p_r)}; eager "
                            f"{', '.join(f'{v:,.0f}' for v in e_r)}; median of per-round ratios {paired:.2f}x")
    rows.append(f"| {label} | {f(p_tps)} | {f(e_tps, e_note)} | {f(c_tps, c_note)} | {r(p_tps, e_tps)} | {r(p_tps, c_tps)} | {g(p_mem)} | {g(e_mem)} |")
dev = ", ".join(d["name"] for d in env["cuda"]["devices"]) if device.startswith("cuda") else env["cpu"]["model"]
print(f"\nptm {env['ptm']['version']} (git {env['ptm']['git_revision']}), torch {env['torch']['version']}, "
      f"{dev}, {env['cpu']['intra_op_threads']} CPU threads; medians of {rounds} round(s); tokens/s\n")
print("| case | ptm | PyTorch eager | torch.compile | ptm / eager | ptm / compile | ptm peak mem | eager peak mem |")
print("|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
if rounds_lines:
    print("\nPer round (tokens/s, in order):")
    print("\n".join(rounds_lines))
PY
ptm_log "raw results in $out"
