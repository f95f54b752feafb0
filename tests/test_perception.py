"""The perception track: what it says, and that it never says the answer."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from omni_r1_lite.data.omnisynth import COLOURS, SHAPES, SPLITS, OmniSynthConfig, generate, make_clip
from omni_r1_lite.data.perception import (
    AREA_LEVELS,
    MIN_VISIBLE_PX,
    POSITIONS,
    FramePerception,
    perceive,
    perception_text,
)

SOUND_WORDS = {"low", "mid", "high", "beep", "buzz", "chirp", "click"}


@pytest.fixture(scope="module")
def clips():
    cfg = OmniSynthConfig(seed=3)
    return [make_clip(cfg, split, i) for split in SPLITS for i in range(6)]


def test_never_the_answer(clips):
    for clip in clips:
        ann = clip.annotation
        text = perception_text(ann)
        lower = text.lower()
        assert "the " not in lower and "target" not in lower and "object" not in lower
        for e in ann["expressions"]:
            assert e["exp"] not in text and e["literal"] not in text
            assert e["uid"] not in text
        # numbers only in frame tags and area levels: no object ids, no fids
        stripped = re.sub(r"\bf\d+:", "", text)
        stripped = re.sub(r"\ba\d\b", "", stripped)
        assert not re.search(r"\d", stripped)
        for line in text.splitlines():
            if " ; " in line:  # sounds say pitch and timbre only, never who makes them
                heard = line.split(" ; ", 1)[1].split()
                assert set(heard) <= SOUND_WORDS
        for fp in perceive(ann):
            for o in fp.objects:
                assert not hasattr(o, "id")


def test_structured_matches_text_and_annotation(clips):
    for clip in clips:
        ann = clip.annotation
        fps = perceive(ann)
        assert [fp.text() for fp in fps] == perception_text(ann).splitlines()
        for fp, rec in zip(fps, ann["frames"]):
            assert isinstance(fp, FramePerception) and fp.frame == rec["t"]
            visible = [r for r in rec["objects"] if r["visible_area"] >= MIN_VISIBLE_PX]
            assert len(fp.objects) == len(visible)
            assert sorted((o.colour, o.shape) for o in fp.objects) == sorted(
                (ann["objects"][r["id"]]["colour"], ann["objects"][r["id"]]["shape"]) for r in visible)
            for o in fp.objects:
                assert o.colour in COLOURS and o.shape in SHAPES and o.position in POSITIONS
                assert 1 <= o.area <= 9 and f"a{o.area}" in AREA_LEVELS
            assert [(s.pitch, s.timbre) for s in fp.sounds] == [
                (s["pitch"], s["timbre"]) for s in ann["sounds"] if s["frame"] == fp.frame]


def test_area_level_tracks_visible_area(clips):
    for clip in clips[:10]:
        ann = clip.annotation
        for o in ann["objects"]:
            pairs = []
            for fp, rec in zip(perceive(ann), ann["frames"]):
                r = rec["objects"][o["id"]]
                hit = [p for p in fp.objects if (p.colour, p.shape) == (o["colour"], o["shape"])]
                if hit:
                    pairs.append((r["visible_area"], hit[0].area))
            pairs.sort()
            assert all(a1 <= a2 for (_, a1), (_, a2) in zip(pairs, pairs[1:]))


def test_frame_subset_keeps_every_sound(clips):
    clip = next(c for c in clips if len(c.annotation["sounds"]) >= 2)
    ann = clip.annotation
    frames = [0, 4, 9]
    fps = perceive(ann, frames)
    assert [fp.frame for fp in fps] == frames
    assert sum(len(fp.sounds) for fp in fps) == len(ann["sounds"])
    for fp in fps:
        for s in fp.sounds:
            own = next(x["frame"] for x in ann["sounds"] if x["start"] == s.start)
            assert min(frames, key=lambda f: (abs(f - own), f)) == fp.frame
    assert perception_text(ann, frames).splitlines()[1].startswith("f4:")


def test_labels_replace_frame_numbers_and_must_match(clips):
    ann = clips[0].annotation
    frames = [0, 4, 9]
    labels = ["00:00.00", "00:00.50", "00:01.00"]
    dated = perception_text(ann, frames, labels=labels).splitlines()
    plain = perception_text(ann, frames).splitlines()
    assert [line.split(": ", 1)[0] for line in dated] == labels
    assert [line.split(": ", 1)[1] for line in dated] == [line.split(": ", 1)[1] for line in plain]
    with pytest.raises(ValueError, match="2 labels for 3 frames"):
        perception_text(ann, frames, labels=labels[:2])


def test_compact(clips):
    words = [len(line.split()) for c in clips for line in perception_text(c.annotation).splitlines()]
    assert np.mean(words) <= 22


def test_timing_and_paths(clips, tmp_path):
    clip = next(c for c in clips if c.annotation["sounds"])
    s = clip.annotation["sounds"][0]
    assert f"{s['pitch']} {s['timbre']}@{s['start']:.1f}" in perception_text(clip.annotation, timing=True)
    path = tmp_path / "a.json"
    path.write_text(json.dumps(clip.annotation))
    assert perception_text(path) == perception_text(clip.annotation)


def test_on_written_dataset(tmp_path):
    from omni_r1_lite.data.omnisynth import load_omnisynth

    generate(tmp_path, OmniSynthConfig.smoke(clips={"train": 2}))
    for s in load_omnisynth(tmp_path, "train"):
        text = perception_text(s.meta["annotation"])
        assert len(text.splitlines()) == s.num_frames and s.expression not in text


def test_flags():
    ann = {
        "num_frames": 1, "width": 90, "height": 90, "seconds_per_frame": 1.0, "sounds": [],
        "objects": [{"id": 0, "colour": "red", "shape": "star", "size": "small", "ref_area": 100},
                    {"id": 1, "colour": "blue", "shape": "star", "size": "small", "ref_area": 100}],
        "frames": [{"t": 0, "time": 0.0, "objects": [
            {"id": 0, "visible_area": 40, "onscreen_area": 90, "full_area": 90,
             "visible_box": [60, 60, 70, 70]},
            {"id": 1, "visible_area": 5, "onscreen_area": 5, "full_area": 90, "visible_box": [0, 0, 1, 1]},
        ]}],
    }
    assert perception_text(ann) == "f0: red star small bottom-right a4 hidden"


# ----------------------------------------------------------------------------- the object-track layout


def test_object_layout_holds_the_same_facts(clips):
    """Every (object, frame) perception of the per-frame layout appears once in its object's track,
    in frame order; tracks start in order of first appearance; every sound is on the heard line."""
    from omni_r1_lite.data.perception import object_tracks

    for clip in clips:
        ann = clip.annotation
        frames = perceive(ann)
        tracks = object_tracks(ann)
        per_frame = sorted((t, o.text()) for t, fp in enumerate(frames) for o in fp.objects)
        per_track = sorted((i, f"{tr.colour} {tr.shape} {tr.size} " + " ".join(
            [o.position, f"a{o.area}", *o.flags])) for tr in tracks for i, o in tr.entries)
        ids = {o["id"]: (o["colour"], o["shape"]) for o in ann["objects"]}
        assert all(ids[tr.object_id] == (tr.colour, tr.shape) for tr in tracks)
        assert per_track == per_frame
        for tr in tracks:
            assert [i for i, _ in tr.entries] == sorted({i for i, _ in tr.entries})
        firsts = [tr.entries[0][0] for tr in tracks]
        assert firsts == sorted(firsts)
        assert len({(tr.colour, tr.shape) for tr in tracks}) == len(tracks)  # one line per object
        text = perception_text(ann, layout="objects")
        lines = text.splitlines()
        heard = [ln for ln in lines if ln.startswith("heard: ")]
        n_sounds = sum(len(fp.sounds) for fp in frames)
        assert len(heard) == (1 if n_sounds else 0) and len(lines) == len(tracks) + len(heard)
        if heard:
            entries = heard[0][len("heard: "):].split(" | ")
            assert len(entries) == n_sounds
            assert all(set(e.split()[:2]) <= SOUND_WORDS and re.fullmatch(r"f\d+", e.split()[2]) for e in entries)


def test_object_layout_never_the_answer_and_label_last(clips):
    for clip in clips:
        ann = clip.annotation
        labels = [f"00:0{t // 2}.{'50' if t % 2 else '00'}" for t in range(ann["num_frames"])]
        text = perception_text(ann, labels=labels, layout="objects")
        lower = text.lower()
        assert "the " not in lower and "target" not in lower and "object" not in lower
        for e in ann["expressions"]:
            assert e["exp"] not in text and e["literal"] not in text and e["uid"] not in text
        for line in text.splitlines():
            for entry in line.split(": ", 1)[1].split(" | "):
                assert entry.split()[-1] in labels  # the frame's label ends each entry
    with pytest.raises(ValueError, match="layout"):
        perception_text(clips[0].annotation, layout="tracks")


def test_object_layout_example():
    ann = {
        "num_frames": 2, "width": 90, "height": 90, "seconds_per_frame": 1.0,
        "objects": [{"id": 0, "colour": "red", "shape": "star", "size": "small", "ref_area": 100},
                    {"id": 1, "colour": "blue", "shape": "circle", "size": "large", "ref_area": 100}],
        "frames": [{"t": 0, "time": 0.0, "objects": [
            {"id": 0, "visible_area": 0, "onscreen_area": 0, "full_area": 90, "visible_box": None},
            {"id": 1, "visible_area": 90, "onscreen_area": 90, "full_area": 90, "visible_box": [0, 0, 9, 9]}]},
            {"t": 1, "time": 1.0, "objects": [
                {"id": 0, "visible_area": 40, "onscreen_area": 90, "full_area": 90, "visible_box": [60, 60, 70, 70]},
                {"id": 1, "visible_area": 90, "onscreen_area": 90, "full_area": 90, "visible_box": [40, 40, 49, 49]}]}],
        "sounds": [{"object": 0, "pitch": "high", "timbre": "click", "start": 1.2, "end": 1.5, "frame": 1}],
    }
    assert perception_text(ann, layout="objects", labels=["00:00.00", "00:00.50"]) == (
        "- blue circle large: top-left a9 00:00.00 | center a9 00:00.50\n"
        "- red star small: bottom-right a4 hidden 00:00.50\n"
        "heard: high click 00:00.50")
