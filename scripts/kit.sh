#!/usr/bin/env bash
# The kit's entry point: sets the environment up (first run only), then does the job.
#   bash scripts/kit.sh reproduce --preset cpu-demo    the notebooks headless into runs/<preset>
#   bash scripts/kit.sh test                           ruff + the test suite (doctests, notebooks)
#   bash scripts/kit.sh setup                          only the environment
#   bash scripts/kit.sh <any omni-r1-lite subcommand>  e.g. env, presets, synth OUT_DIR
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
PY="$ROOT/.venv/bin/python"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
# The environment may be shared by several clones (it is keyed by the lock file): make this clone's
# package the one that is imported, here and in the notebook kernels papermill starts.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
cmd="${1:-test}"; shift || true
cd "$ROOT"
case "$cmd" in
  setup) ;;
  test)
    "$PY" -m ruff check .
    "$PY" -m pytest "$@"
    ;;
  # `python -m`, not the console script: the cached environment may have been built from another
  # clone, and a console script's shebang names the python of the path it was installed from
  *) exec "$PY" -m omni_r1_lite.cli "$cmd" "$@" ;;
esac
