#!/usr/bin/env bash
# Fetch RefAVS, ReVOS and the SAM 2.1 checkpoints (and, with --with-models, the Qwen2.5-Omni and
# Omni-R1 snapshots) into one DATA_DIR, verified and resumable. A thin wrapper: the logic lives in
# omni_r1_lite/data/download.py. Examples:
#   ./data_download.sh --dry-run                   # what would be fetched, and where (no network)
#   ./data_download.sh --list                      # every item and group
#   DATA_DIR=/big/disk ./data_download.sh --only refavs --only sam2.1_hiera_large
#   ./data_download.sh --data-dir /big/disk --with-models
# Exit status: 0 ok, 1 an item failed, 2 bad arguments, 3 offline.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
    python=python
fi
export PYTHONPATH="${here}${PYTHONPATH:+:${PYTHONPATH}}"
# Run the file rather than the module: only the standard library is needed (no numpy). PYTHONSAFEPATH
# (Python >= 3.11) keeps the script folder off sys.path so its siblings cannot shadow anything.
export PYTHONSAFEPATH=1
exec "$python" "${here}/omni_r1_lite/data/download.py" "$@"
