"""The frozen OmniSynth stand-in for System 2: a literal-only grounder and an idealised tracker.

It implements `omni_r1_lite.systems.detail.DetailSystem` for OmniSynth clips, from the clip's
own geometry (regenerated exactly from the set's seed), so it runs in milliseconds on a CPU while
keeping the two properties the paper's levers depend on:

**Grounding understands only literal single-image descriptions.** A description is split on
" and " into parts; a part is understood when it names a colour and/or a shape (``"the red
circle"``, ``"the small star"``, ``"all the circles"``); it then returns the visible box of every
object in the frame whose attributes include all the named ones. Words about time, motion or
sound (``"the shape that enters last"``, ``"the object making the high beep"``) name no
attribute, so the grounder does not understand them and answers as a grounding model does with a
phrase it cannot resolve: with its best guess, the most visible object on the keyframe
(``unresolved="salient"``, the default), which is the target only by chance. A non-literal
expression has to be rewritten. (``unresolved="nothing"`` finds nothing instead; the kit used that
at first, and it made an unrewritten expression a safe bet: its empty masks score J = 1 on every
frame where the target is out of view, about 0.45 J&F on the temporal expressions, which no real
grounder would give.) A description that names attributes no visible object has (an absent object)
finds nothing. An object whose visible fraction on the keyframe is below ``min_ground_visibility`` is
not found (too small or hidden to recognise).

**Segmentation is a tracker seeded by the keyframe boxes.** Each box is matched to the object
whose visible box overlaps it most (IoU ≥ 0.5). From its keyframe the object is followed forward
and backward while it stays visible (fraction ≥ ``min_track_visibility``); once hidden it is lost
and not re-acquired, as a memory-based tracker loses an occluded object. On a tracked frame the
mask is the object's true visible mask shifted back towards where it was on the keyframe by
``lag`` times the object's displacement (the tracker's error grows with the distance from its
keyframe). Each frame takes the nearest keyframe that reaches it; objects are united.

So a keyframe where the target is hidden seeds nothing, a keyframe far from most frames gives
drifting masks, and keyframes spread over the target's visible stretches give the best J&F.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from omni_r1_lite.data.schema import DataError, Sample

_WORD = re.compile(r"[a-z]+")


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


@functools.lru_cache(maxsize=1)
def _vocab():
    from omni_r1_lite.data.omnisynth.config import COLOURS, SHAPES, SIZES

    return frozenset(COLOURS), frozenset(SHAPES), frozenset(SIZES)


def literal_attributes(description: str) -> list[dict[str, str]]:
    """Attribute constraints per part of a description; a part naming none is dropped.

    >>> literal_attributes("the small red circle and all the stars")
    [{'colour': 'red', 'shape': 'circle', 'size': 'small'}, {'shape': 'star'}]
    >>> literal_attributes("the object making the high beep")
    []
    """
    colours, shapes, sizes = _vocab()
    parts = []
    for part in re.split(r"\band\b|,", description.lower()):
        attrs: dict[str, str] = {}
        for w in _WORD.findall(part):
            w1 = _singular(w)
            if w in colours:
                attrs["colour"] = w
            elif w1 in shapes:
                attrs["shape"] = w1
            elif w in sizes:
                attrs["size"] = w
        if "colour" in attrs or "shape" in attrs:
            parts.append({k: attrs[k] for k in ("colour", "shape", "size") if k in attrs})
    return parts


def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two inclusive pixel boxes ``[x1, y1, x2, y2]``."""
    ix = min(a[2], b[2]) - max(a[0], b[0]) + 1
    iy = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return float(inter / (area(a) + area(b) - inter))


class _ClipGeometry:
    """Per-object visible masks and statistics of one OmniSynth clip, regenerated from its seed."""

    def __init__(self, annotation_path: Path):
        from omni_r1_lite.data.omnisynth import OmniSynthConfig, make_clip
        from omni_r1_lite.data.omnisynth.loader import ClipAnnotation, read_omnisynth_summary

        ann = ClipAnnotation(annotation_path)  # the loader's reader: a DataError naming the file
        root = Path(annotation_path).parent.parent.parent
        summary = read_omnisynth_summary(root)
        try:
            cfg_dict = dict(summary["config"])
            cfg_dict["clips"] = dict(cfg_dict["clips"])
            cfg_dict = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg_dict.items()}
            config = OmniSynthConfig(**cfg_dict)
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"the OmniSynth summary holds no usable config ({e!r})", root / "omnisynth.json") from e
        try:
            split, index = ann["split"], int(ann["index"])
            objects, frames = ann["objects"], ann["frames"]
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"OmniSynth annotation lacks {e!r}", annotation_path) from e
        clip = make_clip(config, split, index)
        geo = clip.geometry
        self.visible = geo.visible  # bool[O, T, H, W]
        self.visibility = geo.visibility  # float[O, T]
        self.visible_area = geo.visible_area  # int[O, T] visible pixels
        self.visible_box = geo.visible_box  # int[O, T, 4], -1 where hidden
        self.centre = geo.centre  # float[O, T, 2]
        try:
            self.objects = {o["id"]: o for o in objects}
            declared = np.array([[o["visible_area"] for o in sorted(fr["objects"], key=lambda o: o["id"])]
                                 for fr in frames]).T
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"OmniSynth annotation has malformed objects or frames ({e!r})", annotation_path) from e
        if not np.array_equal(geo.visible_area, declared):
            raise DataError("the clip regenerated from its seed differs from its annotation", annotation_path)


