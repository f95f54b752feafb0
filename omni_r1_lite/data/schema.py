"""One `Sample` schema for both tasks (VOS and AVS), read from RefAVS, ReVOS or OmniSynth.

A `Sample` is light: paths, the expression and a `MaskSource` that decodes the ground-truth
masks only when asked (a ReVOS `mask_dict.json` or a RefAVS PNG folder is never touched while
listing a split).

Expression types follow the benchmarks' vocabulary: ``referring`` (a literal description,
OmniSynth's "literal"), ``reasoning`` (needs temporal or world reasoning), ``audio-visual``
(needs the audio) and ``null`` (the referent is absent: empty masks).

>>> s = Sample(sample_id="v0/e0", dataset="omnisynth", task="AVS", split="seen",
...            frame_dir=Path("clips/v0/frames"), frame_names=("0.jpg", "1.jpg"),
...            audio_path=None, expression="the red circle", expression_type="referring",
...            object_ids=(1,), masks=EmptyMasks(num_frames=2, height=4, width=6, num_objects=1))
>>> s.num_frames, s.load_masks().shape, s.load_masks().dtype
(2, (2, 4, 6), dtype('bool'))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

Task = Literal["VOS", "AVS"]
EXPRESSION_TYPES = ("referring", "reasoning", "audio-visual", "null")
ExpressionType = Literal["referring", "reasoning", "audio-visual", "null"]


class DataError(ValueError):
    """A file of a dataset is missing or unreadable; the message names the file."""

    def __init__(self, message: str, path: str | Path | None = None):
        super().__init__(f"{message}: {path}" if path is not None else message)
        self.path = Path(path) if path is not None else None


class MaskSource(Protocol):
    """Decodes ground-truth masks lazily. ``load()`` returns ``bool[O, T, H, W]``."""

    num_objects: int

    def load(self, frames: Sequence[int] | None = None) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True)
class EmptyMasks:
    """All-empty masks (RefAVS null rows, OmniSynth null expressions)."""

    num_frames: int
    height: int
    width: int
    num_objects: int = 0

    def load(self, frames: Sequence[int] | None = None) -> np.ndarray:
        t = self.num_frames if frames is None else len(frames)
        return np.zeros((max(self.num_objects, 1), t, self.height, self.width), dtype=bool)


@dataclasses.dataclass(frozen=True)
class Sample:
    """One (clip, expression) pair.

    Attributes:
        sample_id: unique within its dataset, e.g. ``"<vid>/<uid>"``.
        dataset: ``"refavs"``, ``"revos"`` or ``"omnisynth"``.
        task: ``"VOS"`` (System 1 answers keyframes + descriptions) or ``"AVS"`` (audio + a
            frame, System 1 answers a single-image rewrite).
        split: the dataset's own split name (``test_s``, ``valid``, ``seen``, ...).
        frame_dir: folder of integer-named JPEGs (``0.jpg`` or ``00000.jpg``).
        frame_names: file names in temporal order (sorted by their integer stem).
        audio_path: 16 kHz-decodable audio file, or ``None`` when the clip has no audio.
        expression: the referring expression as given by the benchmark.
        expression_type: one of `EXPRESSION_TYPES`.
        object_ids: the referred objects' ids (empty for null expressions).
        masks: `MaskSource`; ``load_masks()`` gives ``bool[T, H, W]`` (union over objects).
        meta: anything dataset-specific (OmniSynth annotations path, ReVOS type_id, ...).
    """

    sample_id: str
    dataset: str
    task: Task
    split: str
    frame_dir: Path
    frame_names: tuple[str, ...]
    audio_path: Path | None
    expression: str
    expression_type: ExpressionType
    object_ids: tuple[Any, ...]
    masks: MaskSource
    meta: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def __post_init__(self):
        if self.task not in ("VOS", "AVS"):
            raise ValueError(f"task must be 'VOS' or 'AVS', got {self.task!r}")
        if self.expression_type not in EXPRESSION_TYPES:
            raise ValueError(f"expression_type must be one of {EXPRESSION_TYPES}, got {self.expression_type!r}")

    @property
    def num_frames(self) -> int:
        return len(self.frame_names)

    @property
    def frame_paths(self) -> list[Path]:
        return [self.frame_dir / n for n in self.frame_names]

    @property
    def is_null(self) -> bool:
        return self.expression_type == "null"

    def load_object_masks(self, frames: Sequence[int] | None = None) -> np.ndarray:
        """Ground truth per object: ``bool[O, T, H, W]`` (O ≥ 1; all False for null)."""
        return self.masks.load(frames)

    def load_masks(self, frames: Sequence[int] | None = None) -> np.ndarray:
        """Ground truth as the benchmarks score it: ``bool[T, H, W]``, the union over objects."""
        return self.masks.load(frames).any(axis=0)


def sort_frame_names(names: Sequence[str]) -> tuple[str, ...]:
    """Integer-named frame files in temporal order; other files are ignored.

    >>> sort_frame_names(["10.jpg", "2.jpg", "notes.txt", "00001.jpg"])
    ('00001.jpg', '2.jpg', '10.jpg')
    """
    frames = [n for n in names if n.lower().endswith((".jpg", ".jpeg")) and Path(n).stem.isdigit()]
    return tuple(sorted(frames, key=lambda n: int(Path(n).stem)))


def of_types(samples: Sequence[Sample], types: Sequence[str], setting: str) -> list[Sample]:
    """The samples whose expression type is in ``types`` (all of them when ``types`` is empty); an
    error naming ``setting`` (the config field that asked) when none is left.

    >>> from types import SimpleNamespace as S
    >>> [s.expression_type for s in of_types([S(expression_type="referring"), S(expression_type="null")],
    ...                                      ("null",), "sft.expression_types")]
    ['null']
    """
    if not types:
        return list(samples)
    kept = [s for s in samples if s.expression_type in types]
    if not kept:
        raise ValueError(f"no training samples of the types {setting}={tuple(types)} "
                         f"(the samples' types: {sorted({s.expression_type for s in samples})})")
    return kept
