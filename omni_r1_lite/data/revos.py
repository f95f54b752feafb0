"""ReVOS (VISA, ECCV 2024) in the ReVOS-api layout, and in the Sa2VA bundle's variant of it.

::

    <root>/JPEGImages/<video>/<frame>.jpg      (Sa2VA's ``video_datas/revos``: <root>/<video>/...)
    <root>/mask_dict.json                      anno_id -> [COCO RLE or null, one per frame]
    <root>/mask_dict_foreground.json           video -> {"masks_rle": [...]}   (optional)
    <root>/meta_expressions_{train,valid,train_sub}_.json

``meta_expressions_*``: ``{"videos": {video: {"vid_id", "height"?, "width"?, "frames": [ids],
"expressions": {exp_id: {"exp", "obj_id": [...], "anno_id": [...], "type_id": 0|1|2}}}}}``.
Video names may contain slashes (``UVO/all/-CiPki3XuVI``, ``LV-VIS/test/00016``); frames are
``<image root>/<video>/<frame id>.jpg``. Position ``i`` of an anno_id's list in ``mask_dict.json``
is frame ``frames[i]`` of the expression file (as VISA's evaluator indexes it).

**Expression types.** ``type_id`` 0 → ``"referring"``, 1 → ``"reasoning"``. VISA's evaluator
(``tools/eval_revos.py``) calls type 2 ``nan`` and leaves it out of the referring, reasoning *and*
overall scores; this loader keeps those expressions, labels them ``"referring"`` and sets
``meta["visa_excluded"] = True`` (and ``meta["type_id"] = 2``), so an evaluator reproducing the
official table filters them out, or pass ``type_ids=(0, 1)``. An expression with an empty
``anno_id`` list is ``"null"`` with `EmptyMasks` (Omni-R1's loader skips such entries).
Multi-object expressions have one `RleMasks` object per ``anno_id``; ``load_masks()`` is their
union, as the benchmarks score it.

**Memory and time.** ``mask_dict.json`` is parsed on the first ``load_masks()`` of any sample of
the root, once, and shared (`omni_r1_lite.data.masks.shared_json`); listing never opens it.
Listing checks, per video, that the frame folder and every listed frame file exist (one
directory listing per video). Frame size comes from the expression file's ``height``/``width``
when present, else from the first frame's header at read time.

**Robustness (R).** When ``mask_dict_foreground.json`` exists, ``sample.meta["foreground"]`` is a
lazy `RleForeground` and `load_foreground` returns the video's foreground (all annotated
objects) as ``bool[T, H, W]``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omni_r1_lite.data.loading import LoadResult, collect_samples
from omni_r1_lite.data.masks import RleMasks, SharedJson, decode_rle, shared_json
from omni_r1_lite.data.media import CorruptMediaError, MissingMediaError, image_size
from omni_r1_lite.data.schema import DataError, EmptyMasks, Sample

__all__ = [
    "REVOS_TYPE_NAMES",
    "RleForeground",
    "find_revos_root",
    "load_foreground",
    "load_revos",
    "revos_expression_file",
]

REVOS_TYPE_NAMES = {0: "referring", 1: "reasoning", 2: "referring"}
"""``type_id`` → `Sample.expression_type`; type 2 (VISA's ``nan``) is flagged ``visa_excluded``."""


def revos_expression_file(root: str | Path, split: str) -> Path:
    """``meta_expressions_<split>_.json`` (ReVOS-api name), or ``meta_expressions_<split>.json``."""
    root = Path(root)
    for name in (f"meta_expressions_{split}_.json", f"meta_expressions_{split}.json"):
        if (root / name).is_file():
            return root / name
    raise MissingMediaError(
        f"ReVOS expression file for split {split!r} not found", root / f"meta_expressions_{split}_.json"
    )


def find_revos_root(path: str | Path, max_depth: int = 3) -> Path:
    """The folder holding ``mask_dict.json`` at or below ``path`` (an extracted archive may add
    one or two levels, e.g. ``video_datas/revos``). Raises `DataError` if there is none."""
    from omni_r1_lite.data.loading import find_root

    root = find_root(path, lambda d: (d / "mask_dict.json").is_file(), max_depth)
    if root is None:
        raise DataError("no ReVOS root (a folder with mask_dict.json) found under", path)
    return root


def _frame_key(frame_id: str) -> tuple[int, Any]:
    stem = str(frame_id)
    return (0, int(stem)) if stem.isdigit() else (1, stem)


def _image_root(root: Path, image_root: str | Path | None) -> Path:
    if image_root is not None:
        return Path(image_root)
    return root / "JPEGImages" if (root / "JPEGImages").is_dir() else root


class RleForeground:
    """The foreground of one ReVOS video (union of all annotated objects), decoded lazily from
    ``mask_dict_foreground.json``: ``load(frames)`` → ``bool[T, H, W]``."""

    def __init__(
        self,
        store: SharedJson,
        video: str,
        positions: Sequence[int],
        size: tuple[int, int] | None = None,
        size_from: Path | None = None,
    ):
        self.store = store
        self.video = video
        self.positions = tuple(int(p) for p in positions)
        self.size = size
        self.size_from = size_from

    def load(self, frames: Sequence[int] | None = None) -> np.ndarray:
        idx = range(len(self.positions)) if frames is None else [int(i) for i in frames]
        try:
            rles = self.store.data[self.video]["masks_rle"]
        except (KeyError, TypeError) as e:
            raise DataError(f"video {self.video!r} has no foreground entry", self.store.path) from e
        if len(rles) <= max(self.positions, default=-1):
            raise DataError(
                f"video {self.video!r} has {len(rles)} foreground frames, expected {len(self.positions)}",
                self.store.path,
            )
        size = self.size
        if size is None and self.size_from is not None:
            size = self.size = image_size(self.size_from)
        out = []
        for t in idx:
            rle = rles[self.positions[t]]
            if rle is None:
                if size is None:
                    raise DataError(
                        f"null foreground for {self.video!r} frame {t} and no frame size", self.store.path
                    )
                out.append(np.zeros(size, dtype=bool))
            else:
                try:
                    out.append(decode_rle(rle, size))
                except (KeyError, TypeError, ValueError) as e:
                    raise DataError(
                        f"bad foreground RLE for {self.video!r} frame {t} ({e})", self.store.path
                    ) from e
                size = size or out[-1].shape
        return np.stack(out) if out else np.zeros((0, 0, 0), dtype=bool)


def load_foreground(sample: Sample, frames: Sequence[int] | None = None) -> np.ndarray:
    """The video's foreground for VISA's robustness score R: ``bool[T, H, W]``.

    Raises `DataError` when the root has no ``mask_dict_foreground.json`` (then
    ``sample.meta["foreground"]`` is absent)."""
    fg = sample.meta.get("foreground")
    if fg is None:
        expected = sample.meta.get("foreground_path", "mask_dict_foreground.json")
        raise DataError(f"no foreground masks for sample {sample.sample_id}", expected)
    return fg.load(frames)


def load_revos(
    root: str | Path,
    split: str = "valid",
    strict: bool = True,
    *,
    validate: bool = False,
    image_root: str | Path | None = None,
    type_ids: Sequence[int] | None = None,
) -> LoadResult:
    """List ReVOS samples (``task="VOS"``), one per (video, expression), in file order.

    Args:
        root: the folder with ``mask_dict.json`` and ``meta_expressions_<split>_.json``.
        split: ``"valid"`` (the benchmark), ``"train"``, or any ``<split>`` with an expression
            file (e.g. ``"train_sub"``).
        strict: raise the first per-sample `DataError` (default) or skip and record it.
        validate: decode every frame and mask while listing (this parses ``mask_dict.json``).
        image_root: where ``<video>/<frame>.jpg`` live; default ``root/JPEGImages`` if that
            folder exists, else ``root`` (the Sa2VA bundle's layout).
        type_ids: keep only these ``type_id`` values (e.g. ``(0, 1)`` as VISA scores).

    ``sample_id`` is ``"<video>/<exp_id>"``; ``meta`` has ``video``, ``exp_id``, ``vid_id``,
    ``type_id``, ``anno_ids``, ``obj_ids``, ``visa_excluded``, ``mask_dict``, and, when the root
    has it, ``foreground_path`` and ``foreground`` (see `load_foreground`).
    """
    root = Path(root)
    exp_file = revos_expression_file(root, split)
    return load_expression_layout(exp_file, root / "mask_dict.json", _image_root(root, image_root),
                                  root / "mask_dict_foreground.json", split=split, dataset="revos",
                                  strict=strict, validate=validate, type_ids=type_ids, info={"root": str(root)})


def load_expression_layout(
    exp_file: Path,
    mask_path: Path,
    images: Path,
    fg_path: Path | None,
    *,
    split: str,
    dataset: str,
    strict: bool = True,
    validate: bool = False,
    type_ids: Sequence[int] | None = None,
    info: dict | None = None,
) -> LoadResult:
    """The reader behind `load_revos` and `load_mevis` (one layout: an expression file
    ``{"videos": ...}``, a ``mask_dict.json`` of per-frame RLEs, frames under ``images``)."""
    if not mask_path.is_file():
        raise MissingMediaError(f"{'ReVOS' if dataset == 'revos' else 'MeViS'} mask_dict.json not found", mask_path)
    try:
        videos = shared_json(exp_file).data["videos"]
    except (KeyError, TypeError) as e:
        raise CorruptMediaError('expression file has no "videos" mapping', exp_file) from e
    store = shared_json(mask_path)
    fg_store = shared_json(fg_path) if fg_path is not None and fg_path.is_file() else None
    keep = None if type_ids is None else {int(t) for t in type_ids}

    items: list[tuple[str, str, dict, dict]] = []
    for video, vinfo in videos.items():
        for exp_id, einfo in (vinfo.get("expressions") or {}).items():
            items.append((video, str(exp_id), vinfo, einfo))

    video_cache: dict[str, tuple[Path, tuple[str, ...], tuple[int, ...]]] = {}

    def frames_of(video: str, vinfo: dict) -> tuple[Path, tuple[str, ...], tuple[int, ...]]:
        if video not in video_cache:
            frame_dir = images / video
            ids = [str(f) for f in vinfo.get("frames") or []]
            if not ids:
                raise DataError(f"video {video!r} lists no frames", exp_file)
            try:
                present = set(os.listdir(frame_dir))
            except OSError as e:
                raise MissingMediaError("frame folder not found", frame_dir) from e
            for f in ids:
                if f + ".jpg" not in present:
                    raise MissingMediaError("frame not found", frame_dir / f"{f}.jpg")
            order = sorted(range(len(ids)), key=lambda i: _frame_key(ids[i]))
            video_cache[video] = (frame_dir, tuple(ids[i] + ".jpg" for i in order), tuple(order))
        return video_cache[video]

    def identify(item: tuple[str, str, dict, dict]) -> str:
        return f"{item[0]}/{item[1]}"

    def build(item: tuple[str, str, dict, dict]) -> Sample | None:
        video, exp_id, vinfo, einfo = item
        try:
            type_id = int(einfo.get("type_id", 0))
        except (TypeError, ValueError) as e:
            raise DataError(f"bad type_id in {video}/{exp_id}", exp_file) from e
        if keep is not None and type_id not in keep:
            return None
        frame_dir, frame_names, positions = frames_of(video, vinfo)
        anno_ids = [str(a) for a in (einfo.get("anno_id") or [])]
        obj_ids = tuple(einfo.get("obj_id") or ())
        size = (
            (int(vinfo["height"]), int(vinfo["width"]))
            if vinfo.get("height") and vinfo.get("width")
            else None
        )
        first = frame_dir / frame_names[0]
        if anno_ids:
            masks: Any = RleMasks(store, anno_ids, positions, size=size, size_from=None if size else first)
            expression_type = REVOS_TYPE_NAMES.get(type_id, "referring")
        else:
            h, w = size or image_size(first)
            masks = EmptyMasks(num_frames=len(frame_names), height=h, width=w, num_objects=0)
            expression_type, obj_ids = "null", ()
        meta: dict[str, Any] = {
            "video": video,
            "exp_id": exp_id,
            "vid_id": vinfo.get("vid_id"),
            "type_id": type_id,
            "anno_ids": tuple(anno_ids),
            "obj_ids": obj_ids,
            "visa_excluded": type_id not in (0, 1),
            "mask_dict": str(mask_path),
        }
        for key, value in einfo.items():  # any extra field of the expression, as RefAVS keeps extra columns
            if key not in ("exp", "anno_id", "obj_id", "type_id") and key not in meta:
                meta[key] = value
        if fg_store is not None:
            meta["foreground_path"] = str(fg_path)
            meta["foreground"] = RleForeground(fg_store, video, positions, size=size, size_from=first)
        return Sample(
            sample_id=f"{video}/{exp_id}",
            dataset=dataset,
            task="VOS",
            split=split,
            frame_dir=frame_dir,
            frame_names=frame_names,
            audio_path=None,
            expression=str(einfo.get("exp", "")),
            expression_type=expression_type,
            object_ids=obj_ids,
            masks=masks,
            meta=meta,
        )

    info = {**(info or {}), "expression_file": str(exp_file), "image_root": str(images)}
    return collect_samples(items, build, identify, strict=strict, validate=validate, info=info)
