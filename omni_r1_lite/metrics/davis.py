"""DAVIS region similarity J, boundary accuracy F and J&F (used by ReVOS, MeViS and, labelled
``F_boundary``, by this kit's RefAVS table).

Definitions follow ``davisvideochallenge/davis2017-evaluation`` ``davis2017/metrics.py``
(``db_eval_iou``, ``db_eval_boundary``, ``f_measure``, ``_seg2bmap``), as also vendored by
``cilinyan/VISA`` ``tools/metrics.py`` and ``hkchengrex/vos-benchmark``; see
`omni_r1_lite.metrics._boundary` for the boundary and disk details and
`omni_r1_lite.metrics.formulas` for the edge cases. Void pixels are not supported (the referring
benchmarks have none).

Per-video convention (VISA ``tools/eval_revos.py``): J and F are averaged over **all** frames of an
expression (no first/last-frame skipping, unlike the semi-supervised DAVIS protocol), and J&F is
``(J + F) / 2`` of those means.

>>> import numpy as np
>>> gt = np.zeros((3, 24, 32), bool); gt[:, 6:18, 8:24] = True
>>> pred = gt.copy(); pred[1:] = False; pred[2, 6:18, 10:26] = True
>>> jaccard(pred, gt).round(4).tolist()
[1.0, 0.0, 0.7778]
>>> boundary_f(pred, gt).round(4).tolist()
[1.0, 0.0, 0.6071]
>>> {k: round(v, 4) for k, v in j_and_f(pred, gt).items()}
{'J': 0.5926, 'F': 0.5357, 'JF': 0.5642}
"""

from __future__ import annotations

import numpy as np

from omni_r1_lite.metrics.counts import frame_counts
from omni_r1_lite.metrics.formulas import davis_f, davis_j

__all__ = ["boundary_f", "j_and_f", "jaccard", "jf_per_frame"]


def jaccard(pred, gt, *, backend: str = "numpy", device=None) -> np.ndarray:
    """DAVIS J per frame: ``pred: bool[T, H, W]``, ``gt: bool[T, H, W]`` → ``float64[T]``.

    ``|P∩G| / |P∪G|``; 1.0 when both masks are empty."""
    return davis_j(frame_counts(pred, gt, boundary=False, backend=backend, device=device))


def boundary_f(pred, gt, *, bound_th: float = 0.008, backend: str = "numpy", device=None) -> np.ndarray:
    """DAVIS boundary F per frame: ``bool[T, H, W]`` pair → ``float64[T]``.

    ``bound_th < 1`` is a fraction of the frame diagonal (radius ``ceil(bound_th * ||(H, W)||)``),
    ``bound_th >= 1`` a radius in pixels."""
    return davis_f(frame_counts(pred, gt, bound_th=bound_th, backend=backend, device=device))


def jf_per_frame(
    pred, gt, *, bound_th: float = 0.008, backend: str = "numpy", device=None
) -> tuple[np.ndarray, np.ndarray]:
    """``(J, F)`` per frame in one pass: two ``float64[T]`` arrays."""
    c = frame_counts(pred, gt, bound_th=bound_th, backend=backend, device=device)
    return davis_j(c), davis_f(c)


def j_and_f(pred, gt, *, bound_th: float = 0.008, backend: str = "numpy", device=None) -> dict[str, float]:
    """Per-video means ``{"J", "F", "JF"}`` over all frames, as VISA's ``eval_revos.py`` does."""
    j, f = jf_per_frame(pred, gt, bound_th=bound_th, backend=backend, device=device)
    jm, fm = float(j.mean()), float(f.mean())
    return {"J": jm, "F": fm, "JF": (jm + fm) / 2}
