"""Bootstrap intervals: the one resampling rule the kit's reports use (evaluation, QA, learning),
and the one pairing of two methods' per-sample records (`paired_points`).

A mean over a few hundred clips moves by a few points by chance alone; the percentile bootstrap
(resampling the values with replacement, ``n_boot`` times, from a seeded generator) says how far.

>>> lo, hi = bootstrap_interval([0, 1] * 50)
>>> 0.38 < lo < 0.5 < hi < 0.62
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def bootstrap_interval(values: Sequence[float], n_boot: int = 2000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (``(nan, nan)`` for no values)."""
    v = np.asarray(values, float)
    if not len(v):
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def paired_points(a: Sequence[dict], b: Sequence[dict], keep=lambda r: True) -> list[float]:
    """Per-sample ``100 × (a − b)`` J&F (points) on the records of ``a`` that ``keep`` accepts and
    whose ``sample_id`` ``b`` also scored, in ``a``'s order.

    >>> paired_points([{"sample_id": "x", "JF": 0.9}, {"sample_id": "y", "JF": 0.5}], [{"sample_id": "x", "JF": 0.4}])
    [50.0]
    """
    jf_b = {r["sample_id"]: r["JF"] for r in b}
    return [100 * (r["JF"] - jf_b[r["sample_id"]]) for r in a if keep(r) and r["sample_id"] in jf_b]
