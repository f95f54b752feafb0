"""Ground-truth mask sources (`MaskSource` implementations) and the writers that make them.

- `PngMasks`: one binary PNG per frame per object (RefAVS ``gt_mask/<vid>/fid_<fid>/0000i.png``,
  OmniSynth). A pixel is foreground when its grey value is > 0, as the Ref-AVS loader does.
- `RleMasks`: COCO run-length encodings looked up in a ReVOS-style ``mask_dict.json``
  (``anno_id -> [RLE or null per frame]``) through a `SharedJson`: the file is parsed once, on
  the first ``load()``, and shared by every sample of that root; listing a split never opens it.
- `SharedJson` / `shared_json`: that lazy, process-wide, thread-safe JSON cache.
- `write_mask_png`, `encode_rle`, `decode_rle`: helpers for writers (OmniSynth, test fixtures).

Every ``load(frames)`` returns ``bool[O, T, H, W]`` (objects, frames, height, width); ``frames``
are indices into the sample's frame list (``None``: all frames).

>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> m = np.zeros((4, 6), bool); m[1:3, 2:5] = True
>>> _ = write_mask_png(d / "00000.png", m)
>>> src = PngMasks([[d / "00000.png"]])
>>> out = src.load()
>>> out.shape, out.dtype, int(out.sum())
((1, 1, 4, 6), dtype('bool'), 6)
>>> rle = encode_rle(m)
>>> bool((decode_rle(rle) == m).all())
True
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omni_r1_lite.data.media import CorruptMediaError, MissingMediaError, image_size
from omni_r1_lite.data.schema import DataError

__all__ = [
    "PngMasks",
    "RleMasks",
    "SharedJson",
    "clear_json_cache",
    "decode_rle",
    "encode_rle",
    "read_mask_png",
    "shared_json",
    "write_mask_png",
]


# --------------------------------------------------------------------------- PNG masks


def read_mask_png(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """A mask PNG as ``bool[H, W]``: grey value > 0 (the Ref-AVS rule, ``cv2`` grey ``> 0``).

    Paletted, RGB and 16-bit PNGs are converted to 8-bit grey first. When ``size=(H, W)`` is
    given and differs, the mask is resized with nearest-neighbour sampling.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                arr = np.asarray(im) > 0
            else:
                arr = np.asarray(im.convert("L")) > 0
    except FileNotFoundError as e:
        raise MissingMediaError("mask file not found", path) from e
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise CorruptMediaError(f"cannot decode mask ({e})", path) from e
    if size is not None and arr.shape != tuple(size):
        arr = _resize_nearest(arr, size)
    return arr


