#!/usr/bin/env bash
# Installs what ptm needs to build and test; idempotent, and fast when everything is there.
#   - Debian/Ubuntu packages: compiler tools, yaml-cpp, spdlog, fmt, CLI11, nlohmann-json, Catch2,
#     Gloo headers (data-parallel runs on CPUs; its code is inside LibTorch)
#   - the project venv ($PTM_VENV, outside the checkout) with torch==2.11.0 from PyPI, whose wheel
#     carries LibTorch, plus the Python reference packages used by golden-value scripts
# On a machine without a package registry (the GPU machines) everything must already be
# installed; then the torch of `python3` is used when it is the pinned version.
set -euo pipefail
source "$(dirname "$0")/env.sh"

apt_packages=(cmake ninja-build ccache git g++ libyaml-cpp-dev libspdlog-dev libfmt-dev
              libcli11-dev nlohmann-json3-dev catch2 libgloo-dev zlib1g-dev libzstd-dev)
ptm_apt_install "${apt_packages[@]}"
# Optional: headless Chromium renders `ptm report` pages in a test, which is skipped without it.
ptm_apt_install chromium 2>/dev/null || ptm_log "chromium not installed: the browser test of ptm report is skipped"

torch_ok() { "$1" -c "import torch,sys; sys.exit(0 if torch.__version__.split('+')[0]=='$PTM_TORCH_VERSION' else 1)" 2>/dev/null; }
venv_ready() {
  [[ -x "$PTM_VENV/bin/python" ]] && torch_ok "$PTM_VENV/bin/python" &&
    cmp -s "$PTM_ROOT/scripts/requirements-dev.txt" "$PTM_VENV/.ptm-complete"
}
make_venv() {
  mkdir -p "$PTM_CACHE"
  "$PTM_PY" -m venv "$PTM_VENV" &&
    "$PTM_VENV/bin/python" -m pip install -q --retries 2 --timeout 60 -r "$PTM_ROOT/scripts/requirements-dev.txt" &&
    cp "$PTM_ROOT/scripts/requirements-dev.txt" "$PTM_VENV/.ptm-complete"
}
if venv_ready; then
  ptm_log "venv ready: $PTM_VENV"
else
  ptm_log "setting up venv $PTM_VENV (torch $PTM_TORCH_VERSION is a large download, once per machine)"
  if make_venv; then
    ptm_log "venv ready: $PTM_VENV"
  elif torch_ok "$PTM_PY"; then
    # Machines without a registry (the GPU machines) come with the pinned torch installed.
    ptm_log "could not install into the venv; using torch $PTM_TORCH_VERSION of $PTM_PY instead"
  else
    ptm_die "could not install torch==$PTM_TORCH_VERSION into $PTM_VENV (is PyPI reachable?)"
  fi
fi
