#!/usr/bin/env python3
"""Where the time of a GPT training step goes, in PyTorch and in ptm (CPU profiling aid).

  # the PyTorch peer's step split into forward(+loss) / backward / optimizer, same shapes as
  # recipes/bench/gpt_tiny_cpu.yaml (ptm bench prints the same split):
  python3 gpt_phases.py --layers 4 --d-model 128 --heads 4 --seq 256 --batch 8 --vocab 8192
  # ... plus the top ops by self CPU time (torch.profiler) over 5 steps:
  python3 gpt_phases.py --layers 4 --d-model 128 --heads 4 --seq 256 --batch 8 --vocab 8192 --ops 5
  # the same table from a ptm trace (ptm bench ... --iters 2 --profile trace.json):
  python3 gpt_phases.py --ptm-trace trace.json --ptm-steps 2

Imports the model from the peer (../shared/peer/gpt_peer.py, or $PTM_PEER), so both measure
the same architecture. fp32, CPU; AdamW(lr 6e-4, wd 0.1) as in the peer (foreach on CPU).
"""
import argparse, collections, importlib.util, json, os, statistics, sys, time


def self_times(events):
    """Self time per op name from complete ('X') trace events: duration minus nested children."""
    by_thread = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            by_thread[e.get("tid")].append(e)
    total, calls = collections.Counter(), collections.Counter()
    for evs in by_thread.values():
        evs.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        stack = []  # [end, name, duration, time in children]
        for e in evs:
            ts, dur = float(e["ts"]), float(e["dur"])
            while stack and stack[-1][0] <= ts:
                end, name, d, child = stack.pop()
                total[name] += d - child
            if stack:
                stack[-1][3] += dur
            stack.append([ts + dur, e["name"], dur, 0.0])
            calls[e["name"]] += 1
        while stack:
            end, name, d, child = stack.pop()
            total[name] += d - child
    return total, calls


def print_table(total, calls, steps, title, top=25):
    all_us = sum(total.values())
    print(f"{title}: self time per step (ms), top {top} of {len(total)} ops; all ops {all_us / 1e3 / steps:.1f} ms/step")
    for name, us in total.most_common(top):
        print(f"  {name:48s} {us / 1e3 / steps:9.2f}  {100 * us / all_us:5.1f}%  {calls[name] // max(1, steps):5d} calls")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--vocab", type=int, default=8192)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--ops", type=int, default=0, help="also profile this many steps with torch.profiler")
    p.add_argument("--ptm-trace", help="summarise a ptm bench --profile trace instead")
    p.add_argument("--ptm-steps", type=int, default=0, help="timed steps in that trace (for per-step figures)")
    a = p.parse_args()

    if a.ptm_trace:
        trace = json.load(open(a.ptm_trace))
        events = trace["traceEvents"] if isinstance(trace, dict) else trace
        total, calls = self_times(events)
        print_table(total, calls, a.ptm_steps or 1, "ptm" + ("" if a.ptm_steps else " (whole trace)"))
        return

    import torch
    import torch.nn.functional as F
    peer = os.environ.get("PTM_PEER") or os.path.join(os.path.dirname(__file__), "../../../shared/peer/gpt_peer.py")
    spec = importlib.util.spec_from_file_location("gpt_peer", peer)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.manual_seed(0)
    model = mod.GPT(a.vocab, a.seq, a.layers, a.d_model, a.heads)
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, weight_decay=0.1)
    x = torch.randint(a.vocab, (a.batch, a.seq))
    y = torch.randint(a.vocab, (a.batch, a.seq))
    phases = collections.defaultdict(list)

    def step(record):
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x).float().view(-1, a.vocab), y.view(-1))
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        t3 = time.perf_counter()
        if record:
            for k, v in (("forward", t1 - t0), ("backward", t2 - t1), ("optimizer", t3 - t2), ("step", t3 - t0)):
                phases[k].append(1000 * v)

    for _ in range(a.warmup):
        step(False)
    for _ in range(a.steps):
        step(True)
    out = {k: round(statistics.mean(v), 2) for k, v in phases.items()}
    out["tokens_per_s"] = round(a.batch * a.seq / (out["step"] / 1000))
    out["threads"] = torch.get_num_threads()
    print(json.dumps({"impl": "pytorch-eager phases (ms, means)", **out}))
    if a.ops:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(a.ops):
                step(False)
        total, calls = collections.Counter(), collections.Counter()
        for e in prof.key_averages():
            total[e.key] += e.self_cpu_time_total
            calls[e.key] += e.count
        print_table(total, calls, a.ops, "pytorch eager")


if __name__ == "__main__":
    sys.exit(main())