def write_mask_png(path: str | Path, mask: np.ndarray) -> Path:
    """Write ``bool[H, W]`` as an 8-bit PNG with values 0 / 255 (parents are created)."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be [H, W], got shape {m.shape}")
    Image.fromarray(np.where(m > 0, 255, 0).astype(np.uint8)).save(path, format="PNG")
    return path


def _resize_nearest(mask: np.ndarray, size: Sequence[int]) -> np.ndarray:
    h, w = int(size[0]), int(size[1])
    rows = np.minimum((np.arange(h) + 0.5) * mask.shape[0] / h, mask.shape[0] - 1).astype(int)
    cols = np.minimum((np.arange(w) + 0.5) * mask.shape[1] / w, mask.shape[1] - 1).astype(int)
    return mask[rows][:, cols]


class PngMasks:
    """Masks stored as one PNG per frame per object.

    Args:
        paths: ``paths[o][t]`` is the PNG of object ``o`` at frame ``t``.
        size: ``(H, W)`` every mask is brought to (nearest-neighbour) when it differs, e.g. the
            frame size; ``None`` keeps each PNG's own size (they must then agree).
        size_from: an image (e.g. the clip's first frame) whose size is used as ``size``; its
            header is read on the first ``load``, never at construction.

    ``load(frames)`` gives ``bool[O, T, H, W]``; a missing or corrupt PNG raises
    `MissingMediaError` / `CorruptMediaError` naming it.
    """

    def __init__(
        self,
        paths: Sequence[Sequence[str | Path]],
        size: tuple[int, int] | None = None,
        size_from: str | Path | None = None,
    ):
        self.paths = tuple(tuple(p if isinstance(p, Path) else Path(p) for p in obj) for obj in paths)
        if not self.paths:
            raise ValueError("PngMasks needs at least one object")
        lengths = {len(obj) for obj in self.paths}
        if len(lengths) != 1:
            raise ValueError(f"every object needs the same number of frames, got {sorted(lengths)}")
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.size_from = None if size_from is None else Path(size_from)
        self.num_objects = len(self.paths)
        self.num_frames = lengths.pop()

    def load(self, frames: Sequence[int] | None = None) -> np.ndarray:
        idx = range(self.num_frames) if frames is None else [int(i) for i in frames]
        if self.size is None and self.size_from is not None:
            self.size = image_size(self.size_from)
        out = []
        for obj in self.paths:
            masks = [read_mask_png(obj[t], self.size) for t in idx]
            shapes = {m.shape for m in masks}
            if len(shapes) > 1:
                raise CorruptMediaError(f"mask sizes differ {sorted(shapes)}", obj[0].parent)
            out.append(np.stack(masks) if masks else np.zeros((0, *(self.size or (0, 0))), bool))
        return np.stack(out)

    def __repr__(self) -> str:
        first = self.paths[0][0].parent if self.num_frames else "?"
        return f"PngMasks(objects={self.num_objects}, frames={self.num_frames}, first={str(first)!r})"


# --------------------------------------------------------------------------- lazy JSON cache


class SharedJson:
    """A JSON file parsed once, on first use, and shared (thread-safe).

    ReVOS' ``mask_dict.json`` is gigabytes; listing a split must not touch it and decoding
    masks must not parse it twice. ``.data`` parses on first access; ``loaded`` tells whether
    that has happened. Memory: Python's `json` needs several times the file size in RAM.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._data: Any = None
        self._loaded = False
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def data(self) -> Any:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    try:
                        with open(self.path, "rb") as f:
                            self._data = json.load(f)
                    except FileNotFoundError as e:
                        raise MissingMediaError("JSON file not found", self.path) from e
                    except (OSError, ValueError) as e:  # JSONDecodeError and UnicodeDecodeError
                        raise CorruptMediaError(f"cannot parse JSON ({e})", self.path) from e
                    self._loaded = True
        return self._data

    def __reduce__(self):
        # pickled samples (DataLoader workers, multiprocessing) re-attach to the receiving
        # process's cache instead of copying a parsed multi-GB dictionary
        return (shared_json, (str(self.path),))

    def __repr__(self) -> str:
        return f"SharedJson({str(self.path)!r}, loaded={self._loaded})"


_JSON_CACHE: dict[tuple[str, int, int], SharedJson] = {}
_JSON_CACHE_LOCK = threading.Lock()


def shared_json(path: str | Path) -> SharedJson:
    """The process-wide `SharedJson` for ``path`` (keyed by resolved path, mtime and size, so a
    rewritten file is parsed again). Creating it does not read the file."""
    p = Path(path).resolve()
    try:
        st = os.stat(p)
        key = (str(p), st.st_mtime_ns, st.st_size)
    except OSError:
        key = (str(p), -1, -1)
    with _JSON_CACHE_LOCK:
        obj = _JSON_CACHE.get(key)
        if obj is None:
            obj = _JSON_CACHE[key] = SharedJson(p)
        return obj


def clear_json_cache() -> None:
    """Forget every cached JSON file (frees the memory of parsed mask dictionaries)."""
    with _JSON_CACHE_LOCK:
        _JSON_CACHE.clear()


# --------------------------------------------------------------------------- RLE masks


def encode_rle(mask: np.ndarray) -> dict:
    """``bool[H, W]`` → a COCO RLE dict with a ``str`` ``counts`` (JSON-ready, as ReVOS stores it)."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"]}


def _counts_from_string(s: str) -> np.ndarray:
    """Run lengths from COCO's compressed RLE string (the ``rleFrString`` scheme: characters
    offset by 48 carry 5-bit groups, bit 0x20 = another group follows, bit 0x10 of a value's
    last group = negative, and from the fourth run on each value is a delta to the run two
    places back). Vectorised with numpy."""
    c = np.frombuffer(s.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    if c.size == 0:
        return np.zeros(0, dtype=np.int64)
    if c[-1] & 0x20:
        raise ValueError("truncated RLE string")
    last = (c & 0x20) == 0  # the last group of each value
    starts = np.concatenate(([0], np.flatnonzero(last)[:-1] + 1))
    value_id = np.cumsum(np.concatenate(([0], last[:-1].astype(np.int64))))
    pos = np.arange(c.size) - starts[value_id]
    x = np.add.reduceat((c & 0x1F) << (5 * pos), starts)
    ends = np.flatnonzero(last)
    negative = (c[ends] & 0x10) != 0
    x[negative] -= np.left_shift(1, 5 * (pos[ends][negative] + 1))
    if x.size > 3:
        x[3::2] = np.cumsum(x[1::2])[1:]
    if x.size > 4:
        x[4::2] = np.cumsum(x[2::2])[1:]
    return x


def decode_rle(rle: dict | list, size: tuple[int, int] | None = None) -> np.ndarray:
    """A COCO RLE (compressed ``str``/``bytes`` counts, or uncompressed ``list`` counts) as
    ``bool[H, W]``; resized nearest-neighbour to ``size=(H, W)`` when that differs. A list of
    RLEs (a multi-part mask) is decoded as their union.

    Pure numpy (checked against ``pycocotools.mask.decode`` in the tests): runs alternate
    background / foreground, starting with background, in column-major order.

    >>> decode_rle({"size": [2, 3], "counts": [1, 2, 3]}).astype(int).tolist()
    [[0, 1, 0], [1, 0, 0]]
    """
    if isinstance(rle, list):
        parts = [decode_rle(r, size) for r in rle]
        if not parts:
            raise ValueError("empty RLE list")
        return np.logical_or.reduce(parts)
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    runs = _counts_from_string(counts) if isinstance(counts, str) else np.asarray(counts, dtype=np.int64)
    if (runs < 0).any() or int(runs.sum()) != h * w:
        raise ValueError(f"RLE runs sum to {int(runs.sum())} (negative run?) for size {h}x{w}")
    values = np.zeros(len(runs), dtype=bool)
    values[1::2] = True
    m = np.repeat(values, runs).reshape(w, h).T
    if size is not None and m.shape != tuple(size):
        m = _resize_nearest(m, size)
    return np.ascontiguousarray(m)


class RleMasks:
    """Masks as COCO RLEs in a shared ``mask_dict.json`` (``anno_id -> [RLE | null per frame]``).

    Args:
        store: the `SharedJson` of the mask dictionary (parsed on the first ``load``).
        anno_ids: one entry per object; the dictionary keys are their ``str``.
        positions: ``positions[t]`` is the position in the stored per-frame list of the sample's
            frame ``t`` (ReVOS lists follow the ``frames`` order of the expression file).
        size: ``(H, W)`` of the frames; ``null`` entries become all-False masks of this size,
            RLEs of another size are resized nearest-neighbour.
        size_from: an image (the clip's first frame) whose header gives ``size`` on the first
            ``load``. With neither, the size of the first non-null RLE is used.

    A missing ``anno_id`` or a list shorter than the video raises `DataError` naming the file.
    """

    def __init__(
        self,
        store: SharedJson,
        anno_ids: Sequence[Any],
        positions: Sequence[int],
        size: tuple[int, int] | None = None,
        size_from: str | Path | None = None,
    ):
        self.store = store
        self.anno_ids = tuple(str(a) for a in anno_ids)
        if not self.anno_ids:
            raise ValueError("RleMasks needs at least one anno_id")
        self.positions = tuple(int(p) for p in positions)
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.size_from = None if size_from is None else Path(size_from)
        self.num_objects = len(self.anno_ids)
        self.num_frames = len(self.positions)

    def _lists(self) -> list[list]:
        data = self.store.data
        out = []
        for a in self.anno_ids:
            try:
                per_frame = data[a]
            except (KeyError, TypeError) as e:
                raise DataError(f"anno_id {a!r} not in the mask dictionary", self.store.path) from e
            if not isinstance(per_frame, list) or len(per_frame) <= max(self.positions, default=-1):
                n = len(per_frame) if isinstance(per_frame, list) else type(per_frame).__name__
                raise DataError(
                    f"anno_id {a!r} has {n} frame entries, the video has {self.num_frames}", self.store.path
                )
            out.append(per_frame)
        return out

    def _infer_size(self, lists: list[list]) -> tuple[int, int]:
        for per_frame in lists:
            for rle in per_frame:
                if rle:
                    r = rle[0] if isinstance(rle, list) else rle
                    return int(r["size"][0]), int(r["size"][1])
        raise DataError(
            f"every mask of anno_ids {list(self.anno_ids)} is null and no frame size is known",
            self.store.path,
        )

    def load(self, frames: Sequence[int] | None = None) -> np.ndarray:
        idx = range(self.num_frames) if frames is None else [int(i) for i in frames]
        lists = self._lists()
        if self.size is None and self.size_from is not None:
            self.size = image_size(self.size_from)
        size = self.size or self._infer_size(lists)
        out = np.zeros((self.num_objects, len(idx), *size), dtype=bool)
        for o, per_frame in enumerate(lists):
            for j, t in enumerate(idx):
                rle = per_frame[self.positions[t]]
                if rle:
                    try:
                        out[o, j] = decode_rle(rle, size)
                    except (KeyError, TypeError, ValueError) as e:
                        raise DataError(
                            f"bad RLE for anno_id {self.anno_ids[o]!r} frame {t} ({e})", self.store.path
                        ) from e
        return out

    def __repr__(self) -> str:
        return f"RleMasks(anno_ids={list(self.anno_ids)}, frames={self.num_frames}, store={self.store!r})"
