"""The two-system pipeline: Sample → System-1 completions → plans → System-2 masks, a group at once.

System 1's keyframes index the ``N`` frames it was shown (sampled evenly from the clip's ``T``);
the pipeline maps them to clip frames, asks System 2 for boxes on each keyframe and for the
masks of every clip frame, and caches both:

- grounding by ``(clip, clip frame, description)`` — identical requests within a group of G
  completions, or across epochs, are computed once;
- segmentation by ``(clip, the frozen set of box prompts, frames)``.

`Pipeline.stats` counts computations and cache hits, so a test can prove that a group never
triggers the same System-2 request twice.

>>> import numpy as np
>>> from omni_r1_lite.data.schema import EmptyMasks, Sample
>>> from pathlib import Path
>>> class Echo:  # a toy System 2: a fixed box wherever the description says "red"
...     def ground(self, sample, frame, description):
...         return np.array([[0, 0, 1, 1]], np.float32) if "red" in description else np.zeros((0, 4), np.float32)
...     def segment(self, sample, prompts, frames=None):
...         m = np.zeros((sample.num_frames, 2, 2), bool)
...         for k, b in prompts.items():
...             m[k] = len(b) > 0
...         return m
>>> s = Sample("v/e", "toy", "VOS", "test", Path("."), tuple(f"{i}.jpg" for i in range(4)), None,
...            "x", "referring", (1,), EmptyMasks(4, 2, 2, 1))
>>> p = Pipeline(Echo(), max_frames=4)
>>> ans = '<think>.</think><answer>{"start_time": "00:00.50", "end_time": "00:00.50", "description": "the red one"}</answer>'
>>> rollouts = p.run(s, [ans, ans, "garbage"])
>>> [r.keyframes for r in rollouts], p.stats["ground_calls"], p.stats["segment_calls"]
([(1,), (1,), ()], 1, 1)
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

from omni_r1_lite.data.schema import Sample
from omni_r1_lite.systems.parsing import Plan, parse_avs_answer, parse_vos_answer
from omni_r1_lite.systems.prompts import sample_frame_indices


@dataclasses.dataclass
class Rollout:
    """One completion through the pipeline.

    Attributes:
        completion: System 1's text.
        plan: the parsed plan (keyframes in System-1 sampled indices).
        keyframes: the plan's keyframes as clip frame indices.
        descriptions: one per keyframe.
        boxes: System-2 boxes per clip keyframe, ``float32[N, 4]`` each (original pixels).
        masks: ``bool[T, H, W]`` for every clip frame, or ``None`` when not segmented.
    """

    completion: str
    plan: Plan
    keyframes: tuple[int, ...]
    descriptions: tuple[str, ...]
    boxes: dict[int, np.ndarray]
    masks: np.ndarray | None


class _LRU(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def put(self, key, value):
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class Pipeline:
    """System 1's plans → System 2, with caches (see the module docstring).

    Args:
        detail: a `omni_r1_lite.systems.detail.DetailSystem` (the paper's, or the OmniSynth stand-in).
        max_frames: frames System 1 is shown (evenly sampled from the clip).
        max_keyframes: keyframes kept from a VOS answer (K0 = 4).
        avs_keyframes: for AVS answers (one description, no times), the number of evenly spaced
            clip frames the description is grounded on (1 = the first frame, as in the paper's
            RefAVS training).
    """

    def __init__(self, detail, max_frames: int = 24, max_keyframes: int = 4, avs_keyframes: int = 1,
                 ground_cache: int = 65536, segment_cache: int = 512):
        self.detail = detail
        self.max_frames = max_frames
        self.max_keyframes = max_keyframes
        self.avs_keyframes = avs_keyframes
        self._ground: _LRU = _LRU(ground_cache)
        self._segment: _LRU = _LRU(segment_cache)
        self.stats = {"ground_calls": 0, "ground_hits": 0, "segment_calls": 0, "segment_hits": 0}

    # -- System 1 side ------------------------------------------------------------------------

    def sampled_frames(self, sample: Sample) -> list[int]:
        """Clip frame index of each of the ``N`` frames System 1 sees."""
        return sample_frame_indices(sample.num_frames, self.max_frames)

    def plan(self, sample: Sample, completion: str) -> Plan:
        """Parse a completion (never raises)."""
        if sample.task == "AVS":
            return parse_avs_answer(completion)
        return parse_vos_answer(completion, len(self.sampled_frames(sample)), self.max_keyframes)

    def clip_keyframes(self, sample: Sample, plan: Plan) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """The plan's keyframes as clip frames (AVS: evenly spaced frames, one description)."""
        if not plan.ok:
            return (), ()
        if sample.task == "AVS":
            frames = tuple(sample_frame_indices(sample.num_frames, self.avs_keyframes))
            return frames, tuple(plan.descriptions[0] for _ in frames)
        index = self.sampled_frames(sample)
        pairs: dict[int, str] = {}
        for k, d in zip(plan.keyframes, plan.descriptions):
            pairs.setdefault(index[k], d)
        return tuple(pairs), tuple(pairs.values())

    # -- System 2 side, cached ----------------------------------------------------------------

    def ground(self, sample: Sample, frame: int, description: str) -> np.ndarray:
        key = (sample.sample_id, sample.frame_dir.as_posix(), int(frame), description)
        if key in self._ground:
            self.stats["ground_hits"] += 1
            return self._ground[key]
        self.stats["ground_calls"] += 1
        boxes = np.asarray(self.detail.ground(sample, int(frame), description), np.float32).reshape(-1, 4)
        boxes.setflags(write=False)
        self._ground.put(key, boxes)
        return boxes

    def segment(self, sample: Sample, prompts: Mapping[int, np.ndarray],
                frames: Sequence[int] | None = None) -> np.ndarray:
        prompts = {int(k): np.asarray(v, np.float32).reshape(-1, 4) for k, v in prompts.items() if len(v)}
        key = (sample.frame_dir.as_posix(), tuple(sorted((k, v.tobytes()) for k, v in prompts.items())),
               None if frames is None else tuple(frames))
        if key in self._segment:
            self.stats["segment_hits"] += 1
            return self._segment[key]
        if not prompts:  # nothing to track: empty masks, System 2 is not called
            t = sample.num_frames if frames is None else len(frames)
            h, w = self._frame_hw(sample)
            masks = np.zeros((t, h, w), bool)
        else:
            self.stats["segment_calls"] += 1
            masks = np.asarray(self.detail.segment(sample, prompts, frames=frames), bool)
        masks.setflags(write=False)
        self._segment.put(key, masks)
        return masks

    def _frame_hw(self, sample: Sample) -> tuple[int, int]:
        shape = sample.load_object_masks([0]).shape
        return int(shape[-2]), int(shape[-1])

    # -- whole rollouts -------------------------------------------------------------------------

    def run_plan(self, sample: Sample, keyframes: Sequence[int], descriptions: Sequence[str],
                 segment: bool = True) -> tuple[dict[int, np.ndarray], np.ndarray | None]:
        """System 2 on clip keyframes + descriptions: boxes per keyframe and (optionally) masks."""
        boxes = {int(k): self.ground(sample, int(k), d) for k, d in zip(keyframes, descriptions)}
        masks = self.segment(sample, boxes) if segment else None
        return boxes, masks

    def run(self, sample: Sample, completions: Sequence[str], segment: bool = True) -> list[Rollout]:
        """A group of completions for one sample → rollouts with boxes and masks of every frame."""
        out = []
        for text in completions:
            plan = self.plan(sample, text)
            keyframes, descriptions = self.clip_keyframes(sample, plan)
            boxes, masks = self.run_plan(sample, keyframes, descriptions, segment=segment)
            out.append(Rollout(text, plan, keyframes, descriptions, boxes, masks))
        return out
