"""Per-frame metric values from `FrameCounts` (pure arithmetic, ``float64[T]``).

Each function names the upstream definition it reproduces:

- `davis_j`: ``db_eval_iou`` (``davis2017-evaluation`` / VISA ``tools/metrics.py``): ``|P∩G| / |P∪G|``,
  1 when the union is empty.
- `davis_f`: ``f_measure``: boundary precision ``hit_P / |bP|`` and recall ``hit_G / |bG|``,
  ``F = 2PR / (P + R)``; no boundary on either side → 1; boundary only in the prediction or only in
  the ground truth → 0 (DAVIS sets P, R to (0, 1) or (1, 0)).
- `avs_j`: ``mask_iou`` (``GeWu-Lab/Ref-AVS`` ``utils/metric/utility.py``) per frame:
  ``|P∩G| / (|P∪G| + 1e-7)``; a frame with empty ground truth scores the background overlap
  ``|¬P∩¬G| / (H*W + 1e-7)``.
- `visa_accuracy`, `visa_robustness`: VISA ``get_r2vos_accuracy`` / ``get_r2vos_robustness``.

>>> import numpy as np
>>> from omni_r1_lite.metrics.counts import FrameCounts
>>> c = FrameCounts(pred=np.array([0, 4, 2]), gt=np.array([0, 0, 4]), inter=np.array([0, 0, 2]), n_pixels=16)
>>> davis_j(c).tolist()
[1.0, 0.0, 0.5]
>>> np.round(avs_j(c), 6).tolist()
[1.0, 0.75, 0.5]
"""

from __future__ import annotations

import numpy as np

from omni_r1_lite.metrics.counts import FrameCounts

__all__ = ["avs_j", "davis_f", "davis_j", "visa_accuracy", "visa_robustness"]

AVS_IOU_EPS = 1e-7
VISA_R_EPS = 1e-6


def _union(c: FrameCounts) -> np.ndarray:
    return c.pred + c.gt - c.inter


def davis_j(c: FrameCounts) -> np.ndarray:
    """Region similarity J per frame (DAVIS ``db_eval_iou`` without void pixels)."""
    union = _union(c)
    return np.where(union == 0, 1.0, c.inter / np.maximum(union, 1))


def davis_f(c: FrameCounts) -> np.ndarray:
    """Boundary F-measure per frame (DAVIS ``f_measure``); needs the boundary counts."""
    if c.b_pred is None:
        raise ValueError("these counts were made with boundary=False")
    n_p, n_g = c.b_pred, c.b_gt
    precision = np.where(n_p > 0, c.b_pred_hit / np.maximum(n_p, 1), 1.0)
    recall = np.where(n_g > 0, c.b_gt_hit / np.maximum(n_g, 1), 1.0)
    precision = np.where((n_p > 0) & (n_g == 0), 0.0, precision)  # DAVIS: P = 0, R = 1
    recall = np.where((n_p == 0) & (n_g > 0), 0.0, recall)  # DAVIS: P = 1, R = 0
    total = precision + recall
    return np.where(total == 0, 0.0, 2 * precision * recall / np.where(total == 0, 1.0, total))


def avs_j(c: FrameCounts) -> np.ndarray:
    """Ref-AVS ``mask_iou`` per frame (before its average over the frames of a batch)."""
    union = _union(c)
    empty = c.gt == 0
    inter = np.where(empty, c.n_pixels - union, c.inter)
    denom = np.where(empty, c.n_pixels, union)
    return inter / (denom + AVS_IOU_EPS)


def visa_accuracy(c: FrameCounts, pred_value: int = 1) -> np.ndarray:
    """VISA pixel accuracy ``mean(gt == pred)`` per frame.

    ``pred_value`` is the integer a foreground prediction pixel holds when VISA's script compares it
    with the 0/1 ground truth: 1 for 0/1 masks (then A = 1 - |P xor G| / (H*W)); VISA's own inference
    writes 0/255 PNGs, and with ``pred_value=255`` only pixels where both are background agree."""
    if pred_value == 1:
        return 1.0 - (c.pred + c.gt - 2 * c.inter) / c.n_pixels
    return (c.n_pixels - _union(c)) / c.n_pixels


def visa_robustness(c: FrameCounts, foreground: np.ndarray | None = None, pred_value: int = 1) -> np.ndarray:
    """VISA robustness ``max(0, 1 - pred_value * |P \\ G| / (|foreground| + 1e-6))`` per frame.

    ``foreground``: per-frame foreground pixel counts (VISA: the union of all annotated objects of the
    video, ``mask_dict_foreground.json``); ``None`` uses the ground truth itself, which gives a lower
    bound of VISA's R because the video foreground contains the ground truth."""
    fg = c.gt if foreground is None else np.asarray(foreground)
    false_pos = (c.pred - c.inter) * pred_value
    return np.maximum(1.0 - false_pos / (fg + VISA_R_EPS), 0.0)
