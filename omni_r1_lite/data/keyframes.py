"""Reference keyframe choices from the ground truth: oracle, uniform and worst.

They bound what System 1 can achieve and are the levers' rows in notebook 02. The target's
per-frame area comes from OmniSynth's annotations when present (no mask decoding), otherwise
from the ground-truth masks (RefAVS, ReVOS).

>>> import numpy as np
>>> area = np.array([0, 5, 9, 1, 0, 0, 7, 8, 2, 0], float)
>>> oracle_keyframes(area, 4), uniform_keyframes(len(area), 4), worst_keyframes(area, 4)
([1, 2, 6, 7], [0, 3, 6, 9], [0, 4, 5, 9])
"""

from __future__ import annotations

import numpy as np

from omni_r1_lite.data.schema import Sample


def target_area(sample: Sample) -> np.ndarray:
    """``float[T]``: visible pixels of the expression's targets in each frame (0 where hidden)."""
    ann = sample.meta.get("annotation")
    if ann is not None:
        targets = set(sample.meta.get("target_ids", sample.object_ids))
        return np.array([sum(o["visible_area"] for o in fr["objects"] if o["id"] in targets)
                         for fr in ann["frames"]], dtype=float)
    return sample.load_masks().reshape(sample.num_frames, -1).sum(1).astype(float)


def target_visibility(sample: Sample) -> np.ndarray:
    """``float[T]`` in [0, 1]: visible fraction of the targets' full silhouettes (OmniSynth only)."""
    ann = sample.meta.get("annotation")
    if ann is None:
        raise ValueError("target_visibility needs OmniSynth annotations; use target_area for real data")
    targets = set(sample.meta.get("target_ids", sample.object_ids))
    out = []
    for fr in ann["frames"]:
        objs = [o for o in fr["objects"] if o["id"] in targets]
        full = sum(o["full_area"] for o in objs)
        out.append(sum(o["visible_area"] for o in objs) / full if full else 0.0)
    return np.array(out)


def uniform_keyframes(num_frames: int, k: int) -> list[int]:
    """``k`` evenly spaced frames (the no-reasoning baseline)."""
    return sorted({int(round(x)) for x in np.linspace(0, num_frames - 1, min(k, num_frames))})


def oracle_keyframes(area: np.ndarray, k: int) -> list[int]:
    """The ``k`` frames where the target is largest, spread out: greedy by area, skipping frames
    next to one already picked (so the picks cover the clip); topped up by area if needed.
    Frames where the target is hidden are picked only when nothing else is left."""
    area = np.asarray(area, float)
    k = min(k, len(area))
    order = [int(i) for i in np.argsort(-area, kind="stable")]
    picks: list[int] = []
    for i in order:
        if len(picks) < k and area[i] > 0 and all(abs(i - j) > 1 for j in picks):
            picks.append(i)
    for i in order:
        if len(picks) < k and i not in picks:
            picks.append(i)
    return sorted(picks)


def largest_keyframes(area: np.ndarray, k: int) -> list[int]:
    """The (at most) ``k`` frames where the target is visible and largest, earliest on ties, sorted
    (`oracle_keyframes` without the spreading: what maximises keyframe quality).

    >>> largest_keyframes(np.array([0, 3, 0, 5, 1, 0.]), 2), largest_keyframes(np.array([0, 2, 0.]), 4)
    ([1, 3], [1])
    """
    area = np.asarray(area, float)
    return sorted(int(i) for i in np.argsort(-area, kind="stable")[: min(k, len(area))] if area[i] > 0)


def worst_keyframes(area: np.ndarray, k: int) -> list[int]:
    """The ``k`` frames where the target is smallest (hidden first; earliest on ties)."""
    area = np.asarray(area, float)
    return sorted(int(i) for i in np.argsort(area, kind="stable")[: min(k, len(area))])
