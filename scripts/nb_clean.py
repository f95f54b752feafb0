"""Strip outputs and execution counts from notebooks and report hygiene problems.

    python scripts/nb_clean.py notebooks/*.ipynb        (run before committing a notebook)
"""

import json
import sys
from pathlib import Path

from omni_r1_lite.notebook import notebook_problems

status = 0
for name in sys.argv[1:]:
    path = Path(name)
    nb = json.loads(path.read_text())
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb.get("metadata", {}).pop("papermill", None)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    for p in notebook_problems(nb):
        print(f"{path}: {p}")
        status = 1
sys.exit(status)
