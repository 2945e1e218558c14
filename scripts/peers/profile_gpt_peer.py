#!/usr/bin/env python3
"""Per-kernel profile of the PyTorch GPT peer's training step (../../../shared/peer/gpt_peer.py),
to set beside `ptm bench --profile` when a throughput target is missed: where the peer's time
goes, kernel by kernel, in the same shapes.

  python3 profile_gpt_peer.py PEER.py --batch 16 [--compile] [--trace out.json.gz]

Builds the peer's own model and step (same arguments as the peer), warms up, profiles a few
steps with torch.profiler (CPU and CUDA activities) and prints the kernels by total device time.
"""
import argparse, importlib.util

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
    a = p.parse_args()
    spec = importlib.util.spec_from_file_location("gpt_peer", a.peer)
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)

    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = True
    dev = torch.device("cuda")
    model = peer.GPT(a.vocab, a.seq, a.layers, a.d_model, a.heads).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, weight_decay=0.1, fused=True)
    fwd = torch.compile(model) if a.compile else model
    x = torch.randint(a.vocab, (a.batch, a.seq), device=dev)
    y = torch.randint(a.vocab, (a.batch, a.seq), device=dev)

    def step():  # the peer's step, verbatim
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(fwd(x).float().view(-1, a.vocab), y.view(-1))
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    torch.cuda.synchronize()
    acts = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=acts) as prof:
        for _ in range(a.steps):
            step()
        torch.cuda.synchronize()
    name = "pytorch-compile" if a.compile else "pytorch-eager"
    print(f"== {name} B={a.batch} T={a.seq}: {a.steps} profiled steps, kernels by total device time")
    print(prof.key_averages().table(sort_by="self_device_time_total", row_limit=40, max_name_column_width=90))
    if a.trace:
        prof.export_chrome_trace(a.trace)


if __name__ == "__main__":
    main()
