#!/usr/bin/env python3
"""GPT training-step throughput on the CPU across shapes: ptm bench vs the PyTorch eager peer.

Each shape changes one axis of a base model (depth, width, vocabulary, sequence length, batch),
so a shortfall points at its cause. ptm and the peer run the same model, batch and AdamW step
(fp32, no clipping), alternating in every round and swapping order between rounds, so both see
the same machine state. Prints a Markdown table and can write every raw run as JSON lines.

Shared hosts change speed by several times within tens of seconds, so runs are short and
paired: the table gives the median of the per-round ratios (each round's ptm run against the
peer run next to it) and the ratio of each side's best run (interference only slows a run down).

  bash scripts/bench_cpu_shapes.sh [--rounds 5] [--only base,vocab_8192] [--raw runs.jsonl]
  bash scripts/bench_cpu_shapes.sh --profile [--only ...]

--profile instead splits each side's step into matrix products, attention and the rest (ptm:
its bench --profile trace; the peer: scripts/peers/profile_gpt_peer.py --split) and prints the bound
that the peer's own products and attention put on any speed-up over it.
"""
import argparse, collections, json, os, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts/peers"))
from gpt_phases import self_times  # noqa: E402
from profile_gpt_peer import op_group  # noqa: E402  (the same split on both sides)

# name, layers, width, heads, vocab, seq, batch. The base: 4 x 256, a vocabulary that is not a
# multiple of 64, T=256, B=8. Heads keep 64 dims per head except where width is the point.
BASE = dict(layers=4, width=256, heads=4, vocab=8000 + 1, seq=256, batch=8)
VARIANTS = [
    ("base", {}),
    ("depth_2", dict(layers=2)),
    ("depth_12", dict(layers=12)),
    ("width_128", dict(width=128, heads=2)),
    ("width_512", dict(width=512, heads=8)),
    ("vocab_8192", dict(vocab=8192)),
    ("vocab_50257", dict(vocab=50257)),
    ("seq_64", dict(seq=64)),
    ("seq_512", dict(seq=512)),
    ("batch_1", dict(batch=1)),
    ("batch_32", dict(batch=32)),
    ("deep_wide", dict(layers=8, width=512, heads=8, vocab=12345)),
]


def flops_per_step(s):
    # 6 N per token for the weights (tied head counted once, as the matmul it is) plus attention.
    d, L, V, T = s["width"], s["layers"], s["vocab"], s["seq"]
    n = L * 12 * d * d + V * d
    return s["batch"] * T * (6 * n + 12 * L * d * T)


def timed_iters(s, target_s, rate=1.2e11):
    # Enough steps for about target_s seconds at a conservative rate; at least 3.
    return max(3, min(30, int(target_s * rate / flops_per_step(s))))


def ptm_command(ptm, s, iters, threads):
    return [ptm, "bench", "--config", os.path.join(ROOT, "recipes/bench/gpt_tiny_cpu.yaml"),
           f"model.n_layer={s['layers']}", f"model.n_embd={s['width']}", f"model.n_head={s['heads']}",
           f"model.vocab_size={s['vocab']}", f"model.n_positions={s['seq']}",
           f"data.vocab_size={s['vocab']}", f"data.seq_len={s['seq']}",
           "--batch", str(s["batch"]), "--seq", str(s["seq"]), "--warmup", "2", "--iters", str(iters),
           "--threads", str(threads), "--log-level", "warn", "--json", "-"]


def run_ptm(ptm, s, iters, threads):
    out = subprocess.run(ptm_command(ptm, s, iters, threads), check=True, capture_output=True, text=True).stdout
    r = json.loads(out)["results"][0]
    return {"tokens_per_s": r["throughput"], "ms_per_step": r["step_ms"]["p50"]}




def trace_split(path, steps):
    """Self time per step (ms) of a Kineto trace's CPU ops: matmul, attention, other."""
    events = [e for e in json.load(open(path))["traceEvents"] if e.get("cat") == "cpu_op"]
    split = collections.Counter()
    for name, us in self_times(events)[0].items():
        split[op_group(name)] += us
    return {k: split[k] / 1e3 / steps for k in ("matmul", "attention", "other")}


def profile_ptm(ptm, s, iters, threads):
    with tempfile.TemporaryDirectory() as d:
        trace = os.path.join(d, "trace.json")
        subprocess.run(ptm_command(ptm, s, iters, threads)[:-2] + ["--profile", trace], check=True, capture_output=True)
        return trace_split(trace, iters)


def profile_peer(py, peer, s, iters, threads):
    cmd = [py, os.path.join(ROOT, "scripts/peers/profile_gpt_peer.py"), peer, "--device", "cpu", "--split",
           "--layers", str(s["layers"]), "--d-model", str(s["width"]), "--heads", str(s["heads"]), "--vocab",
           str(s["vocab"]), "--seq", str(s["seq"]), "--batch", str(s["batch"]), "--warmup", "2", "--steps", str(iters),
           "--threads", str(threads)]
    r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    return {k: r[f"{k}_ms"] for k in ("matmul", "attention", "other")}


