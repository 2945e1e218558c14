#!/usr/bin/env bash
# Every check that needs a GPU, in one run, for a short lease on a GPU machine, most important
# first, each stage capped so that the whole fits a deadline (PTM_GPU_DEADLINE seconds, default
# 540): build with CUDA (ptm, its CUDA kernels, the tests), `ptm info`, the [gpu] tests (each
# model forward and backward in bf16 against fp32 on the CPU; the fused loss and its kernel),
# the side-by-side GPT-2 124M benchmark against PyTorch eager and torch.compile, the same step
# data-parallel over NCCL (world size 1, and every GPU when there are several), ptm with the
# step in a CUDA graph (train.cuda_graph), short pretraining runs on CUDA on the real corpora
# (when their prepared data are present; GPT-2 on the Linux docs three times: fused classifier
# kernel on, off, and with the CUDA graph), `ptm generate` on CUDA against the CPU, ptm with
# the kernel off (PTM_FUSED_CLASSIFIER=0: the ATen path, A/B), the BERT benchmarks (MLM,
# fine-tuning, distillation;
# PTM_GPU_BERT_CASES narrows them, a regex), and per-kernel profiles of ptm (eager and
# graphed) and of the PyTorch peer (eager and compiled) at GPT-2 124M B=16.
#   bash scripts/gpu_checks.sh [OUT_DIR]        (default: $OUT, else ./gpu_results)
# PTM_GPU_STAGES (a regex over stage names) runs only the matching stages, after the build.
# The peer is ../shared/peer/gpt_peer.py, or $PTM_PEER. Stages that fail or run out of time are
# reported in summary.txt and the later ones still run. At most 8 files land in OUT_DIR.
set -uo pipefail
source "$(dirname "$0")/env.sh"
out="${1:-${OUT:-$PTM_ROOT/gpu_results}}"
mkdir -p "$out"
summary="$out/summary.txt"
work="$(mktemp -d)"  # bench JSONs, traces, run directories: packed into artifacts.tgz at the end
: >"$summary"
deadline=$(($(date +%s) + ${PTM_GPU_DEADLINE:-540}))
stage() {  # stage NAME CAP_S LOGFILE COMMAND...: runs it under min(CAP, time to the deadline)
  local name="$1" cap="$2" log="$3" start rc left
  shift 3
  if [[ -n "${PTM_GPU_STAGES:-}" && "$name" != build* && ! "$name" =~ $PTM_GPU_STAGES ]]; then
    echo "$name: not selected (PTM_GPU_STAGES)" >>"$summary"; return 1
  fi
  start=$(date +%s)
  left=$((deadline - start))
  ((left < cap)) && cap=$left
  if ((cap < 15)); then echo "$name: skipped (deadline)" | tee -a "$summary"; return 1; fi
  echo "== $name (at most $cap s): $*" >>"$log"
  timeout -k 5 "$cap" "$@" >>"$log" 2>&1
  rc=$?
  echo "$name: exit $rc$( ((rc == 124)) && echo ' (timed out)'), $(($(date +%s) - start)) s" | tee -a "$summary"
  return $rc
}
cd "$PTM_ROOT"
peer="${PTM_PEER:-$PTM_ROOT/../shared/peer/gpt_peer.py}"
py="$(command -v python3)"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader >>"$summary" 2>&1 || true
# CMake 4 refuses packages that still declare a minimum below 3.5; harmless on older CMake.
cmake_args=(-DCMAKE_POLICY_VERSION_MINIMUM=3.5)
stage build 330 "$out/build.log" bash scripts/build.sh "${cmake_args[@]}" ||
  PTM_BUILD_TARGET=ptm_cli stage build_ptm 200 "$out/build.log" bash scripts/build.sh "${cmake_args[@]}" ||
  { tail -40 "$out/build.log" >>"$summary"; exit 1; }
ptm="$PTM_BUILD_DIR/bin/ptm"
stage info 30 "$out/info.txt" "$ptm" info
"$ptm" info --model configs/models/gpt2_124m.yaml >>"$out/info.txt" 2>&1
if [[ -x "$PTM_BUILD_DIR/tests/ptm_tests" ]]; then
  stage gpu_tests 90 "$out/tests.txt" "$PTM_BUILD_DIR/tests/ptm_tests" "[gpu]"
  grep -E "test cases|assertions|FAILED|skipped" "$out/tests.txt" | tail -8 >>"$summary"
fi

