"""MeViS (henghuiding/MeViS, ICCV 2023), the paper's other VOS set (``valid_u``), in its release layout.

::

    <root>/<split>/JPEGImages/<video>/<frame>.jpg
    <root>/<split>/meta_expressions.json     {"videos": {video: {"frames": [...], "expressions":
                                              {exp_id: {"exp", "obj_id": [...], "anno_id": [...]}}}}}
    <root>/<split>/mask_dict.json            anno_id -> [COCO RLE or null, one per frame]

Splits (the README's layout; ``lmpm/data/datasets/builtin.py`` registers ``mevis_val`` as
``valid_u`` and ``mevis_test`` as ``valid``): ``train`` and ``valid_u`` ship masks; ``valid`` has
frames and expressions only (it is scored on the challenge server), so it is refused here with
that reason. The files are the ReVOS layout's without ``type_id`` (every expression is a
``"referring"`` motion expression) and without a foreground file, so they are read by the same
reader as ReVOS (`omni_r1_lite.data.revos.load_expression_layout`); a missing or null RLE is an
absent object in that frame (``tools/eval_mevis.py``: ``if mask_rle:``). The official evaluation
(``tools/eval_mevis.py``) scores DAVIS J and F per expression (means over frames), then the mean
over expressions, ``J&F = (mean J + mean F) / 2``: the kit's ``"vos"`` benchmark.

>>> import json, tempfile
>>> from pathlib import Path
>>> root = Path(tempfile.mkdtemp())
>>> (root / "valid").mkdir(); (root / "valid" / "meta_expressions.json").write_text('{"videos": {}}')
14
>>> load_mevis(root, "valid")
Traceback (most recent call last):
...
omni_r1_lite.data.schema.DataError: MeViS 'valid' ships no masks (it is scored on the challenge server); use 'valid_u': .../valid
"""

from __future__ import annotations

from pathlib import Path

from omni_r1_lite.data.loading import LoadResult
from omni_r1_lite.data.media import MissingMediaError
from omni_r1_lite.data.schema import DataError

__all__ = ["MEVIS_SPLITS", "find_mevis_root", "load_mevis"]

MEVIS_SPLITS = ("train", "valid_u", "valid")


def find_mevis_root(path: str | Path, max_depth: int = 3) -> Path:
    """The folder holding ``valid_u/`` or ``train/`` with a ``meta_expressions.json`` at or below
    ``path`` (an extracted archive may add levels, e.g. Sa2VA's ``video_datas/mevis``)."""
    from omni_r1_lite.data.loading import find_root

    def is_root(d: Path) -> bool:
        return any((d / s / "meta_expressions.json").is_file() for s in MEVIS_SPLITS)

    root = find_root(path, is_root, max_depth)
    if root is None:
        raise DataError("no MeViS root (a folder with valid_u/meta_expressions.json or train/...) found under",
                        path)
    return root


def load_mevis(root: str | Path, split: str = "valid_u", strict: bool = True, *, validate: bool = False
               ) -> LoadResult:
    """List MeViS samples (``task="VOS"``, ``dataset="mevis"``), one per (video, expression).

    Args:
        root: the folder holding ``train/``, ``valid_u/`` (see `find_mevis_root`).
        split: ``"valid_u"`` (the paper's), ``"train"``; ``"valid"`` has no masks and is refused.
        strict, validate: as in `load_revos`.

    ``sample_id`` is ``"<video>/<exp_id>"``; ``meta`` as in `load_revos` (``type_id`` 0).
    """
    from omni_r1_lite.data.revos import load_expression_layout

    root = Path(root)
    if split not in MEVIS_SPLITS:
        raise ValueError(f"unknown MeViS split {split!r}; choose from {MEVIS_SPLITS}")
    folder = root / split
    exp_file = folder / "meta_expressions.json"
    if not exp_file.is_file():
        raise MissingMediaError(f"MeViS expression file for split {split!r} not found", exp_file)
    if split == "valid":
        raise DataError("MeViS 'valid' ships no masks (it is scored on the challenge server); use 'valid_u'",
                        folder)
    return load_expression_layout(exp_file, folder / "mask_dict.json", folder / "JPEGImages", None,
                                  split=split, dataset="mevis", strict=strict, validate=validate,
                                  info={"root": str(root)})