class OmniSynthStandIn:
    """System 2 for OmniSynth (see the module docstring). Implements ``ground`` and ``segment``.

    Args:
        min_ground_visibility: an object less visible than this on a keyframe is not found.
        min_track_visibility: the tracker loses an object once it is less visible than this.
        lag: tracking error as a fraction of the object's displacement since the keyframe.
        unresolved: what a description naming no colour or shape finds: ``"salient"`` (the most
            visible object on the keyframe, a grounding model's best guess) or ``"nothing"``.
    """

    UNRESOLVED = ("salient", "nothing")

    def __init__(self, min_ground_visibility: float = 0.25, min_track_visibility: float = 0.1,
                 lag: float = 0.15, cache_clips: int = 64, unresolved: str = "salient"):
        if unresolved not in self.UNRESOLVED:
            raise ValueError(f"unresolved must be one of {self.UNRESOLVED}, got {unresolved!r}")
        self.unresolved = unresolved
        self.min_ground_visibility = min_ground_visibility
        self.min_track_visibility = min_track_visibility
        self.lag = lag
        self._geometry = functools.lru_cache(maxsize=cache_clips)(_ClipGeometry)

    def settings(self) -> dict[str, object]:
        """What the stand-in's answers depend on (the evaluation's resume fingerprint records it).

        >>> OmniSynthStandIn().settings()["unresolved"]
        'salient'
        """
        return {"stand_in": "omnisynth", "unresolved": self.unresolved, "lag": self.lag,
                "min_ground_visibility": self.min_ground_visibility,
                "min_track_visibility": self.min_track_visibility}

    def geometry(self, sample: Sample) -> _ClipGeometry:
        path = sample.meta.get("annotation_path")
        if path is None:
            raise ValueError(f"{sample.sample_id}: the OmniSynth stand-in needs an OmniSynth sample")
        return self._geometry(Path(path))

    def ground(self, sample: Sample, frame_index: int, description: str) -> np.ndarray:
        """``float32[N, 4]`` visible boxes of the objects the literal description names; for a
        description naming no attribute, the most visible object's box (``unresolved="salient"``)."""
        geo = self.geometry(sample)
        parts = literal_attributes(description or "")
        if not parts:
            return self._salient(geo, frame_index) if self.unresolved == "salient" else np.zeros((0, 4), np.float32)
        boxes = []
        for attrs in parts:
            for oid, obj in geo.objects.items():
                if any(obj[k] != v for k, v in attrs.items()):
                    continue
                if geo.visibility[oid, frame_index] >= self.min_ground_visibility:
                    boxes.append(geo.visible_box[oid, frame_index])
        if not boxes:
            return np.zeros((0, 4), np.float32)
        return np.unique(np.array(boxes, np.float32), axis=0)

    def _salient(self, geo: _ClipGeometry, frame: int) -> np.ndarray:
        """The box of the object with the most visible pixels on ``frame`` (lowest id on a tie);
        none when no object is visible enough to be found."""
        area = geo.visible_area[:, frame]
        oid = int(np.argmax(area))
        if area[oid] <= 0 or geo.visibility[oid, frame] < self.min_ground_visibility:
            return np.zeros((0, 4), np.float32)
        return geo.visible_box[oid, frame][None].astype(np.float32)

    def _match(self, geo: _ClipGeometry, frame: int, box: np.ndarray) -> int | None:
        best, best_iou = None, 0.5
        for oid in geo.objects:
            vb = geo.visible_box[oid, frame]
            if vb[0] < 0:
                continue
            iou = _box_iou(np.asarray(box, float), vb.astype(float))
            if iou >= best_iou:
                best, best_iou = oid, iou
        return best

    def _reach(self, geo: _ClipGeometry, oid: int, seed: int) -> list[int]:
        """Frames the tracker follows object ``oid`` to from keyframe ``seed`` (seed included)."""
        vis = geo.visibility[oid]
        frames = [seed]
        for step in (1, -1):
            t = seed + step
            while 0 <= t < len(vis) and vis[t] >= self.min_track_visibility:
                frames.append(t)
                t += step
        return frames

    def _shifted(self, geo: _ClipGeometry, oid: int, seed: int, t: int) -> np.ndarray:
        mask = geo.visible[oid, t]
        dx, dy = np.round(self.lag * (geo.centre[oid, seed] - geo.centre[oid, t])).astype(int)
        if dx == 0 and dy == 0:
            return mask
        out = np.zeros_like(mask)
        h, w = mask.shape
        ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
        xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
        out[yd, xd] = mask[ys, xs]
        return out

    def segment(self, sample: Sample, prompts: Mapping[int, np.ndarray],
                frames: Sequence[int] | None = None) -> np.ndarray:
        """``bool[T, H, W]`` masks of every frame (or of ``frames``) from box prompts per keyframe."""
        geo = self.geometry(sample)
        _, t_count, h, w = geo.visible.shape
        best: dict[tuple[int, int], int] = {}  # (object, frame) -> nearest seed
        for seed, boxes in sorted(prompts.items()):
            for box in np.asarray(boxes, float).reshape(-1, 4):
                oid = self._match(geo, int(seed), box)
                if oid is None:
                    continue
                for t in self._reach(geo, oid, int(seed)):
                    key = (oid, t)
                    if key not in best or abs(t - seed) < abs(t - best[key]):
                        best[key] = int(seed)
        masks = np.zeros((t_count, h, w), bool)
        for (oid, t), seed in best.items():
            masks[t] |= self._shifted(geo, oid, seed, t)
        return masks if frames is None else masks[list(frames)]
