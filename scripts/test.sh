#!/usr/bin/env bash
# Sets everything up (packages, venv, real data), builds, and runs the whole test suite
# (what CI runs).
# Extra arguments go to ctest, e.g.  scripts/test.sh -R schedule   (one entry per test case)
set -euo pipefail
source "$(dirname "$0")/env.sh"

bash "$PTM_ROOT/scripts/setup.sh"
bash "$PTM_ROOT/scripts/get-data.sh"   # real data for the parity and data tests (cached)
bash "$PTM_ROOT/scripts/build.sh"
cd "$PTM_BUILD_DIR"
# Tests that cannot run here (no GPU, a stage's output not made) say why in tests/skipped.txt.
rm -f tests/skipped.txt
status=0
ctest --output-on-failure --parallel "${PTM_JOBS:-$(nproc)}" "$@" || status=$?
if [[ -s tests/skipped.txt ]]; then
  ptm_log "skipped, with their reasons ($(wc -l <tests/skipped.txt)):"
  sort tests/skipped.txt | sed 's/^/  /' >&2
fi
exit "$status"
