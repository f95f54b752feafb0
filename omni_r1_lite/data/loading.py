"""What every dataset loader returns (`LoadResult`) and how bad samples are handled.

Loaders (RefAVS, ReVOS, OmniSynth) check things in two stages:

- **listing time** (inside ``load_*``): cheap file-system checks only. Index files are parsed
  (``metadata.csv``, ``meta_expressions_*.json``); for every sample the frame folder, each frame
  file, the audio file and (RefAVS) each mask PNG must exist. Nothing is decoded and no mask
  dictionary is opened.
- **read time** (``read_frames``, ``read_audio``, ``sample.load_masks()``): decoding. A corrupt
  JPEG, a truncated video or a bad RLE raises a `DataError` subclass naming the file.

`validate_sample` runs the read-time checks up front: it decodes every frame, every mask and
the audio of a sample. Loaders run it for each sample when called with ``validate=True``.

``strict=True`` (the default) raises the first `DataError`; ``strict=False`` skips the bad
sample, records ``(identifier, reason)`` in `LoadResult.skipped` and loads the rest. Problems
with the dataset as a whole (no index file, unreadable index) always raise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from omni_r1_lite.data.schema import DataError, Sample

__all__ = ["LoadResult", "collect_samples", "validate_sample"]

T = TypeVar("T")


class LoadResult(list):
    """A list of `Sample` plus what was left out.

    Attributes:
        skipped: ``(identifier, reason)`` for every sample dropped in non-strict mode; the
            reason is the `DataError` message, which names the offending file.
        info: loader-specific counts (e.g. RefAVS ``"dropped_todo_rows"``).

    >>> r = LoadResult([], skipped=[("vid/uid", "frame not found: x.jpg")])
    >>> len(r), r.num_skipped
    (0, 1)
    >>> r
    LoadResult(0 samples, 1 skipped)
    """

    def __init__(
        self,
        samples: Iterable[Sample] = (),
        skipped: Iterable[tuple[str, str]] = (),
        info: dict | None = None,
    ):
        super().__init__(samples)
        self.skipped: list[tuple[str, str]] = list(skipped)
        self.info: dict[str, Any] = dict(info or {})

    @property
    def num_skipped(self) -> int:
        return len(self.skipped)

    def splits(self) -> dict[str, int]:
        """Samples per split, in order of first appearance."""
        out: dict[str, int] = {}
        for s in self:
            out[s.split] = out.get(s.split, 0) + 1
        return out

    def __repr__(self) -> str:
        return f"LoadResult({len(self)} samples, {len(self.skipped)} skipped)"


def validate_sample(sample: Sample, audio: bool = True, cache: dict | None = None) -> None:
    """Fully decode a sample; raise a `DataError` naming the file if anything is wrong.

    Decodes every frame (at reduced JPEG scale where possible: still a full read of each
    file) and checks that all frames share one size, decodes every ground-truth mask and checks
    its shape ``[O, T, H, W]`` against the frames, and with ``audio=True`` decodes the audio.
    Returns ``None`` when all is well.

    ``cache``: a dict shared across calls (loaders pass one per listing) so that the frames and
    audio of a clip with several expressions are decoded once; failures are cached too.
    """
    from omni_r1_lite.data.media import image_size, read_audio, read_image

    def once(key: tuple, check):
        if cache is None:
            return check()
        if key not in cache:
            try:
                cache[key] = (check(), None)
            except DataError as e:
                cache[key] = (None, e)
        value, error = cache[key]
        if error is not None:
            raise error
        return value

    paths = sample.frame_paths
    if not paths:
        raise DataError("sample has no frames", sample.frame_dir)

    def check_frames() -> tuple[int, int]:
        h, w = read_image(paths[0]).shape[:2]
        small = (max(1, h // 8), max(1, w // 8))
        for p in paths[1:]:
            if image_size(p) != (h, w):
                raise DataError(f"frame size {image_size(p)} differs from {(h, w)} of {paths[0].name}", p)
            read_image(p, size=small)
        return h, w

    h, w = once(("frames", str(sample.frame_dir), sample.frame_names), check_frames)
    masks = sample.load_object_masks()
    if masks.ndim != 4 or masks.shape[1] != len(paths):
        raise DataError(
            f"masks have shape {masks.shape}, expected [O, {len(paths)}, {h}, {w}] ({sample.sample_id})",
            sample.frame_dir,
        )
    if masks.shape[2:] != (h, w):
        raise DataError(
            f"mask size {masks.shape[2:]} differs from frame size {(h, w)} ({sample.sample_id})", paths[0]
        )
    if not np.issubdtype(masks.dtype, np.bool_):
        raise DataError(f"masks must be bool, got {masks.dtype} ({sample.sample_id})", sample.frame_dir)
    if audio and sample.audio_path is not None:
        once(("audio", str(sample.audio_path)), lambda: read_audio(sample.audio_path).shape)


def collect_samples(
    items: Iterable[T],
    build: Callable[[T], Sample | None],
    identify: Callable[[T], str],
    *,
    strict: bool,
    validate: bool = False,
    info: dict | None = None,
) -> LoadResult:
    """Build samples from raw index entries with the strict / non-strict policy above.

    ``build`` returns a `Sample`, or ``None`` for an entry that is deliberately not a sample
    (not counted as skipped); a `DataError` from ``build`` (or from `validate_sample` when
    ``validate=True``) is raised in strict mode and recorded in non-strict mode.
    """
    result = LoadResult(info=info)
    cache: dict = {}
    for item in items:
        try:
            sample = build(item)
            if sample is None:
                continue
            if validate:
                validate_sample(sample, cache=cache)
        except DataError as e:
            if strict:
                raise
            result.skipped.append((identify(item), str(e)))
            continue
        result.append(sample)
    return result


def find_root(path: str | Path, is_root, max_depth: int = 3) -> Path | None:
    """The first folder at or below ``path`` (breadth first, ``max_depth`` levels, hidden folders
    skipped) for which ``is_root(folder)`` holds, or ``None``: an extracted archive may add a level
    or two above a dataset's own layout."""
    path = Path(path)
    if is_root(path):
        return path
    frontier = [path]
    for _ in range(max_depth):
        nxt = []
        for d in frontier:
            try:
                children = sorted(c for c in d.iterdir() if c.is_dir() and not c.name.startswith("."))
            except OSError:
                continue
            for c in children:
                if is_root(c):
                    return c
            nxt.extend(children)
        frontier = nxt
    return None
