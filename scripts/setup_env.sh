#!/usr/bin/env bash
# Create (or reuse) the kit's Python environment and link it as .venv in the checkout.
#
# The environment lives outside the clone, keyed by the hash of the lock file, so a fresh clone
# with the same lock reuses it (CI's warm path). Override the location with OMNI_R1_LITE_ENV.
#   bash scripts/setup_env.sh            create/reuse, install the kit (editable), register a kernel
#   bash scripts/setup_env.sh --relock   resolve fresh versions into requirements-lock.txt
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCK="$ROOT/requirements-lock.txt"
SAM2_PIN="sam2==1.1.0"
PIP_PIN="pip==25.3"

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.11 python3 python; do
    if command -v "$cand" >/dev/null 2>&1; then PY="$cand"; break; fi
  done
fi
[ -n "$PY" ] || { echo "setup: no python3 found (Python 3.11 is required)" >&2; exit 1; }
"$PY" - <<'PYV' || { echo "setup: $PY is not Python >= 3.10 (3.11 recommended)" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)
PYV

HASH="$( (cat "$LOCK"; echo "$SAM2_PIN $PIP_PIN"; "$PY" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)"
ENV_DIR="${OMNI_R1_LITE_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/omni-r1-lite/env-$HASH}"

install_env() {
  echo "[setup] creating $ENV_DIR (once per lock file; ~2-5 min cold)"
  rm -rf "$ENV_DIR"
  mkdir -p "$(dirname "$ENV_DIR")"
  "$PY" -m venv "$ENV_DIR"
  local pip=("$ENV_DIR/bin/python" -m pip --disable-pip-version-check)
  # the build tools first: with --no-build-isolation an sdist (antlr4-python3-runtime) builds with
  # what is already installed, and a new venv's setuptools 65 has no bdist_wheel without `wheel`
  "${pip[@]}" install -q "$PIP_PIN" $(grep -E '^(setuptools|wheel)==' "$LOCK")
  # --no-build-isolation: sdists build against what is installed (no second torch download);
  # SAM2_BUILD_CUDA=0: sam2 without its optional CUDA extension (a CPU fallback exists).
  SAM2_BUILD_CUDA=0 "${pip[@]}" install -q --no-build-isolation -r "$LOCK"
  SAM2_BUILD_CUDA=0 "${pip[@]}" install -q --no-build-isolation --no-deps "$SAM2_PIN"
  touch "$ENV_DIR/.complete"
}

if [ "${1:-}" = "--relock" ]; then
  tmp="$(mktemp -d)"; "$PY" -m venv "$tmp/v"
  "$tmp/v/bin/python" -m pip install -q "$PIP_PIN" setuptools wheel
  "$tmp/v/bin/python" -m pip install -q "torch==2.14.1" "torchvision==0.29.2"
  SAM2_BUILD_CUDA=0 "$tmp/v/bin/python" -m pip install -q --no-build-isolation "$ROOT[dev,lab]" "$SAM2_PIN"
  { sed -n '1,4p' "$LOCK"; "$tmp/v/bin/python" -m pip freeze | grep -vE '^(sam2|omni-r1-lite|-e )';
    "$tmp/v/bin/python" -m pip freeze --all | grep -E '^(setuptools|wheel)=='; } > "$LOCK.new"
  mv "$LOCK.new" "$LOCK"; rm -rf "$tmp"; echo "[setup] wrote $LOCK"; exit 0
fi

if [ ! -f "$ENV_DIR/.complete" ]; then
  install_env
else
  echo "[setup] reusing $ENV_DIR"
fi
ln -sfn "$ENV_DIR" "$ROOT/.venv"
# The kit itself: editable, no dependencies (they are all pinned above); quick.
"$ROOT/.venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e "$ROOT"
"$ROOT/.venv/bin/python" -m ipykernel install --sys-prefix --name omni-r1-lite \
  --display-name "Python (omni-r1-lite)" >/dev/null
# The environment is shared between clones: each interpreter imports the checkout it is used from
# (see scripts/checkout_path.py), not whichever clone ran setup last.
SITE="$("$ROOT/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cp "$ROOT/scripts/checkout_path.py" "$SITE/_omni_r1_lite_checkout.py"
echo "import _omni_r1_lite_checkout" > "$SITE/_omni_r1_lite_checkout.pth"
echo "[setup] ready: $ROOT/.venv -> $ENV_DIR"
