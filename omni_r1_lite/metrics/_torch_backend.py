"""torch versions of `frame_counts` and `avs_stats`: the same integers, computed on any device.

Boundary maps use the same slicing as `boundary_map`; the tolerance disk is applied as a
``conv2d`` with the footprint (zero padding, so pixels outside the frame never match), thresholded
at 0.5: sums of 0/1 products are exact, so the result equals ``cv2.dilate``. Only per-frame
integers leave the device. On the CPU the dense dilation is the slow way (``benchmarks/
metrics_speed.py``: ~350 ms per 720p frame): there the tensors go, shared, to the numpy path's
bit planes, which compute the same integers.
"""

from __future__ import annotations

import numpy as np

from omni_r1_lite.metrics._boundary import boundary_radius, disk_geometry
from omni_r1_lite.metrics._checks import binary_error, probability_error
from omni_r1_lite.metrics.counts import FrameCounts

__all__ = ["avs_stats_torch", "frame_counts_torch"]


def _device(device):
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _stack(x, name: str, device):
    import torch

    t = x if torch.is_tensor(x) else torch.from_numpy(np.ascontiguousarray(x))
    t = t.to(device)
    if t.ndim == 2:
        t = t[None]
    elif t.ndim != 3:
        raise ValueError(f"{name} must have shape [T, H, W] or [H, W]; got shape {tuple(t.shape)}")
    if 0 in t.shape:
        raise ValueError(f"{name} has no pixels or no frames: shape {tuple(t.shape)}")
    if t.dtype.is_complex:
        raise ValueError(f"{name} must be a bool, integer or float array; got dtype {t.dtype}")
    return t


def _range(t, name: str):
    lo, hi = t.min().item(), t.max().item()
    if t.dtype.is_floating_point and (np.isnan(lo) or np.isnan(hi)):
        raise ValueError(f"{name} contains NaN")
    return lo, hi


def binary_tensor(x, name: str, device):
    """``bool[T, H, W]`` tensor on ``device``; the same checks and messages as `as_binary`."""
    import torch

    t = _stack(x, name, device)
    if t.dtype == torch.bool:
        return t
    lo, hi = _range(t, name)
    ok = lo >= 0 and hi <= 1
    if ok and t.dtype.is_floating_point:
        ok = bool(((t == 0) | (t == 1)).all())
    if not ok:
        raise ValueError(binary_error(name, lo, hi))
    return t != 0


def probability_tensor(x, name: str, device):
    """``(tensor, is_binary)`` as `as_probability`: bool, or float32 probabilities in [0, 1]."""
    import torch

    t = _stack(x, name, device)
    if t.dtype == torch.bool:
        return t, True
    lo, hi = _range(t, name)
    if lo < 0 or hi > 1:
        raise ValueError(probability_error(name, lo, hi))
    if not t.dtype.is_floating_point:
        return t != 0, True
    return t.to(torch.float32), False


def _boundary(m):
    import torch

    b = torch.zeros_like(m)
    horiz = m[:, :, :-1] ^ m[:, :, 1:]
    b[:, :, :-1] = horiz
    b[:, :-1, :-1] |= horiz[:, 1:, :]
    b[:, :-1, :] |= m[:, :-1, :] ^ m[:, 1:, :]
    return b


def _footprint(radius: float, device):
    import torch

    geo = disk_geometry(radius)
    r = geo.reach
    k = torch.zeros((1, 1, 2 * r + 1, 2 * r + 1), dtype=torch.float32, device=device)
    for dy, lo, hi in geo.rows:
        k[0, 0, dy + r, lo + r : hi + r + 1] = 1.0
    return k, r


def _dilate(b, kernel, r: int):
    import torch.nn.functional as F

    x = F.pad(b[:, None].to(kernel.dtype), (r, r, r, r))
    return F.conv2d(x, kernel)[:, 0] > 0.5


