"""The perception track: per frame, what a pretrained omni model would perceive in an OmniSynth clip.

A randomly initialised tiny thinker cannot learn, in CPU-minutes, to bind a frame index to when
something appears in the video (see ``reference/cpu-learning-calibration.md``). In the CPU presets
System 1 therefore also reads this track: per frame, the visible objects with their attributes,
position and size, and the sounds playing in the frame's time window. It is **perception, never
the answer**: it carries no expression, no object id, no link from a sound to the object making
it, and no literal description (it never writes "the ..."). Resolving the expression, choosing
keyframes and rewriting are left to the policy.

Text format, one line per frame (≈10–20 words)::

    f3: red circle large center a7 | blue square small left a2 hidden ; high beep

* ``f<t>``: frame index in the clip, or the caller's label (System 1 uses the frame's timestamp on
  its virtual timeline, ``00:01.50``); ``none`` when no object is visible;
* per visible object (left to right): colour, shape, size class (``small``/``medium``/``large``),
  3x3 grid cell of its visible part (``top-left`` … ``bottom-right``, ``center``), ``a1``–``a9``
  visible area relative to the largest silhouette of its size class (ceil of 9x the ratio), and
  the flags ``hidden`` (≥ 30 % of it covered by objects in front) and ``edge`` (≥ 30 % off screen);
* after ``;``: the sounds in the frame's audio window, ``<pitch> <timbre>`` in onset order
  (``timing=True`` appends ``@<start s>``).

An object is perceived when at least 8 of its pixels are visible.

**Two layouts of the same facts.** ``layout="frames"`` (above) writes one line per frame.
``layout="objects"`` writes one line per object, its *track* through the frames, then one line
of what is heard (``perception_text(..., layout="objects")``)::

    - red square small: top a6 00:00.00 | top-left a6 00:00.50 | left a6 hidden 00:01.00
    - green circle large: center a9 00:00.00 | bottom a8 00:00.50
    heard: high buzz 00:00.00 | low beep 00:00.50

Each entry is ``<cell> a<k> [flags] <frame label>``: the label comes *last*, so the token a
policy copies into its answer (the timestamp) follows everything known about the object there.
A track line starts with ``- `` so that its colour is the same token as in an answer (the tiny
tokenizer's words after a space differ from words at the start of a line).
Tracks are ordered by first appearance (then left to right). It is the same perception (an
object is identified by what it looks like, colour + shape, unique within a clip), laid out the
way a tiny model can use: the tiny thinker trained on the per-frame layout learned to name the
right object but chose the same keyframes for every clip; with tracks, answering is copying
timestamps from one line (measured in ``benchmarks/learning.py``; see the README).

>>> ann = {"num_frames": 1, "width": 90, "height": 90, "seconds_per_frame": 1.0,
...        "objects": [{"id": 0, "colour": "red", "shape": "circle", "size": "large", "ref_area": 100}],
...        "frames": [{"t": 0, "time": 0.0, "objects": [{"id": 0, "visible_area": 64, "onscreen_area": 64,
...                    "full_area": 100, "visible_box": [0, 0, 9, 9]}]}],
...        "sounds": [{"object": 0, "pitch": "low", "timbre": "beep", "start": 0.2, "end": 0.6, "frame": 0}]}
>>> print(perception_text(ann))
f0: red circle large top-left a6 edge ; low beep
>>> perceive(ann)[0].sounds[0]
PerceivedSound(pitch='low', timbre='beep', start=0.2, end=0.6)
>>> print(perception_text(ann, layout="objects", labels=["00:00.00"]))
- red circle large: top-left a6 edge 00:00.00
heard: low beep 00:00.00
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: 3x3 grid cells, row-major from the top-left
POSITIONS = (
    "top-left", "top", "top-right", "left", "center", "right", "bottom-left", "bottom", "bottom-right",
)
FLAGS = ("hidden", "edge")
LAYOUTS = ("frames", "objects", "sightings")
AREA_LEVELS = tuple(f"a{k}" for k in range(10))
MIN_VISIBLE_PX = 8
_FLAG_FRACTION = 0.3


@dataclasses.dataclass(frozen=True)
class PerceivedObject:
    """A visible object: attributes, grid cell, area level 1–9, flags; no identity."""

    colour: str
    shape: str
    size: str
    position: str
    area: int
    flags: tuple[str, ...] = ()

    def text(self) -> str:
        return " ".join([self.colour, self.shape, self.size, self.position, f"a{self.area}", *self.flags])


@dataclasses.dataclass(frozen=True)
class PerceivedSound:
    """A sound heard in a frame's window; ``start``/``end`` in seconds from the clip start."""

    pitch: str
    timbre: str
    start: float
    end: float

    def text(self, timing: bool = False) -> str:
        return f"{self.pitch} {self.timbre}" + (f"@{self.start:.1f}" if timing else "")


