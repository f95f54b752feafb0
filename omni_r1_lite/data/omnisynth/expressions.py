"""Referring expressions of the benchmarks' kinds, each with its targets and literal rewrite.

Every expression has a ground-truth target set and a **literal description**: the single-image
rewrite a perfect System 1 would produce ("the red circle"; for several targets "the red circle
and the blue circle"; for null expressions the absent thing, so a literal grounder finds nothing).
Within a clip each (colour, shape) pair is unique, so a literal description identifies its target
in any frame where it is visible.

Kinds (`TEMPLATES` keys), by benchmark type:

* ``referring`` (OmniSynth's "literal", ReVOS type 0): ``literal``; multi: ``all-shape``,
  ``all-colour``.
* ``reasoning`` (ReVOS type 1): ``enter-last``, ``enter-only``, ``exit-first``, ``exit-only``,
  ``always``, ``direction``, ``hidden-start``, ``hidden-end``, ``largest``, ``smallest``;
  multi: ``direction-multi``.
* ``audio-visual`` (ReVOS type 1): ``sound`` (pitch + timbre), ``sound-first``, ``sound-last``,
  ``sounding-shape``, ``silent-shape``, ``sounding-only``; multi: ``sounding-multi``.
* ``null`` (null split only): ``absent`` (a colour+shape not in the clip), ``absent-sound`` (a
  sound whose shape is not in the clip).

A candidate is kept only if its answer is unique and decidable from what the clip shows and
plays: timing comparisons need a one-frame margin; a sound is only attributed when no silent
object of the same shape and size could have made it (an object sounds only while on screen).
Reasoning and audio-visual expressions never contain both the target's colour and shape words.

>>> fill("sound", pitch="high", timbre="beep", variant=0)
'the object making the high beep'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from omni_r1_lite.data.omnisynth.config import (
    COLOURS,
    IN_VIEW_PX,
    PITCH_OF_SIZE,
    SHAPES,
    SIZES,
    TIMBRE_OF_SHAPE,
    UNSEEN_COMBOS,
)
from omni_r1_lite.data.omnisynth.scene import Geometry, Scene

#: kind -> (expression type, phrasings). Placeholders: colour, shape, shapes (plural), size,
#: pitch, timbre, direction, o_colour / o_shape (the occluder).
TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "literal": ("referring", ("the {colour} {shape}",)),
    "all-shape": ("referring", ("all the {shapes}",)),
    "all-colour": ("referring", ("all the {colour} shapes",)),
    "enter-last": ("reasoning", ("the shape that enters last", "the last shape to come into view")),
    "enter-only": ("reasoning", ("the shape that enters the scene", "the shape that comes into view")),
    "exit-first": ("reasoning", ("the shape that leaves first", "the first shape to leave the screen")),
    "exit-only": ("reasoning", ("the shape that leaves the screen", "the shape that goes out of view")),
    "always": ("reasoning", ("the shape that never leaves the screen",
                             "the shape that stays in view the whole time")),
    "direction": ("reasoning", ("the shape moving {direction}", "the one moving {direction}")),
    "direction-multi": ("reasoning", ("the shapes moving {direction}",)),
    "hidden-start": ("reasoning", ("the shape hidden behind the {o_colour} {o_shape} at the start",)),
    "hidden-end": ("reasoning", ("the shape hidden behind the {o_colour} {o_shape} at the end",)),
    "largest": ("reasoning", ("the largest shape", "the biggest shape")),
    "smallest": ("reasoning", ("the smallest shape",)),
    "sound": ("audio-visual", ("the object making the {pitch} {timbre}",
                               "the shape that makes the {pitch} {timbre}")),
    "sound-first": ("audio-visual", ("the object that sounds first", "the first object to make a sound")),
    "sound-last": ("audio-visual", ("the object that sounds last", "the last object to make a sound")),
    "sounding-shape": ("audio-visual", ("the {shape} that makes a sound",)),
    "silent-shape": ("audio-visual", ("the silent {shape}", "the {shape} making no sound")),
    "sounding-only": ("audio-visual", ("the sounding object", "the only object making a sound")),
    "sounding-multi": ("audio-visual", ("the objects making a sound",)),
    "absent": ("null", ("the {colour} {shape}",)),
    "absent-sound": ("null", ("the object making the {pitch} {timbre}",)),
}
MULTI_KINDS = ("all-shape", "all-colour", "direction-multi", "sounding-multi")
DIRECTIONS = ("left", "right", "up", "down")


def fill(kind: str, variant: int = 0, **words: str) -> str:
    """The ``variant``-th phrasing of ``kind`` with its placeholders filled."""
    phrasings = TEMPLATES[kind][1]
    if "shape" in words:
        words.setdefault("shapes", words["shape"] + "s")
    return phrasings[variant % len(phrasings)].format(**words)


@dataclasses.dataclass(frozen=True)
class Expression:
    """One expression: ``targets`` are object ids (empty for null); ``words`` fill its template."""

    kind: str
    text: str
    literal: str
    targets: tuple[int, ...]
    words: dict[str, str] = dataclasses.field(default_factory=dict, compare=False, repr=False)

    @property
    def type(self) -> str:
        return TEMPLATES[self.kind][0]

    @property
    def multi(self) -> bool:
        return len(self.targets) > 1


@dataclasses.dataclass
class _Facts:
    """Per-object facts the expression rules are decided on."""

    in_view: np.ndarray  # bool[O, T]
    vis: np.ndarray  # float[O, T]
    eligible: np.ndarray  # bool[O]
    lever: np.ndarray  # bool[O]: hidden/tiny/off screen in >= 30 % of frames, well visible once
    event_frames: list[list[int]]


def _facts(scene: Scene, geo: Geometry) -> _Facts:
    n = len(scene.objects)
    vis = geo.visibility
    in_view = geo.onscreen_area >= IN_VIEW_PX
    eligible = (vis.max(axis=1) >= 0.8) & (geo.visible_area.max(axis=1) >= 40)
    lever = eligible & ((vis < 0.3).mean(axis=1) >= 0.3)
    ev: list[list[int]] = [[] for _ in range(n)]
    for e in scene.events:
        ev[e.object].append(e.frame)
    return _Facts(in_view, vis, eligible, lever, [sorted(set(f)) for f in ev])


def _unique_extreme(values: dict[int, int], largest: bool) -> int | None:
    """Key of the unique max (min) value, at least one frame ahead of the runner-up."""
    if len(values) < 2:
        return None
    order = sorted(values, key=lambda k: values[k], reverse=largest)
    best, second = values[order[0]], values[order[1]]
    if (best > second) if largest else (best < second):
        return order[0]
    return None


def _direction(o, w, h, strong: bool) -> set[str]:
    dx, dy = o.p1[0] - o.p0[0], o.p1[1] - o.p0[1]
    f, ratio = (0.3, 2.0) if strong else (0.12, 1.0)
    out = set()
    if abs(dx) >= f * w and abs(dx) >= ratio * abs(dy):
        out.add("left" if dx < 0 else "right")
    if abs(dy) >= f * h and abs(dy) >= ratio * abs(dx):
        out.add("up" if dy < 0 else "down")
    return out


def _distinguishable(scene, facts, target: int, other: int) -> bool:
    """Can the audio tell that ``target`` (sounding) and not ``other`` made the sound?"""
    a, b = scene.objects[target], scene.objects[other]
    if (a.size, a.shape) != (b.size, b.shape):
        return True  # different pitch or timbre
    return any(not facts.in_view[other, t] for t in facts.event_frames[target])


def candidates(scene: Scene, geo: Geometry) -> list[Expression]:
    """Every valid non-null expression of the clip, in its first phrasing (`choose` re-phrases)."""
    objs, facts = scene.objects, _facts(scene, geo)
    w, h, t_last = scene.config.width, scene.config.height, scene.config.num_frames - 1
    out: list[tuple[str, dict, tuple[int, ...]]] = []
    for o in objs:
        out.append(("literal", {"colour": o.colour, "shape": o.shape}, (o.id,)))
    for shape in SHAPES:
        ids = tuple(o.id for o in objs if o.shape == shape)
        if len(ids) >= 2:
            out.append(("all-shape", {"shape": shape}, ids))
    for colour in COLOURS:
        ids = tuple(o.id for o in objs if o.colour == colour)
        if len(ids) >= 2:
            out.append(("all-colour", {"colour": colour}, ids))
    # temporal reasoning on entries and exits
    seen_ids = [o.id for o in objs if facts.in_view[o.id].any()]
    first_on = {k: int(np.argmax(facts.in_view[k])) for k in seen_ids}
    last_on = {k: int(t_last - np.argmax(facts.in_view[k][::-1])) for k in seen_ids}
    enterers = [k for k in seen_ids if first_on[k] > 0]
    exiters = [k for k in seen_ids if last_on[k] < t_last]
    k = _unique_extreme(first_on, largest=True)
    if k is not None and first_on[k] > 0:
        out.append(("enter-last", {}, (k,)))
    if len(enterers) == 1:
        out.append(("enter-only", {}, (enterers[0],)))
    k = _unique_extreme({j: last_on[j] for j in exiters}, largest=False)
    if k is not None:
        out.append(("exit-first", {}, (k,)))
    if len(exiters) == 1:
        out.append(("exit-only", {}, (exiters[0],)))
    always = [o.id for o in objs if facts.in_view[o.id].all()]
    if len(always) == 1:
        out.append(("always", {}, (always[0],)))
    for d in DIRECTIONS:
        strong = [o.id for o in objs if d in _direction(o, w, h, True)]
        weak = [o.id for o in objs if d in _direction(o, w, h, False)]
        if len(strong) == 1 and weak == strong:
            out.append(("direction", {"direction": d}, (strong[0],)))
        if len(strong) >= 2 and weak == strong:
            out.append(("direction-multi", {"direction": d}, tuple(strong)))
    for kind, t in (("hidden-start", 0), ("hidden-end", t_last)):
        hidden = []
        for o in objs:
            full = geo.full_area[o.id, t]
            if not (0.05 <= facts.vis[o.id, t] <= 0.6 and geo.onscreen_area[o.id, t] >= 0.9 * full):
                continue
            front = [p for p in objs if p.depth < o.depth]
            overlap = {p.id: int((geo.onscreen[o.id, t] & geo.onscreen[p.id, t]).sum()) for p in front}
            if overlap and max(overlap.values()) >= 0.3 * full:
                hidden.append((o.id, max(overlap, key=lambda j: overlap[j])))
        for tid, occ in hidden:
            if sum(1 for _, oc in hidden if oc == occ) == 1:
                p = objs[occ]
                out.append((kind, {"o_colour": p.colour, "o_shape": p.shape}, (tid,)))
    rank = {o.id: SIZES.index(o.size) for o in objs}
    for kind, largest in (("largest", True), ("smallest", False)):
        k = _unique_extreme(rank, largest)
        if k is not None:
            out.append((kind, {}, (k,)))
    # audio-visual: a sound is attributed to object k only if no other sounding object has k's
    # pitch and timbre and every silent look-alike is off screen during one of k's sounds
    sounding = [o.id for o in objs if facts.event_frames[o.id]]

    def identifiable(k: int) -> bool:
        sig = (objs[k].pitch, objs[k].timbre)
        return all(j == k or (objs[j].pitch, objs[j].timbre) != sig
                   or (j not in sounding and _distinguishable(scene, facts, k, j)) for j in range(len(objs)))

    for k in sounding:
        if identifiable(k):
            out.append(("sound", {"pitch": objs[k].pitch, "timbre": objs[k].timbre}, (k,)))
    if len(sounding) >= 2 and all(identifiable(k) for k in sounding):
        k = _unique_extreme({j: facts.event_frames[j][0] for j in sounding}, largest=False)
        if k is not None:
            out.append(("sound-first", {}, (k,)))
        k = _unique_extreme({j: facts.event_frames[j][-1] for j in sounding}, largest=True)
        if k is not None:
            out.append(("sound-last", {}, (k,)))
        out.append(("sounding-multi", {}, tuple(sounding)))
    if len(sounding) == 1 and identifiable(sounding[0]):
        out.append(("sounding-only", {}, (sounding[0],)))
    for shape in SHAPES:
        ids = [o.id for o in objs if o.shape == shape]
        loud = [j for j in ids if j in sounding]
        if len(ids) >= 2 and len(loud) == 1 and identifiable(loud[0]):
            out.append(("sounding-shape", {"shape": shape}, (loud[0],)))
            if len(ids) == 2:
                out.append(("silent-shape", {"shape": shape}, tuple(j for j in ids if j != loud[0])))
    exprs = []
    for kind, words, targets in out:
        targets = tuple(sorted(targets))
        if not all(facts.eligible[j] for j in targets):
            continue
        held_out = all((objs[j].colour, objs[j].shape) in UNSEEN_COMBOS for j in targets)
        if scene.split == "unseen" and not held_out:
            continue
        literal = " and ".join(objs[j].literal for j in targets)
        exprs.append(Expression(kind, fill(kind, 0, **words), literal, targets, words))
    return exprs


def _rephrase(e: Expression, variant: int) -> Expression:
    return dataclasses.replace(e, text=fill(e.kind, variant, **e.words))


def needs_both_words(objects, k: int) -> bool:
    """Does object ``k``'s literal description need both words (another object shares its
    colour, another its shape)?"""
    o = objects[k]
    return any(p.colour == o.colour for p in objects if p.id != k) and any(
        p.shape == o.shape for p in objects if p.id != k)


def choose(scene: Scene, geo: Geometry, multi_prob: float) -> list[Expression]:
    """Pick one referring, one reasoning and one audio-visual expression (when valid), plus a
    multi-object one with probability ``multi_prob``. Kinds are drawn uniformly among the valid
    ones, then targets favouring those hidden or off screen in many frames (the keyframe lever)
    and, for literal expressions, those whose colour and shape are both shared by distractors."""
    rng, facts = scene.rng, _facts(scene, geo)
    cands = candidates(scene, geo)
    picked: list[Expression] = []
    groups: list[Sequence[Expression]] = []
    for typ in ("referring", "reasoning", "audio-visual"):
        groups.append([c for c in cands if c.type == typ and not c.multi])
    if rng.random() < multi_prob:
        groups.append([c for c in cands if c.multi])
    for group in groups:
        if not group:
            continue
        kinds = sorted({c.kind for c in group})
        kind = kinds[int(rng.integers(len(kinds)))]
        pool = [c for c in group if c.kind == kind]
        lever = [float(facts.lever[list(c.targets)].all()) for c in pool]
        both = [float(kind != "literal" or needs_both_words(scene.objects, c.targets[0])) for c in pool]
        weight = (1.0 + 3.0 * np.array(lever)) * (1.0 + 3.0 * np.array(both))
        c = pool[int(rng.choice(len(pool), p=weight / weight.sum()))]
        picked.append(_rephrase(c, int(rng.integers(len(TEMPLATES[c.kind][1])))))
    return picked


def choose_null(scene: Scene, count: int) -> list[Expression]:
    """``count`` null expressions: absent colour+shape pairs (near misses first), absent sounds."""
    rng, objs = scene.rng, scene.objects
    present = {(o.colour, o.shape) for o in objs}
    colours, shapes = {o.colour for o in objs}, {o.shape for o in objs}
    near = [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in present and c in colours and s in shapes]
    far = [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in present and (c, s) not in near]
    absent_shapes = [s for s in SHAPES if s not in shapes]
    out: list[Expression] = []
    for k in range(count):
        if k % 2 == 1 and absent_shapes:
            shape = absent_shapes[int(rng.integers(len(absent_shapes)))]
            size = SIZES[int(rng.integers(len(SIZES)))]
            words = {"pitch": PITCH_OF_SIZE[size], "timbre": TIMBRE_OF_SHAPE[shape]}
            e = Expression("absent-sound", fill("absent-sound", **words), f"the {size} {shape}", (), words)
        else:
            pool = near or far
            c, s = pool.pop(int(rng.integers(len(pool))))
            words = {"colour": c, "shape": s}
            e = Expression("absent", fill("absent", **words), f"the {c} {s}", (), words)
        if any(x.text == e.text for x in out):
            continue
        out.append(e)
    return out
