"""Held-out greedy evaluation used during training: keyframe quality and J&F, batched.

*Keyframe quality* of a plan is the paper's saliency term on held-out clips: the mean over its
keyframes of the target's visible area in that frame divided by the target's largest area in the
clip (0 for an unparsable answer; null expressions are left out). It is what the CPU learning
target is stated in; J&F (DAVIS, every frame) comes from System 2 on the same plans.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from omni_r1_lite.data.keyframes import target_area
from omni_r1_lite.data.schema import Sample
from omni_r1_lite.systems.generation import greedy_completions


def keyframe_quality(sample: Sample, keyframes: Sequence[int]) -> float:
    """Mean visible-area ratio of the target on the given clip keyframes (0 if none).

    >>> from types import SimpleNamespace
    >>> s = SimpleNamespace(meta={"annotation": {"frames": [{"objects": [{"id": 1, "visible_area": a}]}
    ...                                                    for a in (0, 5, 10)]}, "target_ids": [1]}, object_ids=(1,))
    >>> keyframe_quality(s, [1, 2]), keyframe_quality(s, [])
    (0.75, 0.0)
    """
    area = target_area(sample)
    if not len(keyframes) or area.max() <= 0:
        return 0.0
    return float(np.mean(area[list(keyframes)] / area.max()))


@dataclasses.dataclass
class HeldOut:
    """Means over the samples with a target (``quality``, ``jf``, ``format_ok``, ``n``); ``jf_by_type``
    over each expression type present (null included when given); ``null_empty``: the share of null
    samples segmented as nothing (``None`` without null samples); one record per sample."""

    quality: float
    jf: float
    format_ok: float
    n: int
    records: list[dict]
    jf_by_type: dict[str, float] = dataclasses.field(default_factory=dict)
    null_empty: float | None = None


def evaluate_heldout(reasoner, pipeline, samples: Sequence[Sample], max_new_tokens: int,
                     batch_size: int = 16, include_null: bool = False) -> HeldOut:
    """Greedy plans on held-out samples → keyframe quality, J&F and the format rate (over the
    samples with a target), J&F per expression type; with ``include_null`` the null samples are run
    too (J&F in ``jf_by_type["null"]``, the share segmented as nothing in ``null_empty``)."""
    from omni_r1_lite.metrics import j_and_f
    from omni_r1_lite.systems.parsing import check_format

    samples = [s for s in samples if include_null or not s.is_null]
    comps = greedy_completions(reasoner, samples, max_new_tokens, batch_size)
    records = []
    for s, c in zip(samples, comps):
        r = pipeline.run(s, [c.text])[0]
        score = j_and_f(r.masks, s.load_masks())
        rec = {"sample_id": s.sample_id, "type": s.expression_type, "plan_ok": r.plan.ok,
               "format_ok": bool(check_format(c.text)) and c.finished, "keyframes": list(r.keyframes),
               "quality": None if s.is_null else keyframe_quality(s, r.keyframes), "JF": float(score["JF"])}
        if s.is_null:
            rec["empty"] = not bool(np.asarray(r.masks).any())
        records.append(rec)
    target = [r for r in records if r["type"] != "null"]
    nulls = [r for r in records if r["type"] == "null"]
    types = sorted({r["type"] for r in records})
    return HeldOut(quality=float(np.mean([r["quality"] for r in target])) if target else 0.0,
                   jf=float(np.mean([r["JF"] for r in target])) if target else 0.0,
                   format_ok=float(np.mean([r["format_ok"] for r in target])) if target else 0.0,
                   n=len(target), records=records,
                   jf_by_type={t: float(np.mean([r["JF"] for r in records if r["type"] == t])) for t in types},
                   null_empty=float(np.mean([r["empty"] for r in nulls])) if nulls else None)


def fixed_set_quality(samples: Sequence[Sample], sizes: Sequence[int] | None = None) -> tuple[tuple[int, ...], float]:
    """The single keyframe set that, applied to every sample, has the highest mean keyframe quality,
    and that mean (samples with a target; clips of the modal frame count; sets of the given
    ``sizes``, all by default, when a single frame always wins: a set's quality is the mean of its
    frames'). The baseline a per-clip keyframe choice must beat: choose it on training samples.

    >>> from types import SimpleNamespace
    >>> def s(areas): return SimpleNamespace(is_null=False, num_frames=len(areas), object_ids=(1,), meta={
    ...     "annotation": {"frames": [{"objects": [{"id": 1, "visible_area": a}]} for a in areas]}, "target_ids": [1]})
    >>> fixed_set_quality([s([0, 4, 2]), s([1, 2, 4])])
    ((1,), 0.75)
    >>> fixed_set_quality([s([0, 4, 2]), s([1, 2, 4])], sizes=(2,))
    ((1, 2), 0.75)
    """
    return best_of_sizes(best_fixed_sets(samples, sizes))


def best_of_sizes(per_size: dict[int, tuple[tuple[int, ...], float]]) -> tuple[tuple[int, ...], float]:
    """The best of `best_fixed_sets`' sets (the smallest size on a tie)."""
    best: tuple[tuple[int, ...], float] = ((), -1.0)
    for k in sorted(per_size):
        if per_size[k][1] > best[1] + 1e-12:
            best = per_size[k]
    return best


def best_fixed_sets(samples: Sequence[Sample], sizes: Sequence[int] | None = None) -> dict[int, tuple[tuple[int, ...], float]]:
    """`fixed_set_quality` of each size at once: ``{size: (set, mean quality)}`` (the samples' areas
    read once; all sizes by default)."""
    import itertools

    samples = [s for s in samples if not s.is_null]
    counts = np.bincount([s.num_frames for s in samples])
    t = int(counts.argmax())
    rows = []
    for s in samples:
        if s.num_frames == t:
            area = target_area(s)
            if area.max() > 0:
                rows.append(area / area.max())
    q = np.asarray(rows)
    out = {}
    for k in sizes or range(1, t + 1):
        best: tuple[tuple[int, ...], float] = ((), -1.0)
        for combo in itertools.combinations(range(t), k):
            v = float(q[:, list(combo)].mean())
            if v > best[1] + 1e-12:
                best = (combo, v)
        out[k] = best
    return out
