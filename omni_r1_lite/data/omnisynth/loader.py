"""Read OmniSynth back through the kit's real RefAVS loader, with per-clip annotations attached.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as root:
...     _ = generate(root, OmniSynthConfig.smoke(clips={"unseen": 1}))
...     s = load_omnisynth(root, "unseen", task="VOS")[0]
...     frames = s.meta["annotation"]["num_frames"]
>>> s.task, s.split, s.audio_path.name, frames
('VOS', 'unseen', 'audio.wav', 10)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from omni_r1_lite.data.loading import LoadResult
from omni_r1_lite.data.media import MissingMediaError
from omni_r1_lite.data.omnisynth.config import REFAVS_SPLIT, SPLITS, OmniSynthConfig  # noqa: F401 (doctest)
from omni_r1_lite.data.omnisynth.writer import generate  # noqa: F401 (doctest)
from omni_r1_lite.data.schema import DataError

_FROM_REFAVS = {v: k for k, v in REFAVS_SPLIT.items()}


class ClipAnnotation(Mapping):
    """A clip's ``annotations/<vid>.json``, parsed on first access and then kept.

    Shared by every sample of the clip. Schema (``format`` ``omnisynth-annotation/1``):
    ``vid``, ``split``, ``refavs_split``, ``index``, ``seed``, ``num_frames``, ``width``,
    ``height``, ``seconds_per_frame``, ``sample_rate``; ``objects`` (id, colour, shape, size,
    depth (0 = front), motion, pitch, timbre, sounding, radius, ref_area, start/end centre,
    scale, literal); ``frames[t].objects`` (id, visibility, visible_area, onscreen_area,
    full_area, visible_box or null, full_box, centre; boxes are inclusive ``[x1, y1, x2, y2]``
    pixels); ``sounds`` (object, pitch, timbre, start, end, frame); ``expressions`` (index, uid,
    fid, type, kind, exp, literal, target_ids).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._data: dict[str, Any] | None = None

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            try:
                self._data = json.loads(self.path.read_text())
            except (OSError, ValueError) as e:
                raise DataError(f"cannot read OmniSynth annotation ({e})", self.path) from e
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"ClipAnnotation({str(self.path)!r}, loaded={self._data is not None})"


def read_omnisynth_summary(root: str | Path) -> dict[str, Any]:
    """``<root>/omnisynth.json`` (the generator's config and summary); `DataError` naming the file."""
    path = Path(root) / "omnisynth.json"
    try:
        summary = json.loads(path.read_text())
        if not isinstance(summary, dict) or not isinstance(summary.get("config"), dict):
            raise ValueError("no 'config' object")
    except (OSError, ValueError) as e:
        raise DataError(f"cannot read the OmniSynth summary ({e})", path) from e
    return summary


def expected_frames(sample, annotation: ClipAnnotation) -> None:
    """`DataError` naming the first missing frame file when the sample has fewer (or other) frames
    than its annotation's ``num_frames`` (``0.jpg`` …): a deleted frame must not give a shorter clip."""
    try:
        count = int(annotation["num_frames"])
    except (KeyError, TypeError, ValueError) as e:
        raise DataError(f"OmniSynth annotation has no valid num_frames ({e!r})", annotation.path) from e
    have = {int(Path(n).stem) for n in sample.frame_names}
    missing = [t for t in range(count) if t not in have]
    if missing:
        raise MissingMediaError(
            f"frame not found ({len(sample.frame_names)} of the {count} frames its annotation declares; "
            f"{len(missing)} missing)", Path(sample.frame_dir) / f"{missing[0]}.jpg")


def checked_annotation(sample, vid: str, annotations: dict, annotation_dir: Path, *, strict: bool,
                       skipped: list) -> ClipAnnotation | None:
    """The clip's annotation (read once per clip into ``annotations``) after `expected_frames`;
    ``None`` with the sample added to ``skipped`` when a frame is missing and ``strict`` is off."""
    if vid not in annotations:
        annotations[vid] = ClipAnnotation(Path(annotation_dir) / f"{vid}.json")
    try:
        expected_frames(sample, annotations[vid])
    except DataError as e:
        if strict:
            raise
        skipped.append((sample.sample_id, str(e)))
        return None
    return annotations[vid]


