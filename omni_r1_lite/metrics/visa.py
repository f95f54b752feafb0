"""VISA's extra ReVOS scores (``cilinyan/VISA`` ``tools/metrics.py``, averaged per expression by
``tools/eval_revos.py``): pixel accuracy **A** and robustness **R**.

- **A** (``get_r2vos_accuracy``): per frame ``mean(gt == pred)``.
- **R** (``get_r2vos_robustness``): per frame ``max(0, 1 - |pred ∖ gt| / (|foreground| + 1e-6))``.
  VISA's *foreground* is the union of **all annotated objects of the video** in that frame
  (``tools/generate_foreground_mask.py`` ORs every ``anno_id`` of every expression of the video;
  the result ships as ``mask_dict_foreground.json``). R measures how much of a prediction falls on
  pixels that are not the referred object, relative to the video's annotated foreground; a frame
  with an empty foreground scores 1 without false positives and 0 with any.
- **Default when no foreground is given**: the expression's own ground truth. Since the video
  foreground contains it, this is a *lower bound* of VISA's R; records label it
  ``R_foreground="gt"`` (``"video"`` when the real foreground was passed).

Both take the mean over all frames of an expression. VISA's evaluator compares its own predictions
as read from 0/255 PNGs against 0/1 ground truth; ``pred_value=255`` reproduces that literally (A
then counts only pixels where both are background, and every false-positive pixel weighs 255 in R).
The default ``pred_value=1`` is the definition as written for 0/1 masks. VISA also *adds* the
masks of an expression's objects in uint8, so where two referred objects overlap its ground truth
holds 2: A then counts a mismatch, and in R's uint8 product ``(1 - gt) * pred`` a 0/255 predicted
pixel covered by k objects adds ``k - 1`` (255 · 255 wraps to 1), not 0. This module takes the
union; ``BenchmarkScorer(protocol="visa")`` (``eval.protocol=visa``) follows VISA's arithmetic
exactly, overlaps included.

>>> import numpy as np
>>> gt = np.zeros((1, 4, 4), bool); gt[0, :2, :2] = True
>>> pred = np.zeros_like(gt); pred[0, :2, :3] = True
>>> visa_accuracy(pred, gt).tolist(), visa_robustness(pred, gt).tolist()
([0.875], [0.50000012...])
>>> fg = np.zeros_like(gt); fg[0, :2] = True
>>> visa_robustness(pred, gt, fg).round(6).tolist()
[0.75]
"""

from __future__ import annotations

import numpy as np

from omni_r1_lite.metrics._checks import as_binary, as_stack
from omni_r1_lite.metrics.counts import frame_counts
from omni_r1_lite.metrics.formulas import visa_accuracy as _accuracy
from omni_r1_lite.metrics.formulas import visa_robustness as _robustness

__all__ = ["foreground_counts", "visa_accuracy", "visa_robustness"]


def check_pred_value(pred_value: int) -> int:
    if int(pred_value) != pred_value or not 1 <= pred_value <= 255:
        raise ValueError(f"pred_value must be an integer in [1, 255]; got {pred_value}")
    return int(pred_value)


def foreground_counts(foreground, shape: tuple[int, ...]) -> np.ndarray:
    """Per-frame pixel counts (``int64[T]``) of a ``bool[T, H, W]`` foreground of the given shape."""
    fg = as_binary(foreground, "foreground")
    if tuple(fg.shape) != tuple(shape):
        raise ValueError(
            f"foreground must have the masks' [T, H, W] shape {tuple(shape)}; got {tuple(fg.shape)}"
        )
    return np.array([np.count_nonzero(f) for f in fg], np.int64)


def visa_accuracy(pred, gt, *, pred_value: int = 1) -> np.ndarray:
    """Pixel accuracy per frame: ``pred, gt: bool[T, H, W]`` → ``float64[T]``."""
    return _accuracy(frame_counts(pred, gt, boundary=False), check_pred_value(pred_value))


def visa_robustness(pred, gt, foreground=None, *, pred_value: int = 1) -> np.ndarray:
    """Robustness R per frame: ``pred, gt, foreground: bool[T, H, W]`` → ``float64[T]``.

    ``foreground=None`` uses ``gt`` (a lower bound of VISA's R; see the module docstring)."""
    c = frame_counts(pred, gt, boundary=False)
    fg = None if foreground is None else foreground_counts(foreground, as_stack(pred, "pred").shape)
    return _robustness(c, fg, check_pred_value(pred_value))