@dataclasses.dataclass(frozen=True)
class FramePerception:
    """What is perceived in frame ``frame`` (time ``time`` s)."""

    frame: int
    time: float
    objects: tuple[PerceivedObject, ...]
    sounds: tuple[PerceivedSound, ...]

    def text(self, timing: bool = False, label: str | None = None) -> str:
        """The frame's line; ``label`` replaces the default ``f<frame>`` (e.g. a timestamp)."""
        seen = " | ".join(o.text() for o in self.objects) or "none"
        heard = " ".join(s.text(timing) for s in self.sounds)
        return f"{label or f'f{self.frame}'}: {seen}" + (f" ; {heard}" if heard else "")


def _load(annotation: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    if isinstance(annotation, (str, Path)):
        return json.loads(Path(annotation).read_text())
    return annotation


def _cell(box: Sequence[int], width: int, height: int) -> str:
    cx, cy = (box[0] + box[2] + 1) / 2, (box[1] + box[3] + 1) / 2
    col = min(int(3 * cx / width), 2)
    row = min(int(3 * cy / height), 2)
    return POSITIONS[3 * row + col]


def perceive(
    annotation: Mapping[str, Any] | str | Path, frames: Sequence[int] | None = None
) -> list[FramePerception]:
    """Structured perception of ``frames`` (default: all) of an OmniSynth annotation (dict or json path).

    When ``frames`` is a subset, each sound is reported at the chosen frame nearest to its own
    frame (earlier on ties), so nothing heard is dropped.
    """
    ann = _load(annotation)
    objects = {o["id"]: o for o in ann["objects"]}
    chosen = list(range(ann["num_frames"])) if frames is None else [int(f) for f in frames]
    heard: dict[int, list[PerceivedSound]] = {t: [] for t in chosen}
    for s in sorted(ann.get("sounds", ()), key=lambda s: s["start"]):
        if chosen:
            t = min(chosen, key=lambda c: (abs(c - s["frame"]), c))
            heard[t].append(PerceivedSound(s["pitch"], s["timbre"], s["start"], s["end"]))
    out = []
    for t in chosen:
        seen = _seen(ann, objects, t)
        out.append(FramePerception(t, float(ann["frames"][t]["time"]), tuple(p for _, _, p in seen),
                                   tuple(heard[t])))
    return out


def _seen(ann: Mapping[str, Any], objects: Mapping[int, Any], t: int) -> list[tuple[tuple, int, PerceivedObject]]:
    """The objects perceived in frame ``t``, left to right: ``(sort key, object id, perception)``."""
    seen = []
    for r in ann["frames"][t]["objects"]:
        if r["visible_area"] < MIN_VISIBLE_PX or r["visible_box"] is None:
            continue
        o = objects[r["id"]]
        area = min(9, max(1, math.ceil(9 * r["visible_area"] / o["ref_area"])))
        flags = []
        if r["onscreen_area"] - r["visible_area"] >= _FLAG_FRACTION * r["full_area"]:
            flags.append("hidden")
        if r["full_area"] - r["onscreen_area"] >= _FLAG_FRACTION * r["full_area"]:
            flags.append("edge")
        box = r["visible_box"]
        cell = _cell(box, ann["width"], ann["height"])
        seen.append(((box[0] + box[2], box[1] + box[3]), r["id"],
                     PerceivedObject(o["colour"], o["shape"], o["size"], cell, area, tuple(flags))))
    seen.sort(key=lambda p: p[0])
    return seen


@dataclasses.dataclass(frozen=True)
class ObjectTrack:
    """One object through the chosen frames: what it looks like, and where/how visible per frame.

    ``entries`` are ``(index into the chosen frames, perception)`` for the frames where it is seen.
    """

    colour: str
    shape: str
    size: str
    entries: tuple[tuple[int, PerceivedObject], ...]
    object_id: int = dataclasses.field(default=-1, compare=False)
    """The annotation's object id (never written in the text)."""

    def text(self, labels: Sequence[str], one_line: bool = True) -> str:
        """The track on one line, or (``one_line=False``) one line per sighting, each naming the object."""
        head = f"- {self.colour} {self.shape} {self.size}: "
        parts = [" ".join([o.position, f"a{o.area}", *o.flags, labels[i]]) for i, o in self.entries]
        return head + " | ".join(parts) if one_line else "\n".join(head + p for p in parts)


def object_tracks(annotation: Mapping[str, Any] | str | Path,
                  frames: Sequence[int] | None = None) -> list[ObjectTrack]:
    """Per-object tracks over ``frames`` (default: all), ordered by first appearance, then left to right.

    Objects never perceived in those frames have no track. Frame perceptions are `perceive`'s.
    """
    ann = _load(annotation)
    objects = {o["id"]: o for o in ann["objects"]}
    chosen = list(range(ann["num_frames"])) if frames is None else [int(f) for f in frames]
    tracks: dict[int, list[tuple[int, PerceivedObject]]] = {}
    order: dict[int, tuple] = {}
    for i, t in enumerate(chosen):
        for key, oid, p in _seen(ann, objects, t):
            if oid not in tracks:
                tracks[oid], order[oid] = [], (i, key)
            tracks[oid].append((i, p))
    out = []
    for oid in sorted(tracks, key=lambda k: order[k]):
        o = objects[oid]
        out.append(ObjectTrack(o["colour"], o["shape"], o["size"], tuple(tracks[oid]), object_id=oid))
    return out


def perception_text(
    annotation: Mapping[str, Any] | str | Path, frames: Sequence[int] | None = None, *, timing: bool = False,
    labels: Sequence[str] | None = None, layout: str = "frames",
) -> str:
    """The perception track as text (formats in the module docstring).

    ``layout="frames"``: one line per frame; ``"objects"``: one line per object track, then one
    ``heard:`` line (absent when nothing sounds). ``labels`` (one per frame) replace the ``f<t>``
    frame labels. System 1 passes the timestamps of its virtual timeline
    (`omni_r1_lite.systems.prompts.index_to_timestamp`), so each frame is dated the way the answer
    names moments, as a pretrained omni model knows *when* it sees something (Qwen2.5-Omni's
    time-aligned positions).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    ann = _load(annotation)  # read once: `perceive` and `object_tracks` both take the mapping
    lines = perceive(ann, frames)
    if labels is not None and len(labels) != len(lines):
        raise ValueError(f"{len(labels)} labels for {len(lines)} frames")
    if layout == "frames":
        return "\n".join(fp.text(timing, None if labels is None else labels[i]) for i, fp in enumerate(lines))
    names = list(labels) if labels is not None else [f"f{fp.frame}" for fp in lines]
    out = [track.text(names, one_line=layout == "objects")
           for track in object_tracks(ann, [fp.frame for fp in lines])]
    heard = [f"{s.text(timing)} {names[i]}" for i, fp in enumerate(lines) for s in fp.sounds]
    if heard:
        out.append("heard: " + " | ".join(heard))
    return "\n".join(out)


def perception_words() -> list[str]:
    """Every word perception text can contain (besides colours, shapes, sizes, pitches, timbres)."""
    return [*POSITIONS, *FLAGS, *AREA_LEVELS, "none", "heard", "|", ";"]
