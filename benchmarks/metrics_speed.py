"""How fast the kit's DAVIS J&F is against the per-frame reference, on the same 720p masks.

Usage: ``python benchmarks/metrics_speed.py [--frames 200] [--height 720] [--width 1280]
[--repeats 2] [--seed 0] [--backend numpy|torch] [--device cuda] [--vos-benchmark]``.

The masks are blob-like objects (two star-shaped, slowly deforming objects moving across the frame,
sometimes cut by the border) with a prediction that is a perturbed copy (other scale, wobble and an
offset of up to 12 px; the small object is missed every 25th frame and a spurious blob appears every
7th). The kit's ``jf_per_frame`` and the reference
(``tests/reference_metrics.py``: ``db_eval_iou`` + ``f_measure`` one frame at a time, with
``cv2.dilate`` as in ``davis2017-evaluation`` / VISA) run on the same masks in the same process, interleaved;
each time is the best of ``--repeats`` runs. ``--vos-benchmark`` also times the PyPI package's per-frame
``Evaluator.feed_frame``. Prints a few lines, then the figures as ONE JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, installed or not
sys.path.insert(1, str(ROOT / "tests"))

from omni_r1_lite.metrics import jf_per_frame  # noqa: E402

HARMONICS = np.arange(2, 6)


class _Blob:
    """A star-shaped object: radius ``R * (1 + sum_k a_k sin(k theta + phi_k))`` on a fixed grid."""

    def __init__(self, rng: np.random.Generator, radius: float):
        self.radius = radius
        self.amp = rng.uniform(0.02, 0.08, HARMONICS.size)
        self.phase = rng.uniform(0, 2 * np.pi, HARMONICS.size)
        self.spin = rng.normal(0, 0.02, HARMONICS.size)
        self.half = int(np.ceil(radius * 1.45)) + 2
        yy, xx = np.mgrid[-self.half : self.half + 1, -self.half : self.half + 1].astype(np.float32)
        theta = np.arctan2(yy, xx)
        self.d2 = yy * yy + xx * xx
        self.sin = [np.sin(k * theta) for k in HARMONICS]
        self.cos = [np.cos(k * theta) for k in HARMONICS]

    def mask(self, t: int, scale: float = 1.0, wobble: np.ndarray | None = None) -> np.ndarray:
        phase = self.phase + self.spin * t + (0 if wobble is None else wobble)
        rad = np.ones_like(self.d2)
        for a, s, c, p in zip(self.amp, self.sin, self.cos, phase):
            rad += a * (s * np.float32(np.cos(p)) + c * np.float32(np.sin(p)))
        rad *= np.float32(self.radius * scale)
        return self.d2 <= rad * rad


def _paste(frame: np.ndarray, patch: np.ndarray, cy: int, cx: int) -> None:
    h, w = frame.shape
    half = patch.shape[0] // 2
    y0, x0 = cy - half, cx - half
    ys, xs = slice(max(y0, 0), min(y0 + patch.shape[0], h)), slice(max(x0, 0), min(x0 + patch.shape[1], w))
    if ys.start < ys.stop and xs.start < xs.stop:
        frame[ys, xs] |= patch[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0]


def make_masks(frames: int, height: int, width: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(pred, gt)``: ``bool[frames, height, width]`` each."""
    rng = np.random.default_rng(seed)
    objects = []
    for radius in (0.16 * height, 0.07 * height):
        start = rng.uniform([0.25 * height, 0.15 * width], [0.75 * height, 0.5 * width])
        velocity = rng.uniform([-0.6, 1.0], [0.6, 3.0])
        objects.append((_Blob(rng, radius), start, velocity))
    gt = np.zeros((frames, height, width), bool)
    pred = np.zeros_like(gt)
    for t in range(frames):
        for i, (blob, start, velocity) in enumerate(objects):
            cy, cx = (start + velocity * t).round().astype(int)
            _paste(gt[t], blob.mask(t), cy, cx)
            if i == 1 and t % 25 == 0:
                continue  # the prediction misses the small object now and then
            wobble = rng.normal(0, 0.3, HARMONICS.size)
            dy, dx = rng.integers(-12, 13, 2)
            _paste(pred[t], blob.mask(t, rng.uniform(0.85, 1.15), wobble), cy + dy, cx + dx)
        if t % 7 == 0:  # and now and then segments something else
            cy, cx = rng.integers(0, height), rng.integers(0, width)
            _paste(pred[t], objects[1][0].mask(t, 0.8), cy, cx)
    return pred, gt


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _best_times(fns, repeats: int):
    """Run the functions in turn ``repeats`` times (interleaved, so a busy machine hits both alike);
    the best time and the last result of each."""
    best, outs = [float("inf")] * len(fns), [None] * len(fns)
    for _ in range(max(1, repeats)):
        for i, fn in enumerate(fns):
            seconds, outs[i] = _timed(fn)
            best[i] = min(best[i], seconds)
    return best, outs


def _vos_benchmark(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from reference_metrics import vos_benchmark_frame

    res = np.array([vos_benchmark_frame(p, g) for p, g in zip(pred, gt)])
    return res[:, 0], res[:, 1]


def main() -> None:
    import reference_metrics

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", default="numpy", choices=["numpy", "torch"])
    ap.add_argument("--device", default=None)
    ap.add_argument(
        "--vos-benchmark", action="store_true", help="also time vos_benchmark's Evaluator per frame"
    )
    a = ap.parse_args()

    t0 = time.perf_counter()
    pred, gt = make_masks(a.frames, a.height, a.width, a.seed)
    print(
        f"made {a.frames} frames of {a.height}x{a.width} in {time.perf_counter() - t0:.1f} s; "
        f"foreground {gt.mean():.3f} (gt), {pred.mean():.3f} (pred)"
    )

    def kit():
        return jf_per_frame(pred, gt, backend=a.backend, device=a.device)

    kit(), reference_metrics.davis_jf(pred[:2], gt[:2])  # warm-up: imports, caches
    (kit_s, ref_s), ((j, f), (j_ref, f_ref)) = _best_times(
        [kit, lambda: reference_metrics.davis_jf(pred, gt)], a.repeats
    )
    diff = float(max(np.abs(j - j_ref).max(), np.abs(f - f_ref).max()))
    result = {
        "frames": a.frames,
        "height": a.height,
        "width": a.width,
        "backend": a.backend,
        "kit_s": round(kit_s, 4),
        "reference_s": round(ref_s, 4),
        "speedup": round(ref_s / kit_s, 2),
        "max_abs_diff": diff,
        "mean_J": round(float(j.mean()), 6),
        "mean_F": round(float(f.mean()), 6),
    }
    print(
        f"kit ({a.backend}) {kit_s:.3f} s   reference (per frame, cv2) {ref_s:.3f} s   "
        f"speedup {ref_s / kit_s:.1f}x   max |diff| {diff:.2e}"
    )
    if a.vos_benchmark:
        vb_s, (j_vb, f_vb) = _timed(lambda: _vos_benchmark(pred, gt))
        result["vos_benchmark_s"] = round(vb_s, 4)
        result["vos_benchmark_max_abs_diff"] = float(max(np.abs(j - j_vb).max(), np.abs(f - f_vb).max()))
        print(f"vos_benchmark Evaluator (per frame) {vb_s:.3f} s   speedup {vb_s / kit_s:.1f}x")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
