"""Dataset trees written the way the dataset authors' own code reads them, with the cases that code
meets in the real releases. Each writer cites the upstream file its rules come from. Files are
written with PIL, OpenCV and pycocotools directly: nothing here uses the kit's readers or writers,
nor OmniSynth's.

- ReVOS (``cilinyan/VISA`` ``tools/eval_revos.py``): a video's ``frames`` list gives the frame
  files (``<video>/<id>.jpg``) and the position of each frame in every ``mask_dict[anno_id]`` list;
  ids need not be consecutive (MOSE / LV-VIS videos are sampled: ``00120``, ``00125``, ...), names
  may hold slashes, an entry may be ``null`` (object absent in that frame).
- MeViS (``henghuiding/MeViS`` ``lmpm/data/datasets/mevis.py``, ``tools/eval_mevis.py``):
  ``<split>/JPEGImages/<vid>/<frame>.jpg``, ``<split>/meta_expressions.json`` (``videos -> {vid:
  {"expressions": {eid: {"exp", "obj_id", "anno_id"}}, "frames"}}``), ``<split>/mask_dict.json``;
  several ``anno_id`` of one expression are added (``gt_masks[frame] += decode(rle)``).
- RefAVS masks (``GeWu-Lab/Ref-AVS`` ``datasets/dataset_refavs.py``: ``cv2.imread`` then
  ``COLOR_BGR2GRAY`` then ``> 0``): mask PNGs as grey (0/255 or 0/1), RGB and palette images.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from pycocotools import mask as coco

H, W = 24, 32


def _rle(m: np.ndarray) -> dict:
    r = coco.encode(np.asfortranarray(m.astype(np.uint8)))
    r["counts"] = r["counts"].decode("ascii")
    return r


def _frame(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((H, W, 3), value, np.uint8))


def _box(t: int, obj: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[2 + obj * 6: 8 + obj * 6, 3 + t: 11 + t] = True
    return m


def revos_sampled_frames(root: Path) -> dict:
    """A ReVOS-api tree whose one video has non-consecutive frame ids listed out of order, two
    objects (one absent, ``null``, in its third listed frame) and a two-object expression."""
    video, ids = "MOSE/train/1a2b3c", ["00125", "00120", "00135", "00130"]
    truth: dict[str, np.ndarray] = {}
    mask_dict = {}
    for aid, obj in (("7", 0), ("8", 1)):
        masks = [_box(int(i) // 5, obj) for i in ids]  # in the listed order
        if aid == "8":
            masks[2][:] = False
        mask_dict[aid] = [_rle(m) if m.any() else None for m in masks]
        truth[aid] = np.stack(masks)
    for k, i in enumerate(ids):
        _frame(root / "JPEGImages" / video / f"{i}.jpg", 40 * (k + 1))
    exps = {"0": {"exp": "the left fish", "obj_id": [0], "anno_id": [7], "type_id": 0},
            "1": {"exp": "the fish that hides", "obj_id": [0, 1], "anno_id": [7, 8], "type_id": 1}}
    meta = {"videos": {video: {"vid_id": 1, "frames": ids, "expressions": exps}}}
    (root / "meta_expressions_valid_.json").write_text(json.dumps(meta))
    (root / "mask_dict.json").write_text(json.dumps(mask_dict))
    return {"video": video, "ids": ids, "truth": truth}


def mevis_tree(root: Path) -> dict:
    """MeViS ``train`` and ``valid_u`` (masks) and ``valid`` (no masks)."""
    truth: dict[str, dict] = {}
    for split, videos in (("valid_u", ("vidA", "vidB")), ("train", ("vidT",)), ("valid", ("vidV",))):
        folder = root / split
        meta, mask_dict, anno = {"videos": {}}, {}, 0
        for v, vid in enumerate(videos):
            ids = [f"{t:05d}" for t in range(4)]
            for t, i in enumerate(ids):
                _frame(folder / "JPEGImages" / vid / f"{i}.jpg", 30 * (t + 1) + v)
            exps, objects = {}, []
            for obj in range(2):
                masks = [_box(t, obj) for t in range(4)]
                if obj == 1:
                    masks[0][:] = False  # enters in the second frame: a null entry
                mask_dict[str(anno)] = [_rle(m) if m.any() else None for m in masks]
                objects.append((anno, np.stack(masks)))
                anno += 1
            exps["0"] = {"exp": "the one moving left", "obj_id": [0], "anno_id": [objects[0][0]]}
            exps["1"] = {"exp": "the two moving", "obj_id": [0, 1], "anno_id": [objects[0][0], objects[1][0]]}
            if split == "valid":
                exps = {k: {"exp": e["exp"]} for k, e in exps.items()}
            meta["videos"][vid] = {"expressions": exps, "frames": ids}
            truth[f"{split}/{vid}"] = {"0": objects[0][1], "1": objects[0][1] | objects[1][1]}
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "meta_expressions.json").write_text(json.dumps(meta))
        if split != "valid":
            (folder / "mask_dict.json").write_text(json.dumps(mask_dict))
    return truth


def refavs_mask_modes(folder: Path, mask: np.ndarray) -> dict[str, Path]:
    """The same mask as the PNG kinds met in the wild; what the toolkit reads from each."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    grey255 = (mask * 255).astype(np.uint8)
    out["grey-255"] = folder / "grey255.png"
    Image.fromarray(grey255).save(out["grey-255"])
    out["grey-1"] = folder / "grey1.png"
    Image.fromarray(mask.astype(np.uint8)).save(out["grey-1"])
    rgb = np.zeros(mask.shape + (3,), np.uint8)
    rgb[mask] = (200, 16, 16)
    out["rgb"] = folder / "rgb.png"
    Image.fromarray(rgb).save(out["rgb"])
    pal = Image.fromarray(mask.astype(np.uint8))
    pal.putpalette([0, 0, 0, 128, 0, 0] + [0] * (254 * 3))  # an L image becomes P: index 1 dark red
    assert pal.mode == "P"
    out["palette"] = folder / "palette.png"
    pal.save(out["palette"])
    return out


