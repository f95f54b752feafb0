"""Reference metric definitions, transcribed one frame at a time from the upstream toolkits.

These are deliberately plain, slow, per-frame transcriptions of the published definitions. They
are the ground truth for ``tests/test_metrics.py`` and the baseline of
``benchmarks/metrics_speed.py``; the kit (``omni_r1_lite.metrics``) must agree with them to 1e-6.

Sources (definitions read, code not copied):

- DAVIS J/F: ``davisvideochallenge/davis2017-evaluation`` ``davis2017/metrics.py``
  (``db_eval_iou``, ``f_measure``, ``_seg2bmap``); ``cilinyan/VISA`` ``tools/metrics.py`` holds the
  same functions with ``cv2.dilate`` and ``skimage.morphology.disk``, as used here.
- PyPI ``vos-benchmark`` 0.1.0 (``hkchengrex/vos-benchmark``): ``Evaluator.feed_frame`` is a second,
  independent per-frame J/F (`vos_benchmark_frame`).
- Ref-AVS: ``GeWu-Lab/Ref-AVS`` ``utils/metric/utility.py`` (``mask_iou``, ``_eval_pr``,
  ``Eval_Fmeasure``, ``metric_s_for_null``), in torch as upstream. Upstream applies ``sigmoid`` to
  logits first; these functions take the probabilities (the sigmoid's output) directly.
- VISA: ``tools/metrics.py`` (``get_r2vos_accuracy``, ``get_r2vos_robustness``) and the averaging of
  ``tools/eval_revos.py``.
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------- DAVIS


def davis_iou_frame(annotation: np.ndarray, segmentation: np.ndarray) -> float:
    """``db_eval_iou`` for one ``[H, W]`` frame without void pixels."""
    gt = annotation.astype(bool)
    seg = segmentation.astype(bool)
    intersection = np.sum(seg & gt)
    union = np.sum(seg | gt)
    if np.isclose(union, 0):
        return 1.0
    return float(intersection / union)


def seg2bmap_frame(seg: np.ndarray) -> np.ndarray:
    """``_seg2bmap`` for one ``[H, W]`` frame (output size = input size)."""
    seg = seg.astype(bool)
    right = np.zeros_like(seg)
    below = np.zeros_like(seg)
    diag = np.zeros_like(seg)
    right[:, :-1] = seg[:, 1:]
    below[:-1, :] = seg[1:, :]
    diag[:-1, :-1] = seg[1:, 1:]
    bmap = (seg ^ right) | (seg ^ below) | (seg ^ diag)
    bmap[-1, :] = seg[-1, :] ^ right[-1, :]
    bmap[:, -1] = seg[:, -1] ^ below[:, -1]
    bmap[-1, -1] = False
    return bmap


def davis_f_frame(foreground_mask: np.ndarray, gt_mask: np.ndarray, bound_th: float = 0.008) -> float:
    """``f_measure(foreground_mask, gt_mask)`` for one ``[H, W]`` frame without void pixels."""
    import cv2
    from skimage.morphology import disk

    if bound_th >= 1:
        bound_pix = bound_th
    else:
        bound_pix = np.ceil(bound_th * np.linalg.norm(foreground_mask.shape))
    fg_boundary = seg2bmap_frame(foreground_mask)
    gt_boundary = seg2bmap_frame(gt_mask)
    footprint = disk(bound_pix).astype(np.uint8)
    fg_dil = cv2.dilate(fg_boundary.astype(np.uint8), footprint)
    gt_dil = cv2.dilate(gt_boundary.astype(np.uint8), footprint)
    gt_match = gt_boundary * fg_dil
    fg_match = fg_boundary * gt_dil
    n_fg = np.sum(fg_boundary)
    n_gt = np.sum(gt_boundary)
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision = np.sum(fg_match) / float(n_fg)
        recall = np.sum(gt_match) / float(n_gt)
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def davis_jf(pred: np.ndarray, gt: np.ndarray, bound_th: float = 0.008) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame ``(J, F)`` of ``[T, H, W]`` stacks, one frame at a time."""
    j = np.array([davis_iou_frame(g, p) for p, g in zip(pred, gt)])
    f = np.array([davis_f_frame(p, g, bound_th) for p, g in zip(pred, gt)])
    return j, f


def vos_benchmark_frame(pred: np.ndarray, gt: np.ndarray, bound_th: float = 0.008) -> tuple[float, float]:
    """``(J, F)`` of one frame from PyPI ``vos_benchmark``'s ``Evaluator.feed_frame`` (label 1).

    The evaluator only scores objects it has seen; registering label 1 up front makes it score a
    frame where both masks are empty too (J = F = 1, as DAVIS)."""
    from vos_benchmark.evaluator import Evaluator

    ev = Evaluator(boundary=bound_th)
    ev.objects_in_gt.add(1)
    ev.feed_frame(pred.astype(np.uint8), gt.astype(np.uint8))
    return float(ev.object_iou[1][0]), float(ev.boundary_f[1][0])


# --------------------------------------------------------------------------- Ref-AVS (torch)


def _torch():
    import torch

    return torch


