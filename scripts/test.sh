#!/usr/bin/env bash
# Sets everything up (packages, venv, real data), builds, and runs the whole test suite
# (what CI runs).
# Extra arguments go to ctest, e.g.  scripts/test.sh -L unit   or   scripts/test.sh -R schedule
set -euo pipefail
source "$(dirname "$0")/env.sh"

bash "$PTM_ROOT/scripts/setup.sh"
bash "$PTM_ROOT/scripts/get-data.sh"   # real data for the parity and data tests (cached)
bash "$PTM_ROOT/scripts/build.sh"
cd "$PTM_BUILD_DIR"
ctest --output-on-failure --parallel "${PTM_JOBS:-$(nproc)}" "$@"
