"""Per-frame pixel counts: the sufficient statistics of every metric in this package.

`frame_counts` makes one pass over a ``[T, H, W]`` pair of binary masks and returns, per frame, the
pixel counts (prediction, ground truth, intersection) and, when asked, the DAVIS boundary counts
(boundary pixels of each mask and how many of them are matched within the tolerance disk). J, F, the
Ref-AVS IoU, VISA's A and R all follow from these integers (see `omni_r1_lite.metrics.formulas`), so
the torch backend only has to produce the same integers.

The numpy path works frame by frame on the bounding box of the union of both masks (everything
outside is background in both). With boundaries it packs the two crops into bit planes, 64 pixels to
a word, and finds boundaries, dilation and matches with word-wide operations and popcounts
(`omni_r1_lite.metrics._bitplanes`); without, it counts the crops.

>>> import numpy as np
>>> gt = np.zeros((2, 6, 8), bool); gt[:, 1:4, 2:6] = True
>>> pred = np.zeros_like(gt); pred[0, 1:4, 3:7] = True
>>> c = frame_counts(pred, gt)
>>> c.pred.tolist(), c.gt.tolist(), c.inter.tolist(), c.n_pixels
([12, 0], [12, 12], [9, 0], 48)
>>> c.b_pred.tolist(), c.b_gt.tolist(), c.b_pred_hit.tolist(), c.b_gt_hit.tolist()
([14, 0], [14, 14], [14, 0], [14, 0])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from omni_r1_lite.metrics._bitplanes import PairPlanes
from omni_r1_lite.metrics._boundary import boundary_radius, union_window
from omni_r1_lite.metrics._checks import as_binary, check_same_shape

__all__ = ["FrameCounts", "frame_counts"]

BACKENDS = ("numpy", "torch")


class FrameCounts(NamedTuple):
    """Integer counts per frame (``int64[T]``); boundary fields are ``None`` when not computed.

    Attributes:
        pred, gt, inter: foreground pixels of the prediction, of the ground truth, of both.
        n_pixels: ``H * W``.
        b_pred, b_gt: DAVIS boundary pixels of the prediction / ground truth.
        b_pred_hit: prediction boundary pixels with a ground-truth boundary pixel in the disk.
        b_gt_hit: ground-truth boundary pixels with a prediction boundary pixel in the disk.
    """

    pred: np.ndarray
    gt: np.ndarray
    inter: np.ndarray
    n_pixels: int
    b_pred: np.ndarray | None = None
    b_gt: np.ndarray | None = None
    b_pred_hit: np.ndarray | None = None
    b_gt_hit: np.ndarray | None = None


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")


def frame_counts(
    pred,
    gt,
    *,
    boundary: bool = True,
    bound_th: float = 0.008,
    backend: str = "numpy",
    device=None,
    chunk_frames: int = 16,
) -> FrameCounts:
    """Per-frame counts of ``pred: bool[T, H, W]`` against ``gt: bool[T, H, W]``.

    ``[H, W]`` inputs count as one frame; 0/1 integer or float masks are accepted, anything else
    raises `ValueError`. ``boundary=False`` skips the boundary counts. ``backend="torch"`` computes
    the same integers with torch on ``device`` (default ``"cuda"`` when available, else CPU).
    ``chunk_frames``: frames the torch backend processes together (its scratch memory); the numpy
    path works one frame at a time."""
    check_backend(backend)
    if backend == "torch":
        from omni_r1_lite.metrics._torch_backend import frame_counts_torch

        return frame_counts_torch(
            pred, gt, boundary=boundary, bound_th=bound_th, device=device, chunk_frames=chunk_frames
        )
    p = as_binary(pred, "pred")
    g = as_binary(gt, "gt")
    check_same_shape(p, g, ("pred", "gt"))
    return _counts_numpy(p, g, boundary, bound_th)


def _counts_numpy(p: np.ndarray, g: np.ndarray, boundary: bool, bound_th: float) -> FrameCounts:
    t, h, w = p.shape
    out = np.zeros((7 if boundary else 3, t), np.int64)
    planes = PairPlanes(h, w, boundary_radius(bound_th, h, w)) if boundary else None
    for i in range(t):
        box = union_window(p[i], g[i])
        if box is None:  # both empty: every count is 0
            continue
        pc, gc = p[i][box], g[i][box]
        if planes is not None:
            out[:, i] = planes.frame(pc, gc)
        else:
            out[:, i] = np.count_nonzero(pc), np.count_nonzero(gc), np.count_nonzero(pc & gc)
    return FrameCounts(*out[:3], h * w, *out[3:])