def find_omnisynth_root(root: str | Path) -> Path:
    """The RefAVS root of an OmniSynth folder: ``root/refavs`` or ``root`` itself."""
    root = Path(root)
    for cand in (root / "refavs", root):
        if (cand / "metadata.csv").is_file() and (cand / "annotations").is_dir():
            return cand
    raise DataError("no OmniSynth RefAVS root (metadata.csv + annotations/) under", root)


def load_omnisynth(
    root: str | Path,
    split: str | Sequence[str] | None = "train",
    task: str = "AVS",
    strict: bool = True,
    *,
    validate: bool = False,
    allow_missing_audio: bool = False,
) -> LoadResult:
    """OmniSynth samples of one or more splits, read by `load_refavs`.

    Args:
        root: the folder given to `generate` (or its ``refavs/`` subfolder).
        split: OmniSynth names (``train``, ``val``, ``seen``, ``unseen``, ``null``) or RefAVS
            names (``test_s`` …); a list, or ``None`` for all.
        task: ``"AVS"`` or ``"VOS"`` (same clips, re-tagged; ``audio_path`` is kept).
        strict: as in `load_refavs`.
        validate: decode every frame, mask and audio file while listing (as in `load_refavs`).
        allow_missing_audio: as in `load_refavs`.

    Each clip's annotation is read while listing: a sample with fewer frames than the annotation
    declares (a deleted ``5.jpg``) or an unreadable annotation is a `DataError` naming the file,
    raised in strict mode and recorded in ``result.skipped`` otherwise.

    Each `Sample` has ``dataset="omnisynth"``, ``split`` the OmniSynth split, ``object_ids`` the
    target object ids, and ``meta`` with the RefAVS loader's fields plus ``annotation`` (a lazy
    `ClipAnnotation`), ``annotation_path``, ``literal`` (the rewrite a perfect System 1 would
    give), ``target_ids``, ``kind``, ``expression_index``, ``refavs_split``.
    """
    from omni_r1_lite.data.refavs import load_refavs

    if task not in ("AVS", "VOS"):
        raise ValueError(f"task must be 'AVS' or 'VOS', got {task!r}")
    names = SPLITS if split is None else ((split,) if isinstance(split, str) else tuple(split))
    refavs_splits = []
    for s in names:
        if s in REFAVS_SPLIT:
            refavs_splits.append(REFAVS_SPLIT[s])
        elif s in _FROM_REFAVS:
            refavs_splits.append(s)
        else:
            raise ValueError(f"unknown OmniSynth split {s!r}; choose from {SPLITS} or {tuple(_FROM_REFAVS)}")
    refavs_root = find_omnisynth_root(root)
    base = load_refavs(refavs_root, splits=refavs_splits, strict=strict, validate=validate, num_frames=None,
                       allow_missing_audio=allow_missing_audio)
    annotations: dict[str, ClipAnnotation] = {}
    out = LoadResult(skipped=base.skipped, info={**base.info, "omnisynth_root": str(refavs_root)})
    for s in base:
        vid = s.meta["vid"]
        if checked_annotation(s, vid, annotations, refavs_root / "annotations", strict=strict,
                              skipped=out.skipped) is None:
            continue
        targets = tuple(int(k) for k in s.meta.get("target_ids", "").split())
        meta = dict(s.meta)
        meta.update(
            annotation=annotations[vid], annotation_path=str(annotations[vid].path),
            literal=meta.get("literal", ""), target_ids=targets, kind=meta.get("kind", ""),
            expression_index=int(meta.get("expression_index", -1)), refavs_split=s.split,
        )
        out.append(dataclasses.replace(
            s, dataset="omnisynth", task=task, split=meta.get("omnisynth_split") or _FROM_REFAVS[s.split],
            object_ids=targets, meta=meta,
        ))
    return out
