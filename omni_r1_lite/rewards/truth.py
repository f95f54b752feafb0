"""The ground truth a group's rewards read, computed once per sample (never per rollout).

`GroundTruth` holds, for the expression's **target objects**:

- ``boxes: float64[O, T, 4]`` — each target's inclusive pixel box on every clip frame, ``NaN``
  where it is not visible (for R_A, the official ``bboxs`` from ``generate_bbox``);
- ``area: float64[T]`` — target pixels per clip frame, summed over the targets (for the saliency
  term, the official ``gt_mask_sum``);
- ``masks()`` — ``bool[T, H, W]``, the union over targets (for R_G and RefAVS), loaded lazily;
- ``sampled`` — the clip frame behind each of System 1's ``N`` frames (R_K works on those).

Objects are the channels of ``sample.load_object_masks()`` that are non-empty somewhere (so a null
expression has ``O = 0``). OmniSynth's RefAVS layout stores one *union* mask per expression; when
the sample carries OmniSynth annotations, each target's box and area come from them instead
(``visible_box`` is the inclusive min/max of that object's visible mask, ``visible_area`` its pixel
count — the same numbers the per-object masks would give), so a multi-object expression
("all the red shapes") has one box per object, as in ReVOS.

>>> m = np.zeros((1, 3, 4, 6), bool); m[0, 0, 1:3, 0:2] = True; m[0, 2, 0, 5] = True
>>> gt = GroundTruth.from_masks(m)
>>> gt.num_objects, gt.area.tolist(), gt.boxes[0, 2].tolist()
(1, [4.0, 0.0, 1.0], [5.0, 0.0, 5.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from omni_r1_lite.data.schema import Sample
from omni_r1_lite.rewards.boxes import boxes_from_masks

__all__ = ["GroundTruth"]


class GroundTruth:
    """Ground truth of one sample for the rewards (see the module docstring).

    Args:
        boxes: ``float64[O, T, 4]`` inclusive boxes, ``NaN`` where the object is hidden.
        area: ``float64[T]`` target pixels per frame.
        masks: ``bool[T, H, W]`` union masks, or a zero-argument callable loading them.
        sampled: clip frame index of each System-1 frame (default: every frame).
        task: ``"VOS"`` or ``"AVS"``.
    """

    def __init__(self, boxes, area, masks: np.ndarray | Callable[[], np.ndarray],
                 sampled: Sequence[int] | None = None, task: str = "VOS"):
        self.boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, len(area), 4)
        self.area = np.asarray(area, dtype=np.float64)
        self._masks = masks
        self.sampled = tuple(range(len(self.area)) if sampled is None else (int(i) for i in sampled))
        self.task = task

    @property
    def num_frames(self) -> int:
        return len(self.area)

    @property
    def num_objects(self) -> int:
        """Target objects visible somewhere in the clip (0 for a null expression)."""
        return int(self.boxes.shape[0])

    @property
    def present(self) -> np.ndarray:
        """``bool[O, T]``: object ``o`` is visible on frame ``t``."""
        return np.isfinite(self.boxes).all(axis=-1)

    def masks(self) -> np.ndarray:
        """``bool[T, H, W]``: the union of the targets' masks (loaded on first use, then kept)."""
        if callable(self._masks):
            self._masks = np.asarray(self._masks(), dtype=bool)
        return self._masks

    @classmethod
    def from_masks(cls, object_masks, sampled: Sequence[int] | None = None, task: str = "VOS") -> GroundTruth:
        """From per-object masks ``bool[O, T, H, W]`` (empty objects are dropped)."""
        m = np.asarray(object_masks, dtype=bool)
        if m.ndim == 3:
            m = m[None]
        keep = m.reshape(m.shape[0], -1).any(axis=1)
        objects = m[keep]
        return cls(boxes_from_masks(objects), m.sum(axis=(0, 2, 3)).astype(np.float64),
                   m.any(axis=0), sampled, task)

    @classmethod
    def from_sample(cls, sample: Sample, sampled: Sequence[int] | None = None) -> GroundTruth:
        """From a `Sample` (``sampled``: ``pipeline.sampled_frames(sample)``; default every frame)."""
        ann = sample.meta.get("annotation")
        targets = sample.meta.get("target_ids", sample.object_ids)
        if ann is not None:
            frames = ann["frames"]
            boxes, area = [], np.zeros(len(frames))
            for oid in targets:
                per_frame = []
                for t, fr in enumerate(frames):
                    obj = next((o for o in fr["objects"] if o["id"] == oid), {})
                    visible = obj.get("visible_area", 0)
                    box = obj.get("visible_box")
                    per_frame.append(box if box is not None and visible > 0 else [np.nan] * 4)
                    area[t] += visible
                boxes.append(per_frame)
            boxes_arr = np.asarray(boxes, dtype=np.float64).reshape(-1, len(frames), 4)
            boxes_arr = boxes_arr[np.isfinite(boxes_arr).all(axis=-1).any(axis=1)]
            return cls(boxes_arr, area, sample.load_masks, sampled, sample.task)
        return cls.from_masks(sample.load_object_masks(), sampled, sample.task)

    def __repr__(self) -> str:
        return (f"GroundTruth(objects={self.num_objects}, frames={self.num_frames}, "
                f"sampled={len(self.sampled)}, task={self.task!r})")
