"""Write OmniSynth to disk in the RefAVS layout (primary) and the ReVOS layout.

::

    <out>/omnisynth.json                          config + summary (deterministic)
    <out>/refavs/metadata.csv                     vid,uid,split,fid,exp + type,kind,literal,
                                                  target_ids,omnisynth_split,expression_index
    <out>/refavs/media/<vid>/frames/{0..T-1}.jpg
    <out>/refavs/media/<vid>/audio.wav            mono 16-bit PCM, T * seconds_per_frame long
    <out>/refavs/gt_mask/<vid>/fid_<fid>/{00000..}.png   0/255, union of the targets (null: zeros;
                                                  a clip's empty masks are hard links to one file)
    <out>/refavs/annotations/<vid>.json           per-frame object geometry, sounds, expressions
    <out>/revos/JPEGImages/<vid>/{00000..}.jpg    hard links to the RefAVS frames (else copies)
    <out>/revos/mask_dict.json                    anno_id -> [COCO RLE | null per frame]
    <out>/revos/mask_dict_foreground.json         vid -> {"masks_rle": [union of all objects]}
    <out>/revos/meta_expressions_{train,val,valid}_.json

Split names: OmniSynth ``train, val, seen, unseen, null`` are RefAVS ``train, val, test_s,
test_u, test_n``; in the ReVOS layout ``train`` → ``train``, ``val`` → ``val`` and ``seen`` +
``unseen`` → ``valid`` (the ReVOS benchmark split; each video entry records its
``omnisynth_split``). ReVOS has no null expressions, so the null split is not written there.
ReVOS ``type_id`` is 0 for referring (literal) and 1 for reasoning *and* audio-visual
expressions (each entry also keeps ``type``, ``kind`` and ``literal``). Every object of a clip
has an ``anno_id`` (numbered in writing order), so the foreground covers all of them.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as out:
...     s = generate(out, OmniSynthConfig.smoke(clips={"train": 1, "null": 1}))
>>> s["clips"], s["rows"]["null"], sorted(s["levers"])[:2]
({'train': 1, 'null': 1}, 2, ['by_type', 'expressions'])
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omni_r1_lite.data.omnisynth.clip import Clip, make_clip, target_stats
from omni_r1_lite.data.omnisynth.config import REFAVS_SPLIT, REVOS_SPLIT, SPLITS, OmniSynthConfig
from omni_r1_lite.data.omnisynth.render import jpeg_bytes, png_bytes
from omni_r1_lite.data.perception import perception_text

METADATA_COLUMNS = ("vid", "uid", "split", "fid", "exp", "type", "kind", "literal", "target_ids",
                    "omnisynth_split", "expression_index")
_REVOS_TYPE_ID = {"referring": 0, "reasoning": 1, "audio-visual": 1}


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _rles(masks: np.ndarray) -> list[dict | None]:
    """``bool[T, H, W]`` → per-frame COCO RLE (``str`` counts), ``None`` for empty frames."""
    from pycocotools import mask as mask_utils

    enc = mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
    out: list[dict | None] = []
    for t, r in enumerate(enc):
        if not masks[t].any():
            out.append(None)
        else:
            out.append({"size": [int(v) for v in r["size"]], "counts": r["counts"].decode("ascii")})
    return out


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


class _Writer:
    def __init__(self, out: Path, config: OmniSynthConfig):
        self.out, self.config = out, config
        self.refavs, self.revos = out / "refavs", out / "revos"
        self.rows: list[dict[str, Any]] = []
        self.mask_dict: dict[str, list] = {}
        self.foreground: dict[str, dict] = {}
        self.meta: dict[str, dict] = {}
        self.next_anno = 0
        self.zero_png = png_bytes(np.zeros((config.height, config.width), dtype=bool))
        self.files = 0

    def _write(self, path: Path, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        path.write_bytes(data)
        self.files += 1

    def clip(self, clip: Clip) -> None:
        from omni_r1_lite.data.media import write_wav

        cfg, vid = self.config, clip.vid
        media = self.refavs / "media" / vid
        (media / "frames").mkdir(parents=True)
        for t, frame in enumerate(clip.frames):
            self._write(media / "frames" / f"{t}.jpg", jpeg_bytes(frame, cfg.jpeg_quality))
        write_wav(media / "audio.wav", clip.audio, cfg.sample_rate)
        self.files += 1
        zero: Path | None = None  # empty masks of a clip are hard links to its first one
        for fid in sorted(set(clip.fids)):
            folder = self.refavs / "gt_mask" / vid / f"fid_{fid}"
            folder.mkdir(parents=True)
            masks = clip.target_masks(fid)
            for t in range(masks.shape[0]):
                path = folder / f"{t:05d}.png"
                if masks[t].any():
                    self._write(path, png_bytes(masks[t]))
                elif zero is None:
                    self._write(path, self.zero_png)
                    zero = path
                else:
                    _link(zero, path)
                    self.files += 1
        self._write(self.refavs / "annotations" / f"{vid}.json", _dumps(clip.annotation))
        split = clip.scene.split
        for i, e in enumerate(clip.expressions):
            self.rows.append({
                "vid": vid, "uid": clip.uids[i], "split": REFAVS_SPLIT[split], "fid": clip.fids[i],
                "exp": e.text, "type": e.type, "kind": e.kind, "literal": e.literal,
                "target_ids": " ".join(str(k) for k in e.targets), "omnisynth_split": split,
                "expression_index": i,
            })
        if "revos" in cfg.layouts and split in REVOS_SPLIT:
            self._revos_clip(clip)

    def _revos_clip(self, clip: Clip) -> None:
        vid, geo, t_count = clip.vid, clip.geometry, self.config.num_frames
        folder = self.revos / "JPEGImages" / vid
        folder.mkdir(parents=True)
        src = self.refavs / "media" / vid / "frames"
        for t in range(t_count):
            _link(src / f"{t}.jpg", folder / f"{t:05d}.jpg")
        anno = {}
        for o in clip.scene.objects:
            anno[o.id] = self.next_anno
            self.mask_dict[str(self.next_anno)] = _rles(geo.visible[o.id])
            self.next_anno += 1
        self.foreground[vid] = {"masks_rle": _rles(geo.visible.any(axis=0))}
        exps = {}
        for i, e in enumerate(clip.expressions):
            exps[str(i)] = {
                "exp": e.text, "obj_id": list(e.targets), "anno_id": [anno[k] for k in e.targets],
                "type_id": _REVOS_TYPE_ID[e.type], "type": e.type, "kind": e.kind, "literal": e.literal,
            }
        videos = self.meta.setdefault(REVOS_SPLIT[clip.scene.split], {})
        videos[vid] = {
            "vid_id": len(videos), "height": self.config.height, "width": self.config.width,
            "frames": [f"{t:05d}" for t in range(t_count)], "expressions": exps,
            "omnisynth_split": clip.scene.split,
        }

    def finish(self) -> None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=METADATA_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(self.rows)
        self._write(self.refavs / "metadata.csv", buf.getvalue())
        if "revos" in self.config.layouts:
            self.revos.mkdir(parents=True, exist_ok=True)
            self._write(self.revos / "mask_dict.json", _dumps(self.mask_dict))
            self._write(self.revos / "mask_dict_foreground.json", _dumps(self.foreground))
            for stem in sorted(set(REVOS_SPLIT.values())):
                videos = self.meta.get(stem, {})
                self._write(self.revos / f"meta_expressions_{stem}_.json", _dumps({"videos": videos}))


def _summary(config: OmniSynthConfig, clips: dict[str, int], rows: list[dict], stats: list[dict],
             words: list[int]) -> dict:
    types: dict[str, dict[str, int]] = {}
    kinds: dict[str, int] = {}
    per_split: dict[str, int] = {}
    for r in rows:
        s = r["omnisynth_split"]
        types.setdefault(s, {}).setdefault(r["type"], 0)
        types[s][r["type"]] += 1
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        per_split[s] = per_split.get(s, 0) + 1

    def agg(items: list[dict]) -> dict[str, float]:
        if not items:
            return {}
        mean = {k: round(float(np.mean([x[k] for x in items])), 4)
                for k in ("vis_lt_0.3", "invisible", "oracle", "uniform", "worst")}
        return {
            "expressions": len(items),
            "frac_target_frames_vis_lt_0.3": mean["vis_lt_0.3"],
            "frac_target_frames_invisible": mean["invisible"],
            "frac_expressions_hidden_in_30pct_frames": round(float(np.mean([x["vis_lt_0.3"] >= 0.3
                                                                            for x in items])), 4),
            "saliency_oracle4": mean["oracle"],
            "saliency_uniform4": mean["uniform"],
            "saliency_worst4": mean["worst"],
        }

    literal = [x for x in stats if x["kind"] == "literal"]
    by_type = {t: agg([x for x in stats if x["type"] == t])
               for t in ("referring", "reasoning", "audio-visual")}
    both = round(float(np.mean([x["needs_both"] for x in literal])), 4) if literal else None
    return {
        "config": config.to_dict(),
        "clips": clips,
        "rows": per_split,
        "expressions": types,
        "kinds": dict(sorted(kinds.items())),
        "levers": {**agg(stats), "by_type": by_type},
        "perception_words_per_frame": {"mean": round(float(np.mean(words)), 2) if words else None,
                                       "max": int(max(words)) if words else None},
        "literal_needs_both_words": both,
    }


def generate(out_dir: str | Path, config: OmniSynthConfig | None = None, *, overwrite: bool = False) -> dict:
    """Generate OmniSynth into ``out_dir`` (see the module docstring for the layout).

    Args:
        out_dir: created if needed; must not already hold ``refavs/`` or ``revos/`` unless
            ``overwrite=True`` (then those are deleted first).
        config: `OmniSynthConfig` (default: the full default set).

    Returns the summary dict (also written, without the timing, to ``<out>/omnisynth.json``):
    ``clips`` and ``rows`` per split, expression ``types`` per split, ``kinds``, ``levers``
    (target visibility and keyframe-saliency statistics over non-null expressions, overall and
    ``by_type``), ``files``, ``bytes``, ``refavs_root``, ``revos_root`` and ``seconds``.
    """
    config = config or OmniSynthConfig()
    out = Path(out_dir)
    t0 = time.perf_counter()
    for sub in ("refavs", "revos"):
        if (out / sub).exists():
            if not overwrite:
                raise FileExistsError(f"{out / sub} exists; pass overwrite=True to replace it")
            shutil.rmtree(out / sub)
    out.mkdir(parents=True, exist_ok=True)
    writer = _Writer(out, config)
    (writer.refavs / "annotations").mkdir(parents=True)
    stats: list[dict] = []
    words: list[int] = []
    clips = {s: int(config.clips[s]) for s in SPLITS if config.clips.get(s)}
    for split, n in clips.items():
        for i in range(n):
            clip = make_clip(config, split, i)
            writer.clip(clip)
            stats.extend(target_stats(clip))
            words.extend(len(line.split()) for line in perception_text(clip.annotation).splitlines())
    writer.finish()
    summary = _summary(config, clips, writer.rows, stats, words)
    (out / "omnisynth.json").write_text(json.dumps(summary, sort_keys=True, indent=1) + "\n")
    inodes = {(st.st_dev, st.st_ino): st.st_size for st in (p.stat() for p in out.rglob("*") if p.is_file())}
    total = sum(inodes.values())  # hard links counted once
    summary.update(
        files=writer.files + 1, bytes=total, out_dir=str(out), refavs_root=str(writer.refavs),
        revos_root=str(writer.revos) if "revos" in config.layouts else None,
        seconds=round(time.perf_counter() - t0, 3),
    )
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """``omni-r1-lite synth OUT_DIR [--preset cpu-demo] [--seed N] [--train N] ... [--json]``: generate,
    print a short summary (``--json``: the whole summary as JSON on the last line)."""
    from omni_r1_lite.config import PRESETS, get_preset
    from omni_r1_lite.data.sources import omnisynth_config

    p = argparse.ArgumentParser(prog="omni-r1-lite synth", description="Generate the OmniSynth benchmark.")
    p.add_argument("out_dir")
    p.add_argument("--preset", choices=(*PRESETS, "default"), default="cpu-demo",
                   help="the data a kit preset's notebooks read (default %(default)s: 8 frames at 0.5 s); "
                        "'default': the generator's own defaults (10 frames at 1 s, RefAVS-like)")
    p.add_argument("--seed", type=int, default=None)
    for s in SPLITS:
        p.add_argument(f"--{s}", type=int, default=None, metavar="N", help=f"clips in the {s} split")
    p.add_argument("--num-frames", type=int, default=None)
    p.add_argument("--seconds-per-frame", type=float, default=None)
    p.add_argument("--width", type=int, default=None)
    p.add_argument("--height", type=int, default=None)
    p.add_argument("--no-revos", action="store_true", help="write only the RefAVS layout")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--json", action="store_true", help="print the whole summary as JSON")
    a = p.parse_args(argv)
    base = OmniSynthConfig() if a.preset == "default" else omnisynth_config(get_preset(a.preset))
    clips = dict(base.clips)
    for s in SPLITS:
        if getattr(a, s) is not None:
            clips[s] = getattr(a, s)
    kw: dict[str, Any] = {"clips": clips}
    for name in ("seed", "num_frames", "seconds_per_frame", "width", "height"):
        if getattr(a, name) is not None:
            kw[name] = getattr(a, name)
    if a.no_revos:
        kw["layouts"] = ("refavs",)
    config = dataclasses.replace(base, **kw)
    summary = generate(a.out_dir, config, overwrite=a.overwrite)
    print(f"OmniSynth (seed {config.seed}, {config.num_frames} frames at {config.seconds_per_frame:g} s, "
          f"{config.width}x{config.height}) in {summary.get('seconds', 0):.1f} s -> {a.out_dir}")
    for split, n in summary["clips"].items():
        print(f"  {split:7s} {n:5d} clips {summary['rows'].get(split, 0):6d} expressions")
    print(f"  {summary['files']} files, {summary['bytes'] / 1e6:.1f} MB; RefAVS layout {summary['refavs_root']}"
          + (f", ReVOS layout {summary['revos_root']}" if summary.get("revos_root") else ""))
    if a.json:
        print(json.dumps(summary, sort_keys=True))
    return 0
