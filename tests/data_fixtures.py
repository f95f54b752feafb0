"""Tiny datasets written in exactly the real on-disk layouts, into a temporary folder.

Nothing binary is committed: every test writes what it needs. Frames carry their index in
their colour so order mistakes show; masks are rectangles whose position moves with time.

- `make_refavs_tree`: RefAVS release layout (metadata.csv, media/<folder>/frames + audio.wav,
  gt_mask/<folder>/fid_<fid>/0000i.png), 3 clips, a TODO row, null rows, an extra column.
- `make_revos_tree`: ReVOS-api layout (JPEGImages/<video with slashes>/<id>.jpg, mask_dict.json
  with pycocotools RLEs, mask_dict_foreground.json, meta_expressions_{valid,train}_.json), a
  multi-object expression, a type-2 and a null expression; ``layout="sa2va"`` drops
  ``JPEGImages/`` as the Sa2VA bundle does.
- `write_test_video`: an H.264 mp4 (optionally with an AAC tone) written with PyAV.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from omni_r1_lite.data.masks import encode_rle, write_mask_png
from omni_r1_lite.data.media import write_frames, write_wav

H, W = 24, 32  # RefAVS fixture frame size
RH, RW = 20, 28  # ReVOS fixture frame size


def frame_colour(t: int) -> int:
    """Grey level of frame ``t`` (distinct, far apart, JPEG-safe)."""
    return 20 + 20 * t


def flat_frames(n: int, h: int, w: int, offset: int = 0) -> np.ndarray:
    """``uint8[n, h, w, 3]``; frame ``t`` is flat grey `frame_colour(t + offset)`."""
    return np.stack([np.full((h, w, 3), frame_colour(t + offset) % 256, np.uint8) for t in range(n)])


def rect_masks(n: int, h: int, w: int, obj: int) -> np.ndarray:
    """``bool[n, h, w]``: a box that moves right with time; object ``obj`` sits lower down."""
    m = np.zeros((n, h, w), bool)
    for t in range(n):
        top = 2 + 6 * obj
        m[t, top : top + 5, 1 + t : 6 + t] = True
    return m


def tone(seconds: float, sr: int = 16000, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


# --------------------------------------------------------------------------- RefAVS

REFAVS_ROWS = [
    # vid, uid, split, fid, exp, category (an extra column)
    ("vidA_0_10000", "vidA_0_10000_guitar_1", "train", "0", "The guitar being played.", "guitar"),
    ("vidA_0_10000", "vidA_0_10000_man_1", "train", "1", "The man singing, then silent.", "man"),
    (
        "vidB_5000_15000",
        "vidB_5000_15000_dog_1",
        "test_s",
        "0",
        "The object making a sound by barking.",
        "dog",
    ),
    ("vidB_5000_15000", "vidB_5000_15000_dog_2", "TODO", "0", "Dropped row.", "dog"),
    ("vidC_1000_11000", "vidC_1000_11000_car_1", "test_u", "0", "The car, heard before it is seen.", "car"),
    # null rows: the first has its own uid-derived folder, the second falls back to the vid column
    ("vidC_1000_11000", "null_c-vidC_1000_11000_null_1", "test_n", "0", "The sounding piano.", ""),
    (
        "vidB_5000_15000",
        "null_m-vidB_5000_15000_null_1",
        "test_n",
        "0",
        "The object making a lowest sound",
        "",
    ),
]
REFAVS_FRAMES = 10


def make_refavs_tree(root: Path, audio_seconds: float = 1.0) -> dict:
    """Write a RefAVS tree; return ``{"masks": {(folder, fid): bool[10, H, W]}, "audio": float[N]}``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "metadata.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["vid", "uid", "split", "fid", "exp", "category"])
        w.writerows(REFAVS_ROWS)
    audio = tone(audio_seconds)
    folders = {"vidA_0_10000": 0, "vidB_5000_15000": 1, "vidC_1000_11000": 2, "null_c-vidC_1000_11000": 3}
    for folder, k in folders.items():
        write_frames(root / "media" / folder / "frames", flat_frames(REFAVS_FRAMES, H, W, offset=k))
        write_wav(root / "media" / folder / "audio.wav", audio)
    masks = {}
    for vid, uid, _split, fid, _, _ in REFAVS_ROWS:
        if uid.startswith("null_"):
            continue
        m = rect_masks(REFAVS_FRAMES, H, W, obj=int(fid))
        masks[(vid, fid)] = m
        for t in range(REFAVS_FRAMES):
            write_mask_png(root / "gt_mask" / vid / f"fid_{fid}" / f"0000{t}.png", m[t])
    return {"masks": masks, "audio": audio}


# --------------------------------------------------------------------------- ReVOS

REVOS_VIDEOS = {
    "UVO/all/-CiPki3XuVI": {"frames": 5, "vid_id": "1"},
    "LV-VIS/test/00016": {"frames": 4, "vid_id": "2"},
}


