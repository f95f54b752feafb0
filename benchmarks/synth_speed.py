"""How fast OmniSynth generates: 200 clips (both layouts) into a temporary folder.

Usage: ``python benchmarks/synth_speed.py [--clips 200] [--seed 0]``. Prints progress lines, then
the figures as ONE JSON object on the last line: clips, seconds, clips_per_s, target_s (60),
bytes, files, and the per-split row counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

try:
    import omni_r1_lite  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from omni_r1_lite.data.omnisynth import OmniSynthConfig, generate  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--clips", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    n = a.clips
    # the default mix, scaled: half train, the rest over val / seen / unseen / null
    clips = {"train": n // 2, "val": n // 20, "seen": n // 5, "unseen": n // 5}
    clips["null"] = n - sum(clips.values())
    config = OmniSynthConfig(seed=a.seed, clips=clips)
    with tempfile.TemporaryDirectory(prefix="omnisynth-bench-") as d:
        t0 = time.perf_counter()
        summary = generate(d, config)
        seconds = time.perf_counter() - t0
    print(f"generated {n} clips ({clips}) in {seconds:.2f} s")
    print(json.dumps({
        "clips": n, "seconds": round(seconds, 3), "clips_per_s": round(n / seconds, 2), "target_s": 60,
        "bytes": summary["bytes"], "files": summary["files"], "rows": summary["rows"],
    }))


if __name__ == "__main__":
    main()
