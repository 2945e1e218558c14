#!/usr/bin/env python3
"""Per-kernel profile of the PyTorch GPT peer's training step (../../../shared/peer/gpt_peer.py),
to set beside `ptm bench --profile` when a throughput target is missed: where the peer's time
goes, kernel by kernel, in the same shapes.

  python3 profile_gpt_peer.py PEER.py --batch 16 [--compile] [--trace out.json.gz]
  python3 profile_gpt_peer.py PEER.py --device cpu --layers 4 --d-model 512 --heads 8 --seq 256 --batch 8 --split

Builds the peer's own model and step (same arguments as the peer), warms up, profiles a few
steps with torch.profiler and prints the kernels by total device time (CUDA) or the ops by
self CPU time (CPU). --split prints one JSON line instead: the step's self time split into
matrix products (mm, addmm, bmm), SDPA attention and the rest. An implementation that runs
the same products with the same BLAS and the same attention kernels takes at least the first
two, so step / (matmul + attention) bounds its speed-up over the peer ("bound").
"""
import argparse, importlib.util, json

import torch
import torch.nn.functional as F


def main():
    p = argparse.ArgumentParser()
    p.add_argument("peer")
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--d-model", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument("--vocab", type=int, default=50257)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--compile", action="store_true")
    p.add_argument("--trace", default="")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: torch's)")
    p.add_argument("--split", action="store_true", help="print the matmul / attention / other split as JSON")
    a = p.parse_args()
    if a.split and a.device != "cpu":
        p.error("--split splits CPU time: use it with --device cpu")
    if a.threads:
        torch.set_num_threads(a.threads)
    spec = importlib.util.spec_from_file_location("gpt_peer", a.peer)
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)

    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = True
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    model = peer.GPT(a.vocab, a.seq, a.layers, a.d_model, a.heads).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, weight_decay=0.1, fused=cuda)
    fwd = torch.compile(model) if a.compile else model
    x = torch.randint(a.vocab, (a.batch, a.seq), device=dev)
    y = torch.randint(a.vocab, (a.batch, a.seq), device=dev)

    def step():  # the peer's step, verbatim: bf16 autocast on CUDA, fp32 on the CPU
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cuda):
            loss = F.cross_entropy(fwd(x).float().view(-1, a.vocab), y.view(-1))
        loss.backward()
        opt.step()

    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for _ in range(a.warmup):
        step()
    sync()
    acts = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if cuda else [])
    with torch.profiler.profile(activities=acts) as prof:
        for _ in range(a.steps):
            step()
        sync()
    if a.split:
        print(json.dumps(cpu_split(prof, a)))
    else:
        name = "pytorch-compile" if a.compile else "pytorch-eager"
        what = "kernels by total device time" if cuda else "ops by self CPU time"
        print(f"== {name} B={a.batch} T={a.seq}: {a.steps} profiled steps, {what}")
        sort = "self_device_time_total" if cuda else "self_cpu_time_total"
        print(prof.key_averages().table(sort_by=sort, row_limit=40, max_name_column_width=90))
    if a.trace:
        prof.export_chrome_trace(a.trace)


MATMUL = {"aten::mm", "aten::addmm", "aten::bmm", "aten::addmm_", "aten::baddbmm"}


def op_group(name):
    """matmul, attention or other: the split of a CPU step (also used on ptm's traces)."""
    return "matmul" if name in MATMUL else "attention" if "scaled_dot_product" in name else "other"


def cpu_split(prof, a):
    split = {"matmul": 0.0, "attention": 0.0, "other": 0.0}
    for e in prof.key_averages():
        split[op_group(e.key)] += e.self_cpu_time_total / 1e3 / a.steps  # ms per step
    total = sum(split.values())
    return {"shape": {"layers": a.layers, "d_model": a.d_model, "heads": a.heads, "vocab": a.vocab, "seq": a.seq,
                      "batch": a.batch, "threads": torch.get_num_threads()},
            "step_ms": round(total, 1), **{f"{k}_ms": round(v, 1) for k, v in split.items()},
            "matmul_share": round(split["matmul"] / total, 3),
            "bound": round(total / (split["matmul"] + split["attention"]), 2)}


if __name__ == "__main__":
    main()
