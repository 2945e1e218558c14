#!/usr/bin/env python3
"""Top entries of a chrome://tracing profile (`ptm bench --profile`, torch.profiler's
export_chrome_trace), summed by name: the per-kernel table for BENCHMARKS.md.

  python3 trace_top.py TRACE.json[.gz] [--cat kernel] [--steps 3] [--top 30]

--cat picks the event category (kernel: GPU kernels, the default when the trace has any, else
cpu_op); --steps divides the totals to per-step figures.
"""
import argparse, collections, gzip, json


def main():
    p = argparse.ArgumentParser()
    p.add_argument("trace")
    p.add_argument("--cat", default="")
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--top", type=int, default=30)
    a = p.parse_args()
    opener = gzip.open if a.trace.endswith(".gz") else open
    with opener(a.trace, "rt") as f:
        events = [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X" and "dur" in e]
    cats = collections.Counter(e.get("cat", "") for e in events)
    cat = a.cat or ("kernel" if cats.get("kernel") else "cpu_op")
    total, count = collections.defaultdict(float), collections.Counter()
    for e in events:
        if e.get("cat") == cat:
            total[e["name"]] += e["dur"]
            count[e["name"]] += 1
    grand = sum(total.values())
    print(f"{a.trace}: category '{cat}', {grand / 1000 / a.steps:.2f} ms per step in {sum(count.values())} events")
    print(f"{'ms/step':>9} {'%':>6} {'calls/step':>10}  name")
    for name, us in sorted(total.items(), key=lambda kv: -kv[1])[: a.top]:
        print(f"{us / 1000 / a.steps:9.3f} {100 * us / grand:6.1f} {count[name] / a.steps:10.1f}  {name[:110]}")


if __name__ == "__main__":
    main()