def toolkit_reads(path: Path) -> np.ndarray:
    """Ref-AVS ``dataset_refavs.py``'s reading of a mask PNG (without its 256x256 resize)."""
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY) > 0


def refavs_release(root: Path) -> dict:
    """A Ref-AVS Bench tree as ``GeWu-Lab/Ref-AVS`` ``datasets/dataset_refavs.py`` reads it: the
    folder of a row is ``uid.rsplit('_', 2)[0]`` (so a null row ``null_c-<vid>_null_1`` lives in
    ``media/null_c-<vid>/``), frames ``frames/{0..9}.jpg``, ``audio.wav``, masks
    ``gt_mask/<folder>/fid_<fid>/0000{i}.png`` (here palette PNGs, as DAVIS-style tools write)."""
    import csv
    import wave

    vid = "-cLOg0sQ0Zo_420000_430000"
    rows = [(vid, f"{vid}_guitar_1", "test_s", "1", "the guitar being played"),
            (vid, f"null_c-{vid}_null_1", "test_n", "0", "the trumpet")]
    masks = {}
    for folder, (_, uid, _, fid, _) in zip((vid, f"null_c-{vid}"), rows):
        for t in range(10):
            _frame(root / "media" / folder / "frames" / f"{t}.jpg", 20 * t + 5)
        with wave.open(str(root / "media" / folder / "audio.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(np.zeros(16000, np.int16).tobytes())
        stack = np.stack([_box(t, 0) for t in range(10)])
        masks[uid] = stack
        for t in range(10):
            png = Image.fromarray(stack[t].astype(np.uint8))
            png.putpalette([0, 0, 0, 128, 0, 0] + [0] * (254 * 3))
            path = root / "gt_mask" / folder / f"fid_{fid}" / f"0000{t}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            png.save(path)
    with open(root / "metadata.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["vid", "uid", "split", "fid", "exp"])
        w.writerows(rows)
    return {"vid": vid, "masks": masks}