stage bench_gpt2 240 "$out/bench.txt" bash scripts/bench_vs_pytorch.sh --device cuda --only 'GPT-2' --out "$work/bench_gpt2"
# Data parallel over NCCL at world size 1 against the plain step, back to back (the cost of the
# Reducer: bucket copies and the all-reduce); across every GPU when the machine has several.
for mode in plain ddp1 plain2 ddp1b; do
  if [[ $mode == plain* ]]; then launch=(); else launch=(launch --nproc 1 --); fi
  stage "ptm_b16_$mode" 45 "$out/bench.txt" "$ptm" "${launch[@]}" bench --config recipes/bench/gpt2_124m.yaml \
    --device cuda --batch 16 --warmup 5 --iters 20 --json "$work/ptm_b16_$mode.json"
  grep -E "^ +gpt2_124m" "$out/bench.txt" | tail -1 | sed "s/^/$mode /" >>"$summary"
done
ngpu=$(nvidia-smi -L 2>/dev/null | wc -l)
if ((ngpu > 1)); then
  stage "ptm_b16_ddp$ngpu" 60 "$out/bench.txt" "$ptm" launch --nproc "$ngpu" -- bench \
    --config recipes/bench/gpt2_124m.yaml --device cuda --batch 16 --warmup 5 --iters 20 --json "$work/ptm_b16_ddp$ngpu.json"
  grep -E "^ +gpt2_124m|data parallel" "$out/bench.txt" | tail -2 >>"$summary"
fi
# ptm with the whole step captured in a CUDA graph (train.cuda_graph), same shapes.
for b in 16 32; do
  stage "ptm_b${b}_cuda_graph" 45 "$out/bench.txt" "$ptm" bench --config recipes/bench/gpt2_124m.yaml \
    --device cuda --batch "$b" --warmup 5 --iters 20 --json "$work/ptm_b${b}_cuda_graph.json" train.cuda_graph=true
  grep -E "^ +gpt2_124m" "$out/bench.txt" | tail -1 >>"$summary"
done
# Short real-corpus runs on CUDA (the data travel only when the caller brings them).
if [[ -f data/prepared/linux_doc_bpe16k/manifest.json ]]; then
  stage pretrain_gpt2 90 "$out/runs.txt" "$ptm" pretrain --config recipes/pretrain/gpt2_124m.yaml --device cuda \
    --run-dir "$work/gpt2_124m_cuda" train.max_steps=200 train.eval_every=100 train.save_every=200 train.log_every=20
  # The same run with the loss as ATen ops: do the two paths train alike beyond GPU noise?
  PTM_FUSED_CLASSIFIER=0 stage pretrain_gpt2_kernel_off 90 "$out/runs.txt" "$ptm" pretrain \
    --config recipes/pretrain/gpt2_124m.yaml --device cuda --run-dir "$work/gpt2_124m_cuda_kernel_off" \
    train.max_steps=200 train.eval_every=100 train.save_every=200 train.log_every=20
  stage pretrain_gpt2_cuda_graph 90 "$out/runs.txt" "$ptm" pretrain --config recipes/pretrain/gpt2_124m.yaml \
    --device cuda --run-dir "$work/gpt2_124m_cuda_graph" train.max_steps=200 train.eval_every=100 \
    train.save_every=200 train.log_every=20 train.cuda_graph=true
fi
if [[ -f data/prepared/janeausten_bpe8k/manifest.json ]]; then
  stage pretrain_tiny 60 "$out/runs.txt" "$ptm" pretrain --config recipes/pretrain/gpt_tiny.yaml --device cuda \
    --run-dir "$work/gpt_tiny_cuda" train.max_steps=200 train.eval_every=100
fi
grep -hE "eval step|cuda graph" "$out/runs.txt" 2>/dev/null | tail -10 >>"$summary"
# ptm generate on CUDA (issue 22): the tiny run's greedy continuations of a left-padded batch,
# with and without the KV cache, against the same on the CPU (fp32 both: the ids should agree).
if [[ -d "$work/gpt_tiny_cuda/checkpoints" ]]; then
  printf '%s\n' "It is a truth universally acknowledged" "Emma Woodhouse, handsome, clever, and rich" "The" \
    >"$work/prompts.txt"
  for dev in cuda cpu; do
    for cache in kv_cache no_kv_cache; do
      flag=(); [[ $cache == no_kv_cache ]] && flag=(--no-kv-cache)
      stage "generate_${dev}_$cache" 40 "$out/runs.txt" bash -c '"$@" >"'"$work/generate_${dev}_$cache.jsonl"'"' _ \
        "$ptm" generate --from "$work/gpt_tiny_cuda" --prompts "$work/prompts.txt" --max-new-tokens 32 \
        --device "$dev" "${flag[@]}" --json
    done
  done
  "$py" - "$work" >>"$summary" 2>&1 <<'PY'
import json, sys, pathlib
runs = {p.stem: [json.loads(l) for l in p.read_text().splitlines() if l.strip()]
        for p in sorted(pathlib.Path(sys.argv[1]).glob("generate_*.jsonl"))}
