#!/usr/bin/env bash
# GPT training step on the CPU across shapes, ptm vs the PyTorch eager peer (issue 24's table).
# Arguments go to scripts/bench_cpu_shapes.py, e.g.  --rounds 3 --only base,vocab_50257
set -euo pipefail
source "$(dirname "$0")/env.sh"
exec "$PTM_VENV/bin/python" "$PTM_ROOT/scripts/bench_cpu_shapes.py" "$@"
