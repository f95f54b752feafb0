"""OmniSynth: determinism, both on-disk layouts through the real loaders, masks vs annotations,
split rules, expression rules, lever statistics."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from omni_r1_lite.data.media import read_audio
from omni_r1_lite.data.omnisynth import (
    PITCH_OF_SIZE,
    TIMBRE_OF_SHAPE,
    UNSEEN_COMBOS,
    OmniSynthConfig,
    generate,
    load_omnisynth,
    main,
    make_clip,
    vocabulary,
)
from omni_r1_lite.data.perception import perception_text
from omni_r1_lite.data.refavs import load_refavs
from omni_r1_lite.data.revos import load_revos
from omni_r1_lite.data.schema import EXPRESSION_TYPES

CLIPS = {"train": 16, "val": 3, "seen": 8, "unseen": 8, "null": 5}
CONFIG = OmniSynthConfig(seed=7, clips=CLIPS)


def _hashes(root: Path) -> dict[str, str]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("omnisynth")
    summary = generate(root, CONFIG)
    return root, summary


@pytest.fixture(scope="module")
def annotations(synth):
    root, _ = synth
    files = sorted((root / "refavs" / "annotations").glob("*.json"))
    return {p.stem: json.loads(p.read_text()) for p in files}


def test_same_seed_same_bytes(synth, tmp_path):
    root, _ = synth
    generate(tmp_path, CONFIG)
    a, b = _hashes(root), _hashes(tmp_path)
    assert a.keys() == b.keys() and len(a) > 100
    assert a == b


def test_other_seed_differs_and_clip_independent_of_count(synth, tmp_path):
    root, _ = synth
    generate(tmp_path / "few", OmniSynthConfig(seed=7, clips={"train": 2}, layouts=("refavs",)))
    for vid in ("osyn-train-00000", "osyn-train-00001"):
        rel = Path("refavs") / "annotations" / f"{vid}.json"
        assert (tmp_path / "few" / rel).read_bytes() == (root / rel).read_bytes()
        rel = Path("refavs") / "media" / vid / "audio.wav"
        assert (tmp_path / "few" / rel).read_bytes() == (root / rel).read_bytes()
    other = make_clip(OmniSynthConfig(seed=8), "train", 0).annotation
    assert other != make_clip(OmniSynthConfig(seed=7), "train", 0).annotation


def test_refavs_layout_read_by_real_loader(synth):
    root, summary = synth
    raw = load_refavs(root / "refavs")
    assert len(raw) == sum(summary["rows"].values()) and raw.num_skipped == 0
    assert set(raw.splits()) == {"train", "val", "test_s", "test_u", "test_n"}
    for split, n in CLIPS.items():
        samples = load_omnisynth(root, split)
        assert len(samples) == summary["rows"][split] >= n
        assert {s.split for s in samples} == {split}
        official = {"seen": "test_s", "unseen": "test_u", "null": "test_n"}.get(split, split)
        assert {s.meta["refavs_split"] for s in samples} == {official}
        assert len({s.meta["vid"] for s in samples}) == n
        for s in samples:
            assert s.dataset == "omnisynth" and s.task == "AVS" and s.expression_type in EXPRESSION_TYPES
            assert s.audio_path is not None and s.audio_path.is_file()
            assert s.num_frames == CONFIG.num_frames
            assert (s.expression_type == "null") == (split == "null")
            assert s.object_ids == s.meta["target_ids"]
            e = s.meta["annotation"]["expressions"][s.meta["expression_index"]]
            assert (e["exp"], e["literal"]) == (s.expression, s.meta["literal"])
            assert tuple(e["target_ids"]) == s.object_ids
    both = load_omnisynth(root / "refavs", ["test_s", "unseen"])
    assert len(both) == summary["rows"]["seen"] + summary["rows"]["unseen"]
    vos = load_omnisynth(root, "seen", task="VOS")
    assert {s.task for s in vos} == {"VOS"} and all(s.audio_path is not None for s in vos)


def test_types_per_split(synth):
    _, summary = synth
    for split in ("train", "seen"):
        assert set(summary["expressions"][split]) == {"referring", "reasoning", "audio-visual"}
    assert set(summary["expressions"]["null"]) == {"null"}


def test_revos_layout_read_by_real_loader(synth):
    root, summary = synth
    by_uid = {s.meta["uid"]: s for s in load_omnisynth(root, None)}
    videos = json.loads((root / "revos" / "meta_expressions_valid_.json").read_text())["videos"]
    assert videos and not any("null" in v for v in videos)
    for stem, splits in (("train", ["train"]), ("val", ["val"]), ("valid", ["seen", "unseen"])):
        samples = load_revos(root / "revos", stem)
        assert len(samples) == sum(summary["rows"][s] for s in splits) and samples.num_skipped == 0
        for s in samples[:12]:
            vid, k = s.meta["video"], int(s.meta["exp_id"])
            ref = next(r for r in by_uid.values() if r.meta["vid"] == vid and r.meta["expression_index"] == k)
            assert s.expression == ref.expression
            assert s.expression_type == ("referring" if ref.expression_type == "referring" else "reasoning")
            assert np.array_equal(s.load_masks(), ref.load_masks())
            assert (s.frame_dir / s.frame_names[0]).stat().st_ino == (ref.frame_dir / "0.jpg").stat().st_ino


def test_masks_match_annotations(synth):
    root, _ = synth
    for s in load_omnisynth(root, ["train", "unseen"])[:40]:
        ann, masks = s.meta["annotation"], s.load_masks()
        assert masks.shape == (CONFIG.num_frames, CONFIG.height, CONFIG.width)
        for t, f in enumerate(ann["frames"]):
            recs = [o for o in f["objects"] if o["id"] in s.object_ids]
            assert int(masks[t].sum()) == sum(o["visible_area"] for o in recs)
            boxes = [o["visible_box"] for o in recs if o["visible_box"]]
            if boxes:
                ys, xs = np.nonzero(masks[t])
                b = np.array(boxes)
                union = [b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()]
                assert [xs.min(), ys.min(), xs.max(), ys.max()] == union
            for o in recs:
                assert abs(o["visibility"] - o["visible_area"] / o["full_area"]) < 1e-3
                assert o["visible_area"] <= o["onscreen_area"] <= o["full_area"]


def test_null_masks_empty(synth):
    root, _ = synth
    samples = load_omnisynth(root, "null")
    assert samples and all(s.object_ids == () and not s.load_masks().any() for s in samples)
    pngs = list((root / "refavs" / "gt_mask").glob("osyn-null-*/fid_*/*.png"))
    assert pngs and all(not read_mask(p).any() for p in pngs[:20])


def read_mask(p):
    from omni_r1_lite.data.masks import read_mask_png

    return read_mask_png(p)


def test_unseen_combos(annotations):
    unseen = set(UNSEEN_COMBOS)
    for vid, ann in annotations.items():
        combos = {(o["colour"], o["shape"]) for o in ann["objects"]}
        if ann["split"] == "unseen":
            assert combos & unseen
            for e in ann["expressions"]:
                for k in e["target_ids"]:
                    assert (ann["objects"][k]["colour"], ann["objects"][k]["shape"]) in unseen
        else:
            assert not combos & unseen, vid


def test_literal_descriptions(annotations):
    for ann in annotations.values():
        objs = ann["objects"]
        literals = [o["literal"] for o in objs]
        assert len(set(literals)) == len(literals) == len({(o["colour"], o["shape"]) for o in objs})
        for e in ann["expressions"]:
            words = set(e["exp"].split())
            if e["type"] == "null":
                assert not e["target_ids"]
                assert not any(e["literal"].endswith(f"{o['colour']} {o['shape']}") for o in objs)
                assert e["literal"].split()[-1] not in {o["shape"] for o in objs} or e["kind"] == "absent"
                continue
            assert e["literal"] == " and ".join(objs[k]["literal"] for k in e["target_ids"])
            if e["type"] in ("reasoning", "audio-visual"):
                for k in e["target_ids"]:
                    assert not {objs[k]["colour"], objs[k]["shape"]} <= words, e
            if e["kind"] == "literal":
                assert e["exp"] == e["literal"]


def _in_view(ann, k):
    return [f["objects"][k]["onscreen_area"] >= 8 for f in ann["frames"]]


def test_expression_semantics(annotations):
    """Re-derive the answer of several kinds from the annotation alone."""
    checked = set()
    for ann in annotations.values():
        objs, sounds = ann["objects"], ann["sounds"]
        heard = {o["id"]: sorted({s["frame"] for s in sounds if s["object"] == o["id"]}) for o in objs}
        for e in ann["expressions"]:
            kind, tg = e["kind"], e["target_ids"]
            if kind == "enter-last":
                views = {o["id"]: _in_view(ann, o["id"]) for o in objs}
                first = {k: v.index(True) for k, v in views.items() if any(v)}
                assert first[tg[0]] > max(v for k, v in first.items() if k != tg[0]) and first[tg[0]] > 0
            elif kind == "exit-only":
                views = {o["id"]: _in_view(ann, o["id"]) for o in objs}
                leavers = [k for k, v in views.items() if any(v) and not v[-1]]
                assert leavers == tg
            elif kind == "sound":
                o = objs[tg[0]]
                assert e["exp"].endswith(f"{o['pitch']} {o['timbre']}") and heard[tg[0]]
            elif kind in ("sound-first", "sounding-only"):
                loud = [k for k in heard if heard[k]]
                assert min(loud, key=lambda k: heard[k][0]) == tg[0]
            elif kind == "silent-shape":
                assert not heard[tg[0]] and e["exp"].split()[-1] in (objs[tg[0]]["shape"], "sound")
            elif kind == "sounding-multi":
                assert tg == [k for k in heard if heard[k]] and len(tg) >= 2
            elif kind == "all-shape":
                assert tg == [o["id"] for o in objs if o["shape"] + "s" == e["exp"].split()[-1]]
            if e["type"] == "audio-visual":  # the emitters it needs are identifiable by pitch, timbre, timing
                needed = [k for k in heard if heard[k]] if kind in ("sound-first", "sound-last") else tg
                for k in needed:
                    if not heard[k]:
                        continue
                    for j in heard:
                        same = (objs[j]["pitch"], objs[j]["timbre"]) == (objs[k]["pitch"], objs[k]["timbre"])
                        if j != k and same:
                            assert not heard[j] and not all(_in_view(ann, j)[t] for t in heard[k])
            checked.add(kind)
    assert {"literal"} | checked >= {"literal", "sound"}


def test_sound_rules(annotations, synth):
    root, _ = synth
    for ann in annotations.values():
        spf = ann["seconds_per_frame"]
        for o in ann["objects"]:
            assert o["timbre"] == TIMBRE_OF_SHAPE[o["shape"]] and o["pitch"] == PITCH_OF_SIZE[o["size"]]
        for s in ann["sounds"]:
            o = ann["objects"][s["object"]]
            assert (s["pitch"], s["timbre"]) == (o["pitch"], o["timbre"]) and o["sounding"]
            assert s["frame"] * spf <= s["start"] < s["end"] <= (s["frame"] + 1) * spf
            assert ann["frames"][s["frame"]]["objects"][o["id"]]["onscreen_area"] >= 8
    ann = next(a for a in annotations.values() if a["sounds"])
    audio = read_audio(root / "refavs" / "media" / ann["vid"] / "audio.wav")
    sr = ann["sample_rate"]
    assert audio.shape == (ann["num_frames"] * sr,)
    s = ann["sounds"][0]
    inside = audio[int(s["start"] * sr) + 200:int(s["end"] * sr) - 200]
    assert np.sqrt((inside ** 2).mean()) > 0.1
    assert np.abs(audio[: int(s["start"] * sr) - 10]).max() < 0.02  # only the noise floor before


def test_lever_statistics(synth):
    _, summary = synth
    lev = summary["levers"]
    assert 0.2 <= lev["frac_target_frames_vis_lt_0.3"] <= 0.7
    assert lev["frac_expressions_hidden_in_30pct_frames"] >= 0.5
    assert lev["saliency_oracle4"] - lev["saliency_uniform4"] >= 0.2
    assert lev["saliency_oracle4"] >= 0.8 and lev["saliency_worst4"] <= 0.4
    assert summary["literal_needs_both_words"] >= 0.6
    assert json.loads((Path(summary["out_dir"]) / "omnisynth.json").read_text())["levers"] == lev


@pytest.mark.parametrize("num_frames", [8, 24])
def test_frame_counts(num_frames):
    cfg = OmniSynthConfig(num_frames=num_frames, width=200, height=150)
    clip = make_clip(cfg, "train", 3)
    ann = clip.annotation
    assert clip.frames.shape == (num_frames, 150, 200, 3)
    assert clip.audio.shape == (num_frames * cfg.sample_rate,)
    assert len(ann["frames"]) == num_frames and clip.expressions
    assert len(perception_text(ann).splitlines()) == num_frames


def test_vocabulary_covers_generated_text(annotations):
    vocab = set(vocabulary())
    for ann in annotations.values():
        for e in ann["expressions"]:
            assert set(e["exp"].split()) <= vocab and set(e["literal"].split()) <= vocab
        assert set(perception_text(ann).split()) <= vocab


def test_overwrite_and_config_errors(tmp_path):
    cfg = OmniSynthConfig.smoke(clips={"val": 1})
    generate(tmp_path, cfg)
    with pytest.raises(FileExistsError):
        generate(tmp_path, cfg)
    assert generate(tmp_path, cfg, overwrite=True)["clips"] == {"val": 1}
    with pytest.raises(ValueError):
        OmniSynthConfig(clips={"test": 1})
    with pytest.raises(ValueError):
        load_omnisynth(tmp_path, "bogus")


def test_main_smoke(tmp_path, capsys):
    assert main([str(tmp_path), "--preset", "smoke", "--train", "2", "--null", "1", "--no-revos", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    assert summary["clips"]["train"] == 2 and summary["clips"]["seen"] == 4  # the smoke preset's 4 eval clips
    assert out[0].startswith("OmniSynth (seed 0, 8 frames at 0.5 s")  # what the notebooks read, not 10 at 1 s
    assert not (tmp_path / "revos").exists()
    assert len(load_omnisynth(tmp_path, "train")) == summary["rows"]["train"]


def test_import_does_not_pull_torch():
    code = ("import sys, omni_r1_lite, omni_r1_lite.data.omnisynth, omni_r1_lite.data.perception;"
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def test_deleted_frames_and_corrupt_media_are_caught_for_omnisynth(tmp_path):
    """A deleted frame is a clear error against the annotation's num_frames (the rest loads), and
    `validate=True` decodes OmniSynth's media as it does RefAVS's (6 corrupted clips used to load)."""
    from omni_r1_lite.data.media import MissingMediaError
    from omni_r1_lite.data.schema import DataError

    root = tmp_path / "synth"
    generate(root, OmniSynthConfig(seed=3, num_frames=8, clips={"seen": 3, "unseen": 2}))
    full = load_omnisynth(root, ["seen", "unseen"])
    first, second = sorted({s.meta["folder"] for s in full})[:2]
    frame = root / "refavs" / "media" / first / "frames" / "5.jpg"
    frame.unlink()
    with pytest.raises(MissingMediaError, match=r"frames/5\.jpg") as err:
        load_omnisynth(root, ["seen", "unseen"])
    assert "7 of the 8 frames its annotation declares" in str(err.value)
    lenient = load_omnisynth(root, ["seen", "unseen"], strict=False)
    assert lenient.num_skipped == sum(s.meta["folder"] == first for s in full)
    assert len(lenient) == len(full) - lenient.num_skipped and all("5.jpg" in r for _, r in lenient.skipped)
    # a corrupt JPEG: listing does not decode, validation does (also through load_samples)
    (root / "refavs" / "media" / second / "frames" / "2.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    assert len(load_omnisynth(root, ["seen", "unseen"], strict=False)) == len(lenient)
    checked = load_omnisynth(root, ["seen", "unseen"], strict=False, validate=True)
    assert len(checked) == len(lenient) - sum(s.meta["folder"] == second for s in full)
    assert any("2.jpg" in r for _, r in checked.skipped)
    with pytest.raises(DataError, match="2.jpg"):
        load_omnisynth(root, ["seen", "unseen"], validate=True)
