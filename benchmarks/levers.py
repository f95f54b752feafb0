"""The paper's two levers on OmniSynth with the stand-in System 2 (J&F, points).

    python benchmarks/levers.py [--clips 100] [--frames 8] [--data-dir DIR]

Generates (or reuses) the cpu-demo OmniSynth evaluation splits, runs System 2 on reference plans
(oracle / uniform / worst keyframes; literal rewrite / original expression) and prints the table,
then its figures as one JSON object on the last line. Targets: ≥ 15 J&F points between oracle and
uniform-or-worst keyframes, and between the literal rewrite and the original expression.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from omni_r1_lite.config import apply_overrides, get_preset  # noqa: E402
from omni_r1_lite.data.sources import load_samples  # noqa: E402
from omni_r1_lite.systems.levers import lever_gaps, lever_scores, lever_table, markdown  # noqa: E402
from omni_r1_lite.systems.pipeline import Pipeline  # noqa: E402
from omni_r1_lite.systems.standin import OmniSynthStandIn  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=100, help="clips per evaluation split")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args(argv)
    cfg = apply_overrides(get_preset("cpu-demo"), [f"data.synth_eval_clips={args.clips}",
                                                    f"data.synth_num_frames={args.frames}"])
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="levers-"))
    t0 = time.time()
    samples = [s for split in ("test_s", "test_u") for s in load_samples(cfg, data_dir, split)]
    pipeline = Pipeline(OmniSynthStandIn(), max_frames=cfg.system1.max_frames)
    rows = lever_scores(samples, pipeline)
    table = lever_table(rows, by="type")
    by_split = lever_table(rows, by="split")
    gaps = lever_gaps(table)
    print(markdown(table))
    print()
    print(markdown(by_split))
    result = {"samples": len({r["sample_id"] for r in rows}), "jf": {p: r["all"] for p, r in table.items()},
              **gaps, "keyframes_gap": max(gaps["keyframes_vs_uniform"], gaps["keyframes_vs_worst"]),
              "target_points": 15, "seconds": round(time.time() - t0, 1)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
