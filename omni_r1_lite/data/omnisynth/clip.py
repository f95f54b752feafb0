"""One OmniSynth clip end to end in memory: scene → geometry → sounds → expressions → annotation.

>>> from omni_r1_lite.data.omnisynth.config import OmniSynthConfig
>>> clip = make_clip(OmniSynthConfig.smoke(), "seen", 0)
>>> clip.frames.shape, clip.audio.dtype, clip.audio.shape      # [T, H, W, 3], int16[T * sr]
((10, 168, 224, 3), dtype('int16'), (160000,))
>>> sorted(clip.annotation)[:4]
['expressions', 'format', 'frames', 'height']
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from omni_r1_lite.data.omnisynth.audio import soundtrack
from omni_r1_lite.data.omnisynth.config import REFAVS_SPLIT, SCALE_RANGE, SIZE_RADIUS, OmniSynthConfig
from omni_r1_lite.data.omnisynth.expressions import Expression, choose, choose_null, needs_both_words
from omni_r1_lite.data.omnisynth.render import render
from omni_r1_lite.data.omnisynth.scene import Geometry, Scene, rasterise, sample_events, sample_scene

ANNOTATION_FORMAT = "omnisynth-annotation/1"
_MAX_ATTEMPTS = 50


@dataclasses.dataclass
class Clip:
    """A generated clip: ``frames`` ``uint8[T, H, W, 3]``, ``audio`` ``int16[N]``, and its
    ``annotation`` (the json written to ``annotations/<vid>.json``)."""

    scene: Scene
    geometry: Geometry
    expressions: list[Expression]
    fids: list[int]
    uids: list[str]
    frames: np.ndarray
    audio: np.ndarray
    annotation: dict[str, Any]

    @property
    def vid(self) -> str:
        return self.scene.vid

    def target_masks(self, fid: int) -> np.ndarray:
        """``bool[T, H, W]``: union of the visible masks of the targets of mask set ``fid``."""
        e = next(e for e, f in zip(self.expressions, self.fids) if f == fid)
        geo = self.geometry
        if not e.targets:
            return np.zeros(geo.visible.shape[1:], dtype=bool)
        return geo.visible[list(e.targets)].any(axis=0)


def _box(b) -> list[int] | None:
    return None if b[0] < 0 else [int(v) for v in b]


def _annotation(scene: Scene, geo: Geometry, exprs, fids, uids) -> dict[str, Any]:
    cfg = scene.config
    base = min(cfg.width, cfg.height)
    vis = geo.visibility
    objects = []
    for o in scene.objects:
        ref = math.pi * (SIZE_RADIUS[o.size] * base * SCALE_RANGE[1]) ** 2
        objects.append({
            "id": o.id, "colour": o.colour, "shape": o.shape, "size": o.size, "depth": o.depth,
            "motion": o.motion, "pitch": o.pitch, "timbre": o.timbre,
            "sounding": any(e.object == o.id for e in scene.events),
            "radius": round(o.radius, 3), "ref_area": int(round(ref)),
            "start": [round(v, 3) for v in o.p0], "end": [round(v, 3) for v in o.p1],
            "scale": [round(o.s0, 4), round(o.s1, 4)], "literal": o.literal,
        })
    frames = []
    for t in range(cfg.num_frames):
        recs = []
        for o in scene.objects:
            k = o.id
            recs.append({
                "id": k,
                "visibility": round(float(vis[k, t]), 4),
                "visible_area": int(geo.visible_area[k, t]),
                "onscreen_area": int(geo.onscreen_area[k, t]),
                "full_area": int(geo.full_area[k, t]),
                "visible_box": _box(geo.visible_box[k, t]),
                "full_box": [int(v) for v in geo.full_box[k, t]],
                "centre": [round(float(v), 2) for v in geo.centre[k, t]],
            })
        frames.append({"t": t, "time": round(t * cfg.seconds_per_frame, 4), "objects": recs})
    expressions = [
        {"index": i, "uid": uids[i], "fid": fids[i], "type": e.type, "kind": e.kind, "exp": e.text,
         "literal": e.literal, "target_ids": list(e.targets)}
        for i, e in enumerate(exprs)
    ]
    return {
        "format": ANNOTATION_FORMAT,
        "vid": scene.vid, "split": scene.split, "refavs_split": REFAVS_SPLIT[scene.split],
        "index": scene.index, "seed": list(scene.seed_entropy),
        "num_frames": cfg.num_frames, "width": cfg.width, "height": cfg.height,
        "seconds_per_frame": cfg.seconds_per_frame, "sample_rate": cfg.sample_rate,
        "objects": objects, "frames": frames,
        "sounds": [dataclasses.asdict(e) for e in scene.events],
        "expressions": expressions,
    }


def make_clip(config: OmniSynthConfig, split: str, index: int) -> Clip:
    """Generate clip ``index`` of ``split`` (a pure function of config, split and index).

    A scene that allows no expression (e.g. an unseen clip whose held-out object is never well
    visible) is redrawn with the next ``attempt`` sub-seed, so every clip has expressions."""
    for attempt in range(_MAX_ATTEMPTS):
        scene = sample_scene(config, split, index, attempt)
        geo = rasterise(scene)
        events = sample_events(scene, geo)
        if split == "null":
            exprs = choose_null(scene, config.null_per_clip)
        else:
            exprs = choose(scene, geo, config.multi_prob)
        if exprs:
            break
    else:  # pragma: no cover - never observed
        raise RuntimeError(f"no valid expression for {split} clip {index} after {_MAX_ATTEMPTS} scenes")
    fids, by_targets, uids = [], {}, []
    for i, e in enumerate(exprs):
        fid = by_targets.setdefault(e.targets, len(by_targets))
        fids.append(fid)
        uids.append(f"{scene.vid}_null_{i + 1}" if e.type == "null" else f"{scene.vid}_f{fid}_{i + 1}")
    frames = render(scene, geo)
    duration = config.num_frames * config.seconds_per_frame
    audio = soundtrack(events, duration, config.sample_rate, scene.rng)
    ann = _annotation(scene, geo, exprs, fids, uids)
    return Clip(scene, geo, exprs, fids, uids, frames, audio, ann)


def target_stats(clip: Clip) -> list[dict[str, Any]]:
    """Per non-null expression: target visibility and saliency statistics (for the summary).

    ``saliency[t]`` = visible target area / its maximum over the clip (the paper's R_saliency);
    ``oracle``/``uniform``/``worst`` are the mean saliency of the best 4, evenly spaced 4 and
    worst 4 frames (the keyframe lever)."""
    geo, out = clip.geometry, []
    t_count = geo.visible.shape[1]
    k = min(4, t_count)
    uniform_idx = np.linspace(0, t_count - 1, k).round().astype(int)
    for e in clip.expressions:
        if not e.targets:
            continue
        idx = list(e.targets)
        area = geo.visible_area[idx].sum(axis=0).astype(float)
        full = geo.full_area[idx].sum(axis=0).astype(float)
        vis = area / np.maximum(full, 1)
        sal = area / max(area.max(), 1.0)
        srt = np.sort(sal)
        out.append({
            "type": e.type, "kind": e.kind,
            "vis_lt_0.3": float((vis < 0.3).mean()), "invisible": float((area == 0).mean()),
            "oracle": float(srt[-k:].mean()), "uniform": float(sal[uniform_idx].mean()),
            "worst": float(srt[:k].mean()),
            "needs_both": e.kind != "literal" or needs_both_words(clip.scene.objects, e.targets[0]),
        })
    return out
