"""RefAVS (Ref-AVS Bench, ECCV 2024) in its official release layout.

::

    <root>/metadata.csv                      columns vid, uid, split, fid, exp (+ any extra)
    <root>/media/<folder>/frames/{0..9}.jpg  10 frames, one per second of a 10 s clip
    <root>/media/<folder>/audio.wav
    <root>/gt_mask/<folder>/fid_<fid>/0000{0..9}.png   binary after > 0

Splits: ``train``, ``val``, ``test_s`` (seen), ``test_u`` (unseen), ``test_n`` (null). Rows whose
split is ``TODO`` (25 in the official file) are dropped and counted in
``result.info["dropped_todo_rows"]``.

**Folder of a row.** The official loaders (GeWu-Lab/Ref-AVS ``dataset_refavs.py`` and Omni-R1
``load_datasets/refavs.py``) ignore the ``vid`` column and read ``uid.rsplit('_', 2)[0]``.
For ordinary rows that equals ``vid``. For null rows the uid looks like
``null_c-<vid>_null_<k>`` or ``null_m-<vid>_null_<k>``, which gives ``null_c-<vid>``: the
benchmark's own code reads those folders, so this loader tries the uid-derived folder first
and falls back to the ``vid`` column when it does not exist. ``meta["folder"]`` says which one
was used.

**Null rows.** A null row's soundtrack is ``media_cross/<folder>/audio.wav`` when the release has
that folder (reported for copies of the release; the toolkit's own ``dataset_refavs.py`` reads only
``media/``, so nothing else depends on it), else ``media/<folder>/audio.wav``. A row is null when its split is ``test_n`` or its uid starts with ``null_``
(the official metadata also has 608 such rows in ``train`` and 72 in ``val``), unless a
``type`` column says otherwise. Null samples get ``expression_type="null"``, no object ids and
`EmptyMasks` of the frame size (their mask PNGs are neither needed nor read). Other rows are
``"audio-visual"``; a ``type`` column holding one of `EXPRESSION_TYPES` overrides both.

**Checks.** At listing time: ``metadata.csv`` parses and has the five columns (else
`DataError`, always raised); per row, the media folder, the frames ``0.jpg`` … ``9.jpg`` (the
toolkit reads ``range(10)``; a further ``10.jpg`` is not read), ``audio.wav`` and
(non-null rows) one mask PNG per frame exist (one cached directory listing per folder); for
null rows the first frame's header is read for the frame size. At read time: decoding.
``validate=True`` decodes everything while listing (see `omni_r1_lite.data.loading`).

Some uids appear twice in the official metadata (11 of them); every row is kept, and the
second gets ``sample_id`` ``"<split>/<uid>#2"``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

from omni_r1_lite.data.loading import LoadResult, collect_samples
from omni_r1_lite.data.masks import PngMasks
from omni_r1_lite.data.media import MissingMediaError, image_size
from omni_r1_lite.data.schema import EXPRESSION_TYPES, DataError, EmptyMasks, Sample, sort_frame_names

__all__ = ["REFAVS_COLUMNS", "REFAVS_SPLITS", "find_refavs_root", "load_refavs", "refavs_folder_candidates"]

REFAVS_SPLITS = ("train", "val", "test_s", "test_u", "test_n")
REFAVS_COLUMNS = ("vid", "uid", "split", "fid", "exp")
_DROPPED_SPLITS = ("TODO",)


def refavs_folder_candidates(vid: str, uid: str) -> list[str]:
    """Media folder names to try for a row, in order: the official ``uid.rsplit('_', 2)[0]``,
    then the ``vid`` column.

    >>> refavs_folder_candidates("-cLOg0sQ0Zo_420000_430000", "null_c--cLOg0sQ0Zo_420000_430000_null_1")
    ['null_c--cLOg0sQ0Zo_420000_430000', '-cLOg0sQ0Zo_420000_430000']
    >>> refavs_folder_candidates("--KCIeTv6PM_14000_24000", "--KCIeTv6PM_14000_24000_cat_1")
    ['--KCIeTv6PM_14000_24000']
    """
    out = []
    derived = uid.rsplit("_", 2)[0] if uid.count("_") >= 2 else ""
    for name in (derived, vid):
        if name and name not in out and "/" not in name and name not in (".", ".."):
            out.append(name)
    return out


def find_refavs_root(path: str | Path, max_depth: int = 3) -> Path:
    """The folder holding ``metadata.csv`` at or below ``path`` (an extracted tarball may add a
    top-level folder). Raises `DataError` when there is none within ``max_depth`` levels."""
    from omni_r1_lite.data.loading import find_root

    top = Path(path)
    root = find_root(top, lambda d: (d / "metadata.csv").is_file() and (d == top or (d / "media").is_dir()),
                     max_depth)
    if root is None:
        raise DataError("no RefAVS root (a folder with metadata.csv and media/) found under", path)
    return root


def _normalise_splits(splits: str | Sequence[str] | None) -> tuple[str, ...]:
    if splits is None:
        return REFAVS_SPLITS
    chosen = (splits,) if isinstance(splits, str) else tuple(splits)
    unknown = [s for s in chosen if s not in REFAVS_SPLITS]
    if unknown:
        raise ValueError(f"unknown RefAVS split(s) {unknown}; choose from {REFAVS_SPLITS}")
    return chosen


class _Listing:
    """Per-folder directory listings, read once (listing time is file-system only)."""

    def __init__(self):
        self._names: dict[Path, frozenset[str] | None] = {}
        self._frames: dict[Path, tuple[str, ...]] = {}
        self._pngs: dict[Path, dict[int, str] | None] = {}
        self._masks: dict[tuple[Path, tuple[str, ...]], tuple[Path, ...]] = {}

    def names(self, folder: Path) -> frozenset[str] | None:
        if folder not in self._names:
            try:
                self._names[folder] = frozenset(os.listdir(folder))
            except OSError:
                self._names[folder] = None
        return self._names[folder]

    def frames(self, folder: Path) -> tuple[str, ...]:
        if folder not in self._frames:
            self._frames[folder] = sort_frame_names(self.names(folder) or ())
        return self._frames[folder]

    def pngs(self, folder: Path) -> dict[int, str] | None:
        """Integer stem -> file name of the PNGs in ``folder`` (``None``: no such folder)."""
        if folder not in self._pngs:
            names = self.names(folder)
            if names is None:
                self._pngs[folder] = None
            else:
                stems = ((n[:-4], n) for n in names if n.lower().endswith(".png"))
                self._pngs[folder] = {int(st): n for st, n in stems if st.isdigit()}
        return self._pngs[folder]

    def mask_paths(self, mask_dir: Path, frame_names: tuple[str, ...], fid: str) -> tuple[Path, ...]:
        """The mask PNG of every frame (same integer stem); `MissingMediaError` names the first gap."""
        key = (mask_dir, frame_names)
        if key not in self._masks:
            by_index = self.pngs(mask_dir)
            if by_index is None:
                raise MissingMediaError(f"mask folder for fid {fid!r} not found", mask_dir)
            paths = []
            for name in frame_names:
                t = int(name.rsplit(".", 1)[0])
                if t not in by_index:
                    raise MissingMediaError("mask file not found", mask_dir / f"0000{t}.png")
                paths.append(mask_dir / by_index[t])
            self._masks[key] = tuple(paths)
        return self._masks[key]


def _read_metadata(path: Path) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise MissingMediaError("RefAVS metadata.csv not found", path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in REFAVS_COLUMNS if c not in header]
            if missing:
                raise DataError(f"metadata.csv lacks columns {missing} (has {header})", path)
            reader.fieldnames = header
            return [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"cannot read metadata.csv ({e})", path) from e


def _is_null(row: dict[str, str]) -> bool:
    return row["split"] == "test_n" or row["uid"].startswith("null_")


def load_refavs(
    root: str | Path,
    splits: str | Sequence[str] | None = None,
    strict: bool = True,
    *,
    validate: bool = False,
    allow_missing_audio: bool = False,
    num_frames: int | None = 10,
    skip_missing_mask_folders: bool = False,
) -> LoadResult:
    """List RefAVS samples (``task="AVS"``) of the given splits, in ``metadata.csv`` order.

    Args:
        root: the folder with ``metadata.csv`` (see `find_refavs_root` for an extracted archive).
        splits: a split name, a list of them, or ``None`` for all five (`REFAVS_SPLITS`).
        strict: raise the first per-sample `DataError` (default) or skip and record it in
            ``result.skipped``.
        validate: decode every frame, mask and audio file while listing (slow; catches corrupt
            files up front).
        allow_missing_audio: a missing ``audio.wav`` gives ``audio_path=None`` and
            ``meta["audio_missing"]=True`` instead of an error.
        num_frames: the frames of a clip, ``0.jpg`` … ``<num_frames - 1>.jpg``, as the Ref-AVS
            toolkit reads them (``range(10)``): a missing one is a `MissingMediaError` naming it,
            a further one (``10.jpg``) is not read. ``None``: every integer-named JPEG in the folder.
        skip_missing_mask_folders: a non-null row whose ``gt_mask/<folder>/fid_<fid>`` folder does
            not exist is left out (not an error) and counted in ``result.info
            ["skipped_missing_mask_folders"]``, as Omni-R1's training loader passes over it. For
            training listings only: an evaluation must score every row.

    Returns a `LoadResult` of `Sample` with ``sample_id = "<split>/<uid>"``, frames
    ``media/<folder>/frames``, ``object_ids = (fid,)`` (``()`` for null rows) and ``meta`` holding
    ``vid``, ``uid``, ``fid``, ``folder``, ``row`` (line in the csv), ``gt_mask_dir`` and any extra
    csv columns.
    """
    root = Path(root)
    chosen = _normalise_splits(splits)
    rows = _read_metadata(root / "metadata.csv")
    media, gt = root / "media", root / "gt_mask"
    listing = _Listing()
    seen: dict[str, int] = {}
    dropped = sum(1 for _, r in rows if r["split"] in _DROPPED_SPLITS)
    unknown = sorted({r["split"] for _, r in rows} - set(REFAVS_SPLITS) - set(_DROPPED_SPLITS))
    info = {"dropped_todo_rows": dropped, "unknown_splits": unknown, "root": str(root)}
    no_mask_folder = []

    def identify(item: tuple[int, dict[str, str]]) -> str:
        line, row = item
        return f"{row['split']}/{row['uid']} (metadata.csv line {line})"

    def build(item: tuple[int, dict[str, str]]) -> Sample | None:
        line, row = item
        if row["split"] not in chosen:
            return None
        vid, uid, split = row["vid"], row["uid"], row["split"]
        candidates = refavs_folder_candidates(vid, uid)
        folder = next((c for c in candidates if listing.names(media / c) is not None), None)
        if folder is None:
            tried = ", ".join(str(media / c) for c in candidates) or "(empty vid and uid)"
            raise MissingMediaError(
                f"row {uid!r} points to no media folder (tried {tried})", media / (candidates or [""])[0]
            )
        frame_dir = media / folder / "frames"
        frame_names = listing.frames(frame_dir)
        if not frame_names:
            raise MissingMediaError("no integer-named JPEG frames in", frame_dir)
        if num_frames is not None:
            by_index = {int(n.rsplit(".", 1)[0]): n for n in frame_names}
            missing = [t for t in range(num_frames) if t not in by_index]
            if missing:
                raise MissingMediaError(f"frame not found ({len(missing)} of the clip's {num_frames} frames "
                                        "0.jpg ... missing)", frame_dir / f"{missing[0]}.jpg")
            frame_names = tuple(by_index[t] for t in range(num_frames))
        audio_path: Path | None = media / folder / "audio.wav"
        meta = {k: v for k, v in row.items() if k not in ("split", "exp")}
        meta.update(folder=folder, row=line)
        kind = row.get("type", "")
        null = kind == "null" if kind in EXPRESSION_TYPES else _is_null(row)
        cross = root / "media_cross" / folder
        if null and "audio.wav" in (listing.names(cross) or ()):  # a release that ships it apart
            audio_path, meta["audio_source"] = cross / "audio.wav", "media_cross"
        elif "audio.wav" not in (listing.names(media / folder) or ()):
            if not allow_missing_audio:
                raise MissingMediaError("audio file not found", audio_path)
            audio_path, meta["audio_missing"] = None, True
        expression_type = kind if kind in EXPRESSION_TYPES else ("null" if null else "audio-visual")
        mask_dir = gt / folder / f"fid_{row['fid']}"
        meta["gt_mask_dir"] = str(mask_dir)
        first_frame = frame_dir / frame_names[0]
        if null:
            h, w = image_size(first_frame)
            masks = EmptyMasks(num_frames=len(frame_names), height=h, width=w, num_objects=0)
            object_ids: tuple = ()
        else:
            if skip_missing_mask_folders and listing.names(mask_dir) is None:
                no_mask_folder.append(line)
                return None
            masks = PngMasks([listing.mask_paths(mask_dir, frame_names, row["fid"])], size_from=first_frame)
            try:
                object_ids = (int(row["fid"]),)
            except ValueError:
                object_ids = (row["fid"],)
        key = f"{split}/{uid}"
        seen[key] = seen.get(key, 0) + 1
        sample_id = key if seen[key] == 1 else f"{key}#{seen[key]}"
        return Sample(
            sample_id=sample_id,
            dataset="refavs",
            task="AVS",
            split=split,
            frame_dir=frame_dir,
            frame_names=frame_names,
            audio_path=audio_path,
            expression=row["exp"],
            expression_type=expression_type,
            object_ids=object_ids,
            masks=masks,
            meta=meta,
        )

    result = collect_samples(rows, build, identify, strict=strict, validate=validate, info=info)
    result.info["skipped_missing_mask_folders"] = len(no_mask_folder)
    return result
