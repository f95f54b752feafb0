"""The Ref-AVS toolkit's metrics (``GeWu-Lab/Ref-AVS``, ``utils/metric/utility.py``, called from the
test loop of ``scripts/train.py``): AVSBench-style, not DAVIS.

- **J** (``mask_iou``): per frame ``|P∩G| / (|P∪G| + 1e-7)`` with ``P = sigmoid(logit) > 0.4``; a
  frame whose ground truth is empty scores the background overlap ``|¬P∩¬G| / (H*W + 1e-7)``
  (``1 - |P| / (H*W)``). Upstream averages over *all frames of a batch* (``sum / N``).
- **F** (``Eval_Fmeasure``): frames with empty ground truth are skipped. For each remaining frame
  and each of 255 thresholds ``th`` (``torch.linspace(0, 1 - 1e-10, 255)`` in float32; the last is
  exactly 1.0), ``P_th = prob >= th``, precision ``tp / (|P_th| + 1e-20)``, recall
  ``tp / (|G| + 1e-20)``, ``F = 1.3 * prec * rec / (0.3 * prec + rec)`` (beta² = 0.3; NaN → 0).
  The curves are averaged over the kept frames of the batch and the **maximum over thresholds** is
  the batch's F; a batch without any non-empty frame scores 0.0.
- **S** (``metric_s_for_null``, null split; lower is better): ``sqrt(#(prob > 0.5) / #pixels)``
  over all frames of a batch.
- Split scores are the mean of the per-batch values (``AverageMeter``); upstream tests with
  ``batch_size=4`` expressions (10 frames each) at 256x256 (predictions and bilinearly resized
  ground truth). `AVSStats` holds the sums, so any batching can be replayed: one sample per batch
  (this kit's default, order-independent) or upstream's four.

Inputs here are **probabilities** (the sigmoid's output, ``float[T, H, W]`` in ``[0, 1]``, compared
in float32 as upstream) or binary masks (``bool`` or 0/1). For a binary mask the threshold sweep
collapses to two points: threshold 0 selects every pixel (precision = ground-truth fraction,
recall = 1) and every other threshold selects the mask itself, so F is
``max(mean F(all pixels), mean F(mask))``. The thresholds 0.4 and 0.5 both give the mask itself.

Thresholds are computed with the arithmetic of torch's CUDA ``linspace`` kernel (upstream runs on
CUDA). torch's vectorised CPU kernel differs in the last bit at a few thresholds; this matters only
for a probability within one float32 step of a threshold.

>>> import numpy as np
>>> gt = np.zeros((2, 8, 8), bool); gt[0, 2:6, 2:6] = True
>>> pred = np.zeros_like(gt); pred[0, 2:6, 2:7] = True; pred[1, 0, 0] = True
>>> avs_iou(pred, gt).round(4).tolist()
[0.8, 0.9844]
>>> round(avs_fmeasure(pred, gt), 4), round(null_s(pred), 4)
(0.8387, 0.405)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from omni_r1_lite.metrics._checks import as_binary, as_probability, check_same_shape
from omni_r1_lite.metrics.counts import FrameCounts, check_backend, frame_counts
from omni_r1_lite.metrics.formulas import avs_j

__all__ = ["AVSStats", "avs_fmeasure", "avs_iou", "avs_stats", "avs_thresholds", "null_s"]

NUM_THRESHOLDS = 255
BETA2 = 0.3
IOU_THRESHOLD = np.float32(0.4)
NULL_THRESHOLD = np.float32(0.5)


def avs_thresholds(num: int = NUM_THRESHOLDS) -> np.ndarray:
    """``float32[num]``: ``linspace(0, 1 - 1e-10, num)`` as torch's CUDA kernel computes it."""
    start, end = np.float32(0.0), np.float32(1 - 1e-10)
    step = np.float32((end - start) / np.float32(num - 1))
    idx = np.arange(num)
    low = start + step * idx.astype(np.float32)
    high = end - step * (num - 1 - idx).astype(np.float32)
    return np.where(idx < num // 2, low, high).astype(np.float32)


def _fbeta(prec: np.ndarray, rec: np.ndarray) -> np.ndarray:
    denom = BETA2 * prec + rec
    return np.where(denom > 0, (1 + BETA2) * prec * rec / np.where(denom > 0, denom, 1.0), 0.0)


@dataclasses.dataclass(frozen=True)
class AVSStats:
    """Sums behind the Ref-AVS scores of a group of frames; add two to merge (e.g. into a batch).

    Attributes:
        iou_sum, n_frames: sum of per-frame ``mask_iou`` values and the number of frames.
        f_sum, f_frames: per-threshold sum of F over frames with non-empty ground truth
            (``float64[255]``) and the number of such frames.
        fg_pixels, n_pixels: pixels with probability > 0.5, and all pixels.
    """

    iou_sum: float
    n_frames: int
    f_sum: np.ndarray
    f_frames: int
    fg_pixels: int
    n_pixels: int

    def __add__(self, other: AVSStats) -> AVSStats:
        return AVSStats(
            self.iou_sum + other.iou_sum,
            self.n_frames + other.n_frames,
            self.f_sum + other.f_sum,
            self.f_frames + other.f_frames,
            self.fg_pixels + other.fg_pixels,
            self.n_pixels + other.n_pixels,
        )

    def to_dict(self) -> dict:
        """JSON-able form (`from_dict` reads it back)."""
        return {"iou_sum": float(self.iou_sum), "n_frames": int(self.n_frames), "f_sum": self.f_sum.tolist(),
                "f_frames": int(self.f_frames), "fg_pixels": int(self.fg_pixels), "n_pixels": int(self.n_pixels)}

    @classmethod
    def from_dict(cls, d: dict) -> AVSStats:
        return cls(float(d["iou_sum"]), int(d["n_frames"]), np.asarray(d["f_sum"], dtype=np.float64),
                   int(d["f_frames"]), int(d["fg_pixels"]), int(d["n_pixels"]))

    def scores(self) -> dict[str, float]:
        """``{"J_avs", "F_avs", "S"}`` of these frames taken as one upstream batch."""
        f = 0.0 if self.f_frames == 0 else float(np.max(self.f_sum / self.f_frames))
        return {
            "J_avs": self.iou_sum / self.n_frames,
            "F_avs": f,
            "S": float(np.sqrt(self.fg_pixels / self.n_pixels)),
        }


def stats_from_counts(c: FrameCounts) -> AVSStats:
    """`AVSStats` of a binary prediction from its `FrameCounts` (no further pass over the pixels)."""
    keep = c.gt > 0
    gt, pred, inter = c.gt[keep], c.pred[keep], c.inter[keep]
    f_all = _fbeta(gt / c.n_pixels, np.ones(gt.size))  # threshold 0: every pixel is foreground
    f_mask = _fbeta(np.where(pred > 0, inter / np.maximum(pred, 1), 0.0), inter / np.maximum(gt, 1))
    f_sum = np.full(NUM_THRESHOLDS, f_mask.sum())
    f_sum[0] = f_all.sum()
    t = c.pred.size
    return AVSStats(float(avs_j(c).sum()), t, f_sum, int(keep.sum()), int(c.pred.sum()), t * c.n_pixels)


def curve_sums(hist_all: np.ndarray, hist_gt: np.ndarray) -> np.ndarray:
    """Per-threshold F summed over frames, from per-frame histograms ``int[F, 256]`` of ``k`` (the
    number of thresholds <= the pixel's probability) over all pixels and over ground-truth pixels."""
    above = np.cumsum(hist_all[:, ::-1], axis=1)[:, ::-1][:, 1:]  # pixels >= threshold i
    tp = np.cumsum(hist_gt[:, ::-1], axis=1)[:, ::-1][:, 1:]
    n_gt = hist_gt.sum(axis=1, keepdims=True)
    prec = np.where(above > 0, tp / np.maximum(above, 1), 0.0)
    return _fbeta(prec, tp / np.maximum(n_gt, 1)).sum(axis=0)


def _stats_from_probability(p: np.ndarray, g: np.ndarray) -> AVSStats:
    thr = avs_thresholds()
    t, h, w = p.shape
    hists = []
    for i in range(t):
        if not g[i].any():
            continue  # upstream skips frames with empty ground truth
        k = np.searchsorted(thr, p[i].reshape(-1), side="right")
        hists.append(
            (
                np.bincount(k, minlength=NUM_THRESHOLDS + 1),
                np.bincount(k[g[i].reshape(-1)], minlength=NUM_THRESHOLDS + 1),
            )
        )
    f_sum = curve_sums(*(np.array(x) for x in zip(*hists))) if hists else np.zeros(NUM_THRESHOLDS)
    c = frame_counts(p > IOU_THRESHOLD, g, boundary=False)
    fg = int(np.count_nonzero(p > NULL_THRESHOLD))
    return AVSStats(float(avs_j(c).sum()), t, f_sum, len(hists), fg, t * h * w)


def avs_stats(pred, gt, *, backend: str = "numpy", device=None) -> AVSStats:
    """`AVSStats` of ``pred`` (``bool[T, H, W]`` or probabilities ``float[T, H, W]``) against
    ``gt: bool[T, H, W]``."""
    check_backend(backend)
    if backend == "torch":
        from omni_r1_lite.metrics._torch_backend import avs_stats_torch

        return avs_stats_torch(pred, gt, device=device)
    p, binary = as_probability(pred, "pred")
    g = as_binary(gt, "gt")
    check_same_shape(p, g, ("pred", "gt"))
    if binary:
        return stats_from_counts(frame_counts(p, g, boundary=False))
    return _stats_from_probability(p, g)


def avs_iou(pred, gt) -> np.ndarray:
    """Ref-AVS ``mask_iou`` per frame (``float64[T]``); upstream reports their mean over a batch."""
    p, binary = as_probability(pred, "pred")
    g = as_binary(gt, "gt")
    check_same_shape(p, g, ("pred", "gt"))
    return avs_j(frame_counts(p if binary else p > IOU_THRESHOLD, g, boundary=False))


def avs_fmeasure(pred, gt) -> float:
    """Ref-AVS ``Eval_Fmeasure`` of ``[T, H, W]`` frames taken as one batch (0.0 if every ground-truth
    frame is empty)."""
    return avs_stats(pred, gt).scores()["F_avs"]


def null_s(pred) -> float:
    """Ref-AVS null-split S of ``[T, H, W]`` frames taken as one batch: ``sqrt`` of the fraction of
    pixels with probability > 0.5 (binary: foreground pixels). Lower is better."""
    p, binary = as_probability(pred, "pred")
    fg = np.count_nonzero(p) if binary else np.count_nonzero(p > NULL_THRESHOLD)
    return float(np.sqrt(fg / p.size))