def frame_counts_torch(
    pred, gt, *, boundary: bool, bound_th: float, device, chunk_frames: int, dense: bool | None = None
) -> FrameCounts:
    """`frame_counts` on ``device`` (default: CUDA when available). ``dense``: the conv2d dilation
    (default: on any device but the CPU, where the numpy bit planes are used)."""
    dev = _device(device)
    p, g = binary_tensor(pred, "pred", dev), binary_tensor(gt, "gt", dev)
    if tuple(p.shape) != tuple(g.shape):
        raise ValueError(
            f"pred and gt must have the same [T, H, W] shape; got {tuple(p.shape)} and {tuple(g.shape)}"
        )
    if dense is None:
        dense = dev.type != "cpu"
    if not dense:
        # a dense conv2d with the 25x25 disk costs ~350 ms per 720p frame on a CPU; the numpy
        # path's bit planes give the same integers ~200-700x faster (the tensors are shared)
        from omni_r1_lite.metrics.counts import _counts_numpy

        return _counts_numpy(p.numpy(), g.numpy(), boundary, bound_th)
    t, h, w = p.shape
    fields = {"pred": [], "gt": [], "inter": [], "b_pred": [], "b_gt": [], "b_pred_hit": [], "b_gt_hit": []}
    kernel, r = _footprint(boundary_radius(bound_th, h, w), dev) if boundary else (None, 0)
    step = max(1, int(chunk_frames))
    for s in range(0, t, step):
        pc, gc = p[s : s + step], g[s : s + step]
        fields["pred"].append(pc.sum((1, 2)))
        fields["gt"].append(gc.sum((1, 2)))
        fields["inter"].append((pc & gc).sum((1, 2)))
        if boundary:
            bp, bg = _boundary(pc), _boundary(gc)
            fields["b_pred"].append(bp.sum((1, 2)))
            fields["b_gt"].append(bg.sum((1, 2)))
            fields["b_pred_hit"].append((bp & _dilate(bg, kernel, r)).sum((1, 2)))
            fields["b_gt_hit"].append((bg & _dilate(bp, kernel, r)).sum((1, 2)))
    out = {k: _to_numpy(v) for k, v in fields.items() if v}
    return FrameCounts(n_pixels=h * w, **out)


def _to_numpy(parts) -> np.ndarray:
    import torch

    return torch.cat(parts).to("cpu", torch.int64).numpy()


def avs_stats_torch(pred, gt, *, device):
    """`avs_stats` on ``device``."""
    import torch

    from omni_r1_lite.metrics.formulas import avs_j
    from omni_r1_lite.metrics.refavs import (
        IOU_THRESHOLD,
        NULL_THRESHOLD,
        NUM_THRESHOLDS,
        AVSStats,
        avs_thresholds,
        curve_sums,
        stats_from_counts,
    )

    dev = _device(device)
    p, binary = probability_tensor(pred, "pred", dev)
    g = binary_tensor(gt, "gt", dev)
    if tuple(p.shape) != tuple(g.shape):
        raise ValueError(
            f"pred and gt must have the same [T, H, W] shape; got {tuple(p.shape)} and {tuple(g.shape)}"
        )
    if binary:
        return stats_from_counts(
            frame_counts_torch(p, g, boundary=False, bound_th=0.0, device=dev, chunk_frames=64)
        )
    t, h, w = p.shape
    thr = torch.from_numpy(avs_thresholds()).to(dev)
    keep = g.flatten(1).any(1)
    n = NUM_THRESHOLDS + 1
    pk, gk = p[keep].flatten(1), g[keep].flatten(1)
    k = torch.bucketize(pk, thr, right=True) + n * torch.arange(pk.shape[0], device=dev)[:, None]
    hist_all = torch.bincount(k.flatten(), minlength=n * pk.shape[0]).reshape(-1, n)
    hist_gt = torch.bincount(k[gk], minlength=n * pk.shape[0]).reshape(-1, n)
    f_sum = (
        curve_sums(hist_all.cpu().numpy(), hist_gt.cpu().numpy()) if pk.shape[0] else np.zeros(NUM_THRESHOLDS)
    )
    c = frame_counts_torch(
        p > float(IOU_THRESHOLD), g, boundary=False, bound_th=0.0, device=dev, chunk_frames=64
    )
    fg = int((p > float(NULL_THRESHOLD)).sum().item())
    return AVSStats(float(avs_j(c).sum()), t, f_sum, int(pk.shape[0]), fg, t * h * w)
