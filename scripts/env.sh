# Shared settings for ptm's scripts (sourced, not run). Everything heavy lives in a cache
# outside the checkout, keyed by version, so fresh clones reuse it.
PTM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PTM_TORCH_VERSION="${PTM_TORCH_VERSION:-2.11.0}"
PTM_CACHE="${PTM_CACHE:-$HOME/.cache/ptm}"
PTM_PY="${PTM_PY:-python3}"
PTM_PYVER="$("$PTM_PY" -c 'import sys;print(f"{sys.version_info[0]}.{sys.version_info[1]}")' 2>/dev/null || echo none)"
PTM_VENV="${PTM_VENV:-$PTM_CACHE/venv-torch$PTM_TORCH_VERSION-py$PTM_PYVER}"
PTM_BUILD_DIR="${PTM_BUILD_DIR:-$PTM_ROOT/build}"

# ccache: one cache for every checkout; hits across folders need paths made relative to
# this checkout's root (always this one: a BASEDIR inherited from a shell that sourced another
# checkout's env.sh would turn every compile into a miss).
export CCACHE_DIR="${CCACHE_DIR:-$PTM_CACHE/ccache}"
export CCACHE_BASEDIR="$PTM_ROOT"
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"

ptm_log() { printf '\033[1m[ptm]\033[0m %s\n' "$*" >&2; }
ptm_die() { printf '[ptm] error: %s\n' "$*" >&2; exit 2; }

# Installs the Debian packages among "$@" that are not installed yet (sudo unless root).
ptm_apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  ptm_log "installing Debian packages: ${missing[*]}"
  local sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