ids = {k: [r["ids"] for r in v] for k, v in runs.items()}
ref = ids.get("generate_cpu_no_kv_cache")
for k, v in ids.items():
    rate = ", ".join(f'{r["tokens_per_s"]:.0f}' for r in runs[k])
    print(f"{k}: {len(v)} prompts, ids equal to the CPU without cache: {v == ref}; tokens/s {rate}")
PY
fi
# A/B: the same ptm benchmark with the fused classifier kernel off (ATen ops for the loss).
for b in 16 32; do
  PTM_FUSED_CLASSIFIER=0 stage "ptm_b${b}_kernel_off" 40 "$out/bench.txt" "$ptm" bench --config recipes/bench/gpt2_124m.yaml \
    --device cuda --batch "$b" --warmup 5 --iters 20 --json "$work/ptm_b${b}_kernel_off.json"
  grep -E "^ +gpt2_124m" "$out/bench.txt" | tail -1 >>"$summary"
done
stage bench_bert 200 "$out/bench.txt" bash scripts/bench_vs_pytorch.sh --device cuda --only "${PTM_GPU_BERT_CASES:-BERT|distill}" --out "$work/bench_bert"
# The fine-tuning step (B=32 T=128: little work per kernel launch) with the step in a CUDA graph.
stage ptm_cls_cuda_graph 45 "$out/bench.txt" "$ptm" bench --config recipes/bench/bert_base_cls.yaml --device cuda \
  --warmup 5 --iters 20 --json "$work/ptm_cls_cuda_graph.json" train.cuda_graph=true
grep -E "^ +bert_base_cls" "$out/bench.txt" | tail -1 >>"$summary"
# Distillation (the teacher's forward inside the step) with the graph, when bench_bert made the teacher.
if [[ -d "$work/bench_bert/teacher" ]]; then
  stage ptm_distill_cuda_graph 45 "$out/bench.txt" "$ptm" bench --config recipes/bench/distill_bert_base_to_l6.yaml \
    --device cuda --warmup 5 --iters 20 --json "$work/ptm_distill_cuda_graph.json" \
    objective.teacher.checkpoint="$work/bench_bert/teacher" train.cuda_graph=true
  grep -E "^ +distill" "$out/bench.txt" | tail -1 >>"$summary"
fi

# Per-kernel profiles, 3 steps each, same shapes: ptm, then the peer eager and compiled.
prof="$out/profile.txt"
stage profile_ptm 60 "$prof" "$ptm" bench --config recipes/bench/gpt2_124m.yaml --device cuda --batch 16 \
  --warmup 3 --iters 3 --profile "$work/ptm_b16.trace.json" &&
  "$py" scripts/peers/trace_top.py "$work/ptm_b16.trace.json" --steps 3 >>"$prof" 2>&1
stage profile_ptm_graph 60 "$prof" "$ptm" bench --config recipes/bench/gpt2_124m.yaml --device cuda --batch 16 \
  --warmup 4 --iters 3 --profile "$work/ptm_b16_graph.trace.json" train.cuda_graph=true &&
  "$py" scripts/peers/trace_top.py "$work/ptm_b16_graph.trace.json" --steps 3 >>"$prof" 2>&1
stage profile_ptm_cls 60 "$prof" "$ptm" bench --config recipes/bench/bert_base_cls.yaml --device cuda \
  --warmup 3 --iters 3 --profile "$work/ptm_cls.trace.json" &&
  "$py" scripts/peers/trace_top.py "$work/ptm_cls.trace.json" --steps 3 >>"$prof" 2>&1
stage profile_eager 60 "$prof" "$py" scripts/peers/profile_gpt_peer.py "$peer" --batch 16 --trace "$work/eager_b16.trace.json" &&
  "$py" scripts/peers/trace_top.py "$work/eager_b16.trace.json" --steps 3 >>"$prof" 2>&1
stage profile_compile 120 "$prof" "$py" scripts/peers/profile_gpt_peer.py "$peer" --batch 16 --compile --trace "$work/compile_b16.trace.json" &&
  "$py" scripts/peers/trace_top.py "$work/compile_b16.trace.json" --steps 3 >>"$prof" 2>&1

gzip -f "$work"/*.trace.json 2>/dev/null
find "$work" -name '*.safetensors' -delete -o -name '*.pt' -delete 2>/dev/null
tar -czf "$out/artifacts.tgz" -C "$work" . 2>>"$summary"
grep -B 3 -A 12 "^| case" "$out/bench.txt" >>"$summary" 2>/dev/null || tail -30 "$out/bench.txt" >>"$summary"
cat "$summary"
