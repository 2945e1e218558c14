#!/usr/bin/env bash
# Configure and build ptm with ninja (and ccache when present). Works on the Debian CI
# machines and on the GPU machines. LibTorch is taken from, in order:
#   1. an explicit Torch_DIR or CMAKE_PREFIX_PATH (a LibTorch zip or any torch install)
#   2. the project venv made by scripts/setup.sh ($PTM_VENV)
#   3. the torch of `python3`
# Usage: scripts/build.sh [extra cmake -D options...]   (PTM_BUILD_DIR, PTM_BUILD_TYPE, PTM_JOBS,
#        PTM_BUILD_TARGET: one target only, e.g. ptm_cli for the binary without the tests)
set -euo pipefail
source "$(dirname "$0")/env.sh"

torch_prefix=""
torch_python="$(command -v "$PTM_VENV/bin/python" || command -v python3 || true)"
if [[ -n "${Torch_DIR:-}" ]]; then
  ptm_log "LibTorch: Torch_DIR=$Torch_DIR"
elif [[ -n "${CMAKE_PREFIX_PATH:-}" ]]; then
  ptm_log "LibTorch: CMAKE_PREFIX_PATH=$CMAKE_PREFIX_PATH"
else
  for py in "$PTM_VENV/bin/python" python3; do
    if prefix=$("$py" -c 'import torch;print(torch.utils.cmake_prefix_path)' 2>/dev/null); then
      torch_prefix="$prefix"
      torch_python="$(command -v "$py")"
      ptm_log "LibTorch: torch $("$py" -c 'import torch;print(torch.__version__)') from $py"
      break
    fi
  done
  [[ -n "$torch_prefix" ]] || ptm_die "no LibTorch found: run scripts/setup.sh, or set Torch_DIR / CMAKE_PREFIX_PATH"
fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
args=(-S "$PTM_ROOT" -B "$PTM_BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE="${PTM_BUILD_TYPE:-Release}")
[[ -n "$torch_prefix" ]] && args+=(-DCMAKE_PREFIX_PATH="$torch_prefix")
# The Python with the reference packages (transformers, tokenizers) for parity tests.
[[ -n "$torch_python" ]] && args+=(-DPTM_PYTHON="$torch_python")
# The CUDA wheel's TorchConfig wants to know the GPU architectures; Hopper when unset.
args+=(-DTORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}")

# Configure every time (a few seconds): picks up a changed torch, Python or option.
cmake "${args[@]}" "$@" >/dev/null || cmake "${args[@]}" "$@" >&2
cmake --build "$PTM_BUILD_DIR" --parallel "${PTM_JOBS:-$(nproc)}" ${PTM_BUILD_TARGET:+--target "$PTM_BUILD_TARGET"}
ptm_log "built $PTM_BUILD_DIR/bin/ptm"