def print_profiles(a, shapes):
    print("| shape | ptm matmul / attention / other ms | peer matmul / attention / other ms | ptm step vs peer | bound: peer / (its matmul + attention) |")
    print("|---|---|---|---|---|")
    for name, s in shapes:
        iters = timed_iters(s, a.seconds)
        pt = profile_ptm(a.ptm, s, iters, a.threads)
        pe = profile_peer(sys.executable, a.peer, s, iters, a.threads)
        tp, tq = sum(pt.values()), sum(pe.values())
        print(f"| {name} | {pt['matmul']:.0f} / {pt['attention']:.0f} / {pt['other']:.0f} | "
              f"{pe['matmul']:.0f} / {pe['attention']:.0f} / {pe['other']:.0f} | {tq / tp:.2f}x | "
              f"{tq / (pe['matmul'] + pe['attention']):.2f}x |", flush=True)


def run_peer(py, peer, s, iters, threads):
    cmd = [py, peer, "--device", "cpu", "--layers", str(s["layers"]), "--d-model", str(s["width"]),
           "--heads", str(s["heads"]), "--vocab", str(s["vocab"]), "--seq", str(s["seq"]),
           "--batch", str(s["batch"]), "--warmup", "2", "--steps", str(iters), "--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return {"tokens_per_s": r["tokens_per_s"], "ms_per_step": r["ms_per_step"]}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ptm", default=os.path.join(os.environ.get("PTM_BUILD_DIR", os.path.join(ROOT, "build")), "bin/ptm"))
    p.add_argument("--peer", default=os.environ.get("PTM_PEER", os.path.join(ROOT, "../shared/peer/gpt_peer.py")))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seconds", type=float, default=2.0, help="timed seconds per run, about")
    p.add_argument("--only", default="", help="comma-separated shape names")
    p.add_argument("--raw", default="", help="append every run here as a JSON line")
    p.add_argument("--profile", action="store_true", help="print where each side's step goes instead")
    a = p.parse_args()
    for path, what in ((a.ptm, "ptm (build first: scripts/build.sh)"), (a.peer, "the peer (set PTM_PEER)")):
        if not os.path.exists(path):
            sys.exit(f"bench_cpu_shapes: {what} not found at {path}")
    only = set(filter(None, a.only.split(",")))
    unknown = only - {n for n, _ in VARIANTS}
    if unknown:
        sys.exit(f"bench_cpu_shapes: unknown shape(s) {sorted(unknown)}; known: {[n for n, _ in VARIANTS]}")
    shapes = [(n, {**BASE, **v}) for n, v in VARIANTS if not only or n in only]
    if a.profile:
        print_profiles(a, shapes)
        return
    raw = open(a.raw, "a") if a.raw else None
    runs = {n: {"ptm": [], "peer": []} for n, _ in shapes}
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    for rnd in range(a.rounds):
        for name, s in shapes:
            iters = timed_iters(s, a.seconds)
            order = ("ptm", "peer") if rnd % 2 == 0 else ("peer", "ptm")
            for impl in order:
                r = run_ptm(a.ptm, s, iters, a.threads) if impl == "ptm" else run_peer(sys.executable, a.peer, s, iters, a.threads)
                runs[name][impl].append(r)
                line = {"round": rnd + 1, "shape": name, "impl": impl, "iters": iters, "commit": commit,
                        "time": time.strftime("%H:%M:%S"), **s, **r}
                print(json.dumps(line), file=sys.stderr, flush=True)
                if raw:
                    raw.write(json.dumps(line) + "\n")
                    raw.flush()
    print(f"\nptm {commit}, torch {subprocess.run([sys.executable, '-c', 'import torch;print(torch.__version__)'], capture_output=True, text=True).stdout.strip()}, "
          f"{a.threads} threads, {a.rounds} rounds, fp32, AdamW, no clipping\n")
    print("| shape | L | d | heads | V | T | B | ptm tok/s (best) | eager tok/s (best) | ratio of best | median per-round ratio | per-round ratios |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, s in shapes:
        pt = [r["tokens_per_s"] for r in runs[name]["ptm"]]
        pe = [r["tokens_per_s"] for r in runs[name]["peer"]]
        ratios = [x / y for x, y in zip(pt, pe)]
        print(f"| {name} | {s['layers']} | {s['width']} | {s['heads']} | {s['vocab']} | {s['seq']} | {s['batch']} | "
              f"{max(pt):,.0f} | {max(pe):,.0f} | **{max(pt) / max(pe):.2f}x** | {statistics.median(ratios):.2f}x | "
              f"{' '.join(f'{r:.2f}' for r in ratios)} |")


if __name__ == "__main__":
    main()