def make_revos_tree(root: Path, layout: str = "revos-api", with_size: bool = True) -> dict:
    """Write a ReVOS tree; return ``{"anno": {anno_id: bool[T, RH, RW]}, "expressions": ...}``.

    Expressions (valid split) of ``UVO/all/-CiPki3XuVI``: ``"0"`` one object (type 0), ``"1"`` two
    objects (type 1), ``"2"`` type 2, ``"3"`` no anno_id (null). ``LV-VIS/test/00016``: ``"0"``
    (type 0) whose frame list is stored out of order. The train split has one expression.
    """
    root = Path(root)
    images = root / "JPEGImages" if layout == "revos-api" else root
    anno: dict[str, np.ndarray] = {}
    mask_dict: dict[str, list] = {}
    videos: dict[str, dict] = {}
    fg: dict[str, dict] = {}
    next_anno = 0

    def add_object(n: int, obj: int, null_frames: tuple[int, ...] = ()) -> str:
        nonlocal next_anno
        aid = str(next_anno)
        next_anno += 1
        m = rect_masks(n, RH, RW, obj)
        for t in null_frames:
            m[t] = False
        anno[aid] = m
        mask_dict[aid] = [None if t in null_frames else encode_rle(m[t]) for t in range(n)]
        return aid

    for k, (video, spec) in enumerate(REVOS_VIDEOS.items()):
        n = spec["frames"]
        ids = [f"{t:05d}" for t in range(n)]
        write_frames(images / video, flat_frames(n, RH, RW, offset=3 * k), digits=5)
        if k == 0:
            a0 = add_object(n, 0, null_frames=(4,))
            a1 = add_object(n, 1)
            a2 = add_object(n, 2)
            expressions = {
                "0": {"exp": "the red ball", "obj_id": [0], "anno_id": [a0], "type_id": 0},
                "1": {
                    "exp": "the two things a child would pick up",
                    "obj_id": [1, 2],
                    "anno_id": [a1, a2],
                    "type_id": 1,
                },
                "2": {"exp": "the ball again", "obj_id": [0], "anno_id": [a0], "type_id": 2},
                "3": {"exp": "the unicorn", "obj_id": [], "anno_id": [], "type_id": 1},
            }
            stored_ids = ids
        else:
            a3 = add_object(n, 0)
            expressions = {"0": {"exp": "the box", "obj_id": [0], "anno_id": [a3], "type_id": 0}}
            # frames stored out of order: the mask list follows the stored order
            order = [2, 0, 3, 1]
            stored_ids = [ids[i] for i in order]
            mask_dict[a3] = [encode_rle(anno[a3][i]) for i in order]
        entry = {"vid_id": spec["vid_id"], "frames": stored_ids, "expressions": expressions}
        if with_size:
            entry.update(height=RH, width=RW)
        videos[video] = entry
        ids_all = [a for e in expressions.values() for a in e["anno_id"]]
        union = np.zeros((n, RH, RW), bool)
        for a in set(ids_all):
            union |= anno[a]
        stored_pos = [int(s) for s in stored_ids]
        fg[video] = {"masks_rle": [encode_rle(union[p]) for p in stored_pos], "foreground_ratio": []}

    root.mkdir(parents=True, exist_ok=True)
    (root / "mask_dict.json").write_text(json.dumps(mask_dict))
    (root / "mask_dict_foreground.json").write_text(json.dumps(fg))
    (root / "meta_expressions_valid_.json").write_text(json.dumps({"videos": videos}))
    train = {
        "videos": {
            "UVO/all/-CiPki3XuVI": {
                **videos["UVO/all/-CiPki3XuVI"],
                "expressions": {"7": videos["UVO/all/-CiPki3XuVI"]["expressions"]["0"]},
            }
        }
    }
    (root / "meta_expressions_train_.json").write_text(json.dumps(train))
    return {"anno": anno, "videos": videos, "images": images}


# --------------------------------------------------------------------------- videos


def write_test_video(
    path: Path,
    frames: np.ndarray,
    fps: int = 10,
    audio: np.ndarray | None = None,
    sr: int = 16000,
    gop: int = 5,
) -> Path:
    """H.264 (yuv420p, keyframe every ``gop`` frames) + optional mono AAC, with PyAV."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    t, h, w, _ = frames.shape
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0", "crf": "10"}
        a_stream = None
        if audio is not None:
            a_stream = c.add_stream("aac", rate=sr)
            a_stream.layout = "mono"
        for i in range(t):
            for p in vs.encode(av.VideoFrame.from_ndarray(frames[i], format="rgb24")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        if a_stream is not None:
            fr = av.AudioFrame.from_ndarray(
                np.asarray(audio, np.float32)[None, :], format="fltp", layout="mono"
            )
            fr.sample_rate = sr
            for p in a_stream.encode(fr):
                c.mux(p)
            for p in a_stream.encode(None):
                c.mux(p)
    return path
