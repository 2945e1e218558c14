#!/usr/bin/env bash
# Sets everything up, builds ptm, and runs the main job. Until `ptm pretrain` lands this is
# the quickest real command: the environment report and a checked, fully resolved recipe.
set -euo pipefail
source "$(dirname "$0")/env.sh"

bash "$PTM_ROOT/scripts/setup.sh"
bash "$PTM_ROOT/scripts/build.sh"
ptm="$PTM_BUILD_DIR/bin/ptm"
"$ptm" info
"$ptm" validate --config "$PTM_ROOT/tests/fixtures/recipes/good.yaml"
"$ptm" config --config "$PTM_ROOT/tests/fixtures/recipes/good.yaml"
