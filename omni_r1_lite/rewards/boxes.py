"""Boxes for the rewards: IoU, Hungarian matching, and ground-truth boxes from masks.

Boxes are ``(x1, y1, x2, y2)`` in original pixels. **Convention: inclusive integer pixels** — a
box from a mask is the first and last row/column holding a foreground pixel, so a one-pixel
object is ``[x, y, x, y]`` and its width is ``x2 - x1 + 1``. IoU uses that "+1" convention
(``plus_one=True``, the official ``iou_framewise_object_matching`` / ``refavs`` ``iou`` and the
OmniSynth stand-in's ``_box_iou``), so System 2's boxes read from the same masks score exactly 1.
``plus_one=False`` gives the continuous convention (width ``x2 - x1``) for backends that return
edge coordinates.

**Deliberate deviation from the official code:** its matching IoU is
``inter / union if (union > 0 and gt_box[0] > 0) else 0`` — a guard against its ``-1`` dummy
boxes that also zeroes every ground-truth box touching the left border (``x1 = 0``). Here an
absent box is ``NaN`` instead of ``-1``, so no such guard exists and a box at ``x = 0`` gets its
true IoU (tested). Non-finite or empty boxes score 0 against anything.

>>> box_iou([0, 0, 9, 9], [0, 0, 9, 9])  # touches x = 0: the official code would say 0.0
1.0
>>> round(box_iou([0, 0, 9, 9], [5, 0, 14, 9]), 4)  # 50 px shared of 150
0.3333
>>> round(box_iou([0, 0, 10, 10], [5, 0, 15, 10], plus_one=False), 4)
0.3333
"""

from __future__ import annotations

import numpy as np

__all__ = ["box_iou", "boxes_from_masks", "iou_matrix", "match_boxes", "valid_boxes"]


def valid_boxes(boxes) -> np.ndarray:
    """``float64[N, 4]``: the rows of ``boxes`` that are four finite numbers (anything else → empty).

    >>> valid_boxes([[1, 2, 3, 4], [float("nan"), 0, 1, 1]]).tolist()
    [[1.0, 2.0, 3.0, 4.0]]
    >>> valid_boxes("junk").shape
    (0, 4)
    """
    try:
        arr = np.asarray(boxes, dtype=np.float64)
        if arr.size % 4:
            return np.zeros((0, 4))
        arr = arr.reshape(-1, 4)
    except (TypeError, ValueError):
        return np.zeros((0, 4))
    return arr[np.isfinite(arr).all(axis=1)]


def iou_matrix(a, b, plus_one: bool = True) -> np.ndarray:
    """Pairwise IoU ``float64[N, M]`` of boxes ``a: [N, 4]`` and ``b: [M, 4]`` (0 for invalid boxes).

    >>> iou_matrix([[0, 0, 9, 9]], [[0, 0, 9, 9], [20, 20, 29, 29]]).tolist()
    [[1.0, 0.0]]
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)[:, None, :]
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)[None, :, :]
    p = 1.0 if plus_one else 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        wa, ha = a[..., 2] - a[..., 0] + p, a[..., 3] - a[..., 1] + p
        wb, hb = b[..., 2] - b[..., 0] + p, b[..., 3] - b[..., 1] + p
        iw = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + p
        ih = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + p
        ok = (wa > 0) & (ha > 0) & (wb > 0) & (hb > 0) & (iw > 0) & (ih > 0)
        inter = np.where(ok, iw * ih, 0.0)
        union = np.where(ok, wa * ha + wb * hb - inter, 1.0)
        out = np.where(ok, inter / union, 0.0)
    out = np.where(np.isfinite(out), out, 0.0)
    return np.clip(out, 0.0, 1.0)


def box_iou(a, b, plus_one: bool = True) -> float:
    """IoU of two boxes ``[x1, y1, x2, y2]`` (0 when either is invalid, empty or non-finite).

    >>> box_iou([2, 2, 5, 5], [2, 2, 5, 5]), box_iou([0, 0, 1, 1], [float("inf"), 0, 1, 1])
    (1.0, 0.0)
    """
    return float(iou_matrix(a, b, plus_one)[0, 0])


def match_boxes(pred, gt, plus_one: bool = True) -> np.ndarray:
    """Hungarian matching of predicted to ground-truth boxes: the matched IoU of each GT box.

    ``pred: [N, 4]``, ``gt: [M, 4]`` → ``float64[M]``; a GT box left without a prediction (N < M)
    scores 0. The assignment maximises the summed IoU (``scipy.optimize.linear_sum_assignment`` on
    ``-IoU``), as the official ``iou_framewise_object_matching`` does per frame.

    >>> gt = [[0, 0, 9, 9], [20, 0, 29, 9]]
    >>> match_boxes([[21, 0, 29, 9], [0, 0, 9, 9]], gt).round(2).tolist()  # crossed order
    [1.0, 0.9]
    >>> match_boxes([], gt).tolist()
    [0.0, 0.0]
    """
    pred, gt = valid_boxes(pred), np.asarray(gt, dtype=np.float64).reshape(-1, 4)
    out = np.zeros(len(gt))
    if not len(pred) or not len(gt):
        return out
    from scipy.optimize import linear_sum_assignment

    m = iou_matrix(gt, pred, plus_one)
    rows, cols = linear_sum_assignment(-m)
    out[rows] = m[rows, cols]
    return out


def boxes_from_masks(masks) -> np.ndarray:
    """Inclusive boxes of masks ``bool[..., H, W]`` → ``float64[..., 4]``, ``NaN`` where empty.

    >>> m = np.zeros((2, 4, 6), bool); m[0, 1:3, 0:2] = True
    >>> boxes_from_masks(m).tolist()
    [[0.0, 1.0, 1.0, 2.0], [nan, nan, nan, nan]]
    """
    m = np.asarray(masks).astype(bool, copy=False)
    h, w = m.shape[-2:]
    rows, cols = m.any(axis=-1), m.any(axis=-2)
    y1 = rows.argmax(axis=-1)
    y2 = h - 1 - rows[..., ::-1].argmax(axis=-1)
    x1 = cols.argmax(axis=-1)
    x2 = w - 1 - cols[..., ::-1].argmax(axis=-1)
    out = np.stack([x1, y1, x2, y2], axis=-1).astype(np.float64)
    out[~rows.any(axis=-1)] = np.nan
    return out
