"""Per-frame pixel counts: the sufficient statistics of every metric in this package.

`frame_counts` makes one pass over a ``[T, H, W]`` pair of binary masks and returns, per frame, the
pixel counts (prediction, ground truth, intersection) and, when asked, the DAVIS boundary counts
(boundary pixels of each mask and how many of them are matched within the tolerance disk). J, F, the
Ref-AVS IoU, VISA's A and R all follow from these integers (see `omni_r1_lite.metrics.formulas`), so
the torch backend only has to produce the same integers.

The numpy path works frame by frame on the bounding box of the union of both masks (everything
outside is background in both), extracts the boundary pixels there, and matches them sparsely per
chunk of frames (`omni_r1_lite.metrics._boundary`); no frame is ever dilated.

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

from omni_r1_lite.metrics._boundary import boundary_radius, frame_boundary_points, match_counts, union_window
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
    ``chunk_frames`` bounds the scratch memory (frames processed together)."""
    check_backend(backend)
    if backend == "torch":
        from omni_r1_lite.metrics._torch_backend import frame_counts_torch

        return frame_counts_torch(
            pred, gt, boundary=boundary, bound_th=bound_th, device=device, chunk_frames=chunk_frames
        )
    p = as_binary(pred, "pred")
    g = as_binary(gt, "gt")
    check_same_shape(p, g, ("pred", "gt"))
    return _counts_numpy(p, g, boundary, bound_th, max(1, int(chunk_frames)))


def _counts_numpy(p: np.ndarray, g: np.ndarray, boundary: bool, bound_th: float, chunk: int) -> FrameCounts:
    t, h, w = p.shape
    radius = boundary_radius(bound_th, h, w) if boundary else 0.0
    scratch = (np.empty(h * w, bool), np.empty(h * w, bool), np.empty(h * w, bool))
    n_pred, n_gt, n_inter = (np.zeros(t, np.int64) for _ in range(3))
    parts = []
    pts_p, pts_g, held = [], [], 0
    for i in range(t):
        found = _frame_pass(p[i], g[i], boundary, scratch)
        if found is not None:
            n_pred[i], n_gt[i], n_inter[i] = found[0]
        pts_p.append(found[1] if found else _NO_POINTS)
        pts_g.append(found[2] if found else _NO_POINTS)
        held += pts_p[-1][0].size + pts_g[-1][0].size
        # frames are matched together until the chunk is full or holds enough boundary points that
        # its arrays leave the CPU caches (measured: 4-8 frames of ragged 720p masks beat 16)
        if len(pts_p) == chunk or held >= CHUNK_POINTS or i == t - 1:
            if boundary:
                parts.append(_chunk_boundary(pts_p, pts_g, (h, w), radius))
            pts_p, pts_g, held = [], [], 0
    counts = FrameCounts(n_pred, n_gt, n_inter, h * w)
    if not boundary:
        return counts
    b_pred, b_gt, hit_p, hit_g = (np.concatenate(col) for col in zip(*parts))
    return counts._replace(b_pred=b_pred, b_gt=b_gt, b_pred_hit=hit_p, b_gt_hit=hit_g)


_NO_POINTS = (np.zeros(0, np.int32), np.zeros(0, np.int32))
CHUNK_POINTS = 60_000
"""Boundary points (both masks) after which a chunk of frames is matched (see `_counts_numpy`)."""


def _frame_pass(p: np.ndarray, g: np.ndarray, boundary: bool, scratch):
    """Counts and boundary points (``(y, x)`` in the full frame, ``int32``, row-major order) of one
    frame pair, working on the bounding box of the union only; ``None`` when both frames are empty."""
    box = union_window(p, g)
    if box is None:
        return None
    pc, gc = np.ascontiguousarray(p[box]), np.ascontiguousarray(g[box])
    both = np.logical_and(pc, gc, out=scratch[2][: pc.size].reshape(pc.shape))
    counts = (np.count_nonzero(pc), np.count_nonzero(gc), np.count_nonzero(both))
    if not boundary:
        return counts, _NO_POINTS, _NO_POINTS
    return (
        counts,
        _full_yx(frame_boundary_points(pc, *scratch[:2]), box),
        _full_yx(frame_boundary_points(gc, *scratch[:2]), box),
    )


def _full_yx(flat: np.ndarray, box: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices in a crop → ``(y, x)`` in the full frame (order is preserved). In ``int32``:
    numpy's 64-bit integer division is several times slower, and frames hold < 2**31 pixels."""
    crop_w = box[1].stop - box[1].start
    flat = flat.astype(np.int32)
    y = flat // np.int32(crop_w)
    x = flat - y * np.int32(crop_w)
    y += np.int32(box[0].start)
    x += np.int32(box[1].start)
    return y, x


def _chunk_boundary(pts_p: list, pts_g: list, shape: tuple[int, int], radius: float):
    k = len(pts_p)

    def stack(pts):
        sizes = np.array([a[0].size for a in pts], np.int64)
        ys, xs = zip(*pts)
        return (np.repeat(np.arange(k, dtype=np.int32), sizes), np.concatenate(ys), np.concatenate(xs)), sizes

    (sp, n_bp), (sg, n_bg) = stack(pts_p), stack(pts_g)
    hit_p, hit_g = match_counts(sp, sg, k, shape, radius)
    return n_bp, n_bg, hit_p, hit_g