def avs_mask_iou(pred_prob, target, eps: float = 1e-7) -> float:
    """``mask_iou`` over one batch ``[N, H, W]`` (all frames of the batch averaged together)."""
    torch = _torch()
    pred = torch.as_tensor(np.asarray(pred_prob, np.float32))
    target = torch.as_tensor(np.asarray(target, np.float32))
    n = pred.shape[0]
    num_pixels = pred.shape[-1] * pred.shape[-2]
    no_obj = target.sum(2).sum(1) == 0
    binary = (pred > 0.4).int()
    inter = (binary * target).sum(2).sum(1)
    union = torch.max(binary, target).sum(2).sum(1)
    inter_no_obj = ((1 - target) * (1 - binary)).sum(2).sum(1)
    inter[no_obj] = inter_no_obj[no_obj]
    union[no_obj] = num_pixels
    return float(torch.sum(inter / (union + eps)) / n)


def avs_pr_curves(pred_prob, gt, num: int = 255):
    """``_eval_pr`` for one frame (CPU branch): precision and recall at ``num`` thresholds."""
    torch = _torch()
    thresholds = torch.linspace(0, 1 - 1e-10, num)
    prec, recall = torch.zeros(num), torch.zeros(num)
    for i in range(num):
        y_temp = (pred_prob >= thresholds[i]).float()
        tp = (y_temp * gt).sum()
        prec[i] = tp / (y_temp.sum() + 1e-20)
        recall[i] = tp / (gt.sum() + 1e-20)
    return prec, recall


def avs_fmeasure(pred_prob, gt, pr_num: int = 255) -> float:
    """``Eval_Fmeasure`` over one batch ``[N, H, W]``: frames with empty ground truth are skipped;
    the F curve is averaged over the remaining frames and its maximum returned (0.0 if none)."""
    torch = _torch()
    pred = torch.as_tensor(np.asarray(pred_prob, np.float32))
    gt = torch.as_tensor(np.asarray(gt, np.float32))
    beta2 = 0.3
    avg_f, img_num = 0.0, 0
    score = torch.zeros(pr_num)
    for i in range(pred.shape[0]):
        if torch.mean(gt[i]) == 0.0:
            continue
        prec, recall = avs_pr_curves(pred[i], gt[i], pr_num)
        f_score = (1 + beta2) * prec * recall / (beta2 * prec + recall)
        f_score[f_score != f_score] = 0
        avg_f = avg_f + f_score
        img_num += 1
        score = avg_f / img_num
    return float(score.max().item())


def avs_null_s(pred_prob) -> float:
    """``metric_s_for_null`` over one batch: sqrt of the fraction of pixels with probability > 0.5."""
    torch = _torch()
    pred = torch.as_tensor(np.asarray(pred_prob, np.float32))
    num_pixels = pred.reshape(-1).shape[0]
    binary = (pred > 0.5).int()
    return float(torch.sqrt(torch.sum(binary.reshape(-1)) / num_pixels))


def avs_split_scores(batches: list[tuple[np.ndarray, np.ndarray]], null: bool = False) -> dict[str, float]:
    """The test loop of ``GeWu-Lab/Ref-AVS`` ``scripts/train.py``: one value per batch, then the mean
    over batches (``AverageMeter``); the null split reports the mean S."""
    if null:
        return {"S": float(np.mean([avs_null_s(p) for p, _ in batches]))}
    return {
        "J": float(np.mean([avs_mask_iou(p, g) for p, g in batches])),
        "F": float(np.mean([avs_fmeasure(p, g) for p, g in batches])),
    }


# --------------------------------------------------------------------------- VISA


def visa_accuracy(gt_masks: np.ndarray, pred_masks: np.ndarray) -> np.ndarray:
    """``get_r2vos_accuracy``: per frame ``mean(gt == pred)`` on the arrays as given (uint8)."""
    return np.array([np.mean(g == p) for g, p in zip(gt_masks, pred_masks)])


def visa_robustness(gt_masks: np.ndarray, pred_masks: np.ndarray, foreground_masks: np.ndarray) -> np.ndarray:
    """``get_r2vos_robustness``: per frame ``max(1 - sum((1 - gt) * pred) / (sum(fg) + 1e-6), 0)``,
    evaluated on uint8 arrays exactly as ``eval_revos.py`` builds them."""
    out = []
    for g, p, fg in zip(gt_masks, pred_masks, foreground_masks):
        neg = ((1 - g) * p).sum()
        pos = fg.sum()
        out.append(max(1 - neg / (pos + 1e-6), 0.0))
    return np.array(out)


def revos_summary(rows: list[dict]) -> dict[str, dict[str, float]]:
    """``eval_revos.py``'s table from per-expression ``{"J", "F", "A", "R", "type_id"}`` in [0, 1]:
    values are rounded to 2 decimals in percent per expression, averaged per type (0 referring,
    1 reasoning), and "overall" is the mean of the two types."""
    out = {}
    for name, type_id in (("referring", 0), ("reasoning", 1)):
        sel = [r for r in rows if r["type_id"] == type_id]
        vals = {
            k: float(np.mean([round(100 * np.float64(r[k]), 2) for r in sel])) for k in ("J", "F", "A", "R")
        }
        vals["JF"] = (vals["J"] + vals["F"]) / 2
        out[name] = vals
    out["overall"] = {k: (out["referring"][k] + out["reasoning"][k]) / 2 for k in out["referring"]}
    return out
