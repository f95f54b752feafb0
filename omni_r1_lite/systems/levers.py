"""The paper's two levers, measured: *which keyframes* System 1 picks and *how it rewrites*.

For each sample, System 2 runs on four reference plans built from the ground truth:

============================  ===========================================================
``oracle + literal``          `oracle_keyframes` + the literal single-image description
``uniform + literal``         evenly spaced keyframes + the literal description
``worst + literal``           the frames where the target is smallest + the literal description
``oracle + original``         oracle keyframes + the benchmark's original expression
============================  ===========================================================

The literal description is OmniSynth's ``meta["literal"]`` (what a perfect System 1 writes). J&F
is the DAVIS definition over every clip frame, averaged per sample, as the evaluation does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from omni_r1_lite.data.keyframes import oracle_keyframes, target_area, uniform_keyframes, worst_keyframes
from omni_r1_lite.data.schema import Sample

PLANS = ("oracle + literal", "uniform + literal", "worst + literal", "oracle + original")


def reference_plan(sample: Sample, plan: str, k: int = 4) -> tuple[list[int], list[str]]:
    """Clip keyframes and one description per keyframe for a named reference plan."""
    keys, text = plan.split(" + ")
    area = target_area(sample)
    frames = {"oracle": lambda: oracle_keyframes(area, k), "uniform": lambda: uniform_keyframes(len(area), k),
              "worst": lambda: worst_keyframes(area, k)}[keys]()
    description = sample.meta.get("literal", sample.expression) if text == "literal" else sample.expression
    return frames, [description] * len(frames)


def lever_scores(samples: Iterable[Sample], pipeline, k: int = 4, plans=PLANS) -> list[dict]:
    """One record per (sample, plan): ``{"sample_id", "split", "type", "plan", "J", "F", "JF"}``."""
    from omni_r1_lite.metrics import j_and_f

    rows = []
    for s in samples:
        if s.is_null:
            continue
        gt = s.load_masks()
        for plan in plans:
            frames, descriptions = reference_plan(s, plan, k)
            _, masks = pipeline.run_plan(s, frames, descriptions)
            score = j_and_f(masks, gt)
            rows.append({"sample_id": s.sample_id, "split": s.split, "type": s.expression_type, "plan": plan,
                         **{key: float(v) for key, v in score.items()}})
    return rows


def lever_table(rows: list[dict], by: str = "type") -> dict[str, dict[str, float]]:
    """Mean J&F (in points) per plan, overall and per ``by`` value: ``{plan: {"all": .., <by>: ..}}``."""
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        acc[r["plan"]]["all"].append(r["JF"])
        acc[r["plan"]][r[by]].append(r["JF"])
    return {plan: {key: round(100 * float(np.mean(v)), 1) for key, v in cols.items()} for plan, cols in acc.items()}


def lever_gaps(table: dict[str, dict[str, float]]) -> dict[str, float]:
    """The two levers in J&F points: keyframes (oracle − min(uniform, worst)) and rewrite."""
    best = table["oracle + literal"]["all"]
    return {
        "keyframes_vs_uniform": round(best - table["uniform + literal"]["all"], 1),
        "keyframes_vs_worst": round(best - table["worst + literal"]["all"], 1),
        "rewrite": round(best - table["oracle + original"]["all"], 1),
    }


def markdown(table: dict[str, dict[str, float]]) -> str:
    cols = ["all"] + sorted({c for row in table.values() for c in row} - {"all"})
    lines = ["| plan | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for plan, row in table.items():
        lines.append(f"| {plan} | " + " | ".join(f"{row.get(c, float('nan')):.1f}" for c in cols) + " |")
    return "\n".join(lines)
