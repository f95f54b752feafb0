"""Scene sampling and rasterisation: objects, straight-line motion, depth order, sound events.

A clip has `OmniSynthConfig.objects_per_clip` objects (3–5 by default, at most 6), each with a
unique (colour, shape) pair. Colours and shapes are drawn from a 2x2 grid (two colours x two
shapes, plus extras for 5–6 objects), so most objects have a distractor sharing their colour and
another sharing their shape: a literal description needs both words. Sizes are drawn per object
(small / medium / large); in 30 % of clips two objects of one shape get the same size (a
"look-alike" that sounds the same, so only audio timing tells them apart). Each object moves
on a straight line in normalised clip time ``u = t / (T-1)`` (so the motion does not depend on
the number of frames) with one of four motions:

* ``cross``: starts off screen and leaves by another edge (enters *and* exits);
* ``enter``: starts off screen, ends on screen;  ``exit``: the reverse;
* ``stay``: on screen throughout, drifting slowly (often hidden by objects in front).

Motions are drawn with probabilities 0.3 / 0.25 / 0.25 / 0.2 (held-out objects of unseen clips
never ``stay``); every object is fully on screen in at least one frame. The scale changes
linearly within `SCALE_RANGE` (objects shrink or grow). A fixed depth order (0 = front) decides
occlusion. Visible masks are what the benchmark segments. One to three objects (at most all but
one) are *sounding*.

>>> import numpy as np
>>> from omni_r1_lite.data.omnisynth.config import OmniSynthConfig
>>> scene = sample_scene(OmniSynthConfig.smoke(), "train", 0)
>>> geo = rasterise(scene)
>>> geo.visible.shape[1:], geo.visible.dtype          # [O, T, H, W]
((10, 168, 224), dtype('bool'))
>>> bool((geo.visible.sum(axis=0) <= 1).all())      # visible masks never overlap
True
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from omni_r1_lite.data.omnisynth.config import (
    COLOURS,
    IN_VIEW_PX,
    MOTIONS,
    PITCH_OF_SIZE,
    SCALE_RANGE,
    SHAPES,
    SIZE_RADIUS,
    SIZES,
    SPLITS,
    TIMBRE_OF_SHAPE,
    UNSEEN_COMBOS,
    OmniSynthConfig,
)

#: extent (half-width of the bounding square) of each shape, in units of its equal-area radius
_EXTENT = {
    "circle": 1.0,
    "square": math.sqrt(math.pi) / 2,
    "triangle": math.sqrt(4 * math.pi / (3 * math.sqrt(3))),
    "star": math.sqrt(math.pi / (5 * 0.5 * math.sin(math.pi / 5))),
}
_STAR_INNER = 0.5
_MOTION_P = (0.3, 0.25, 0.25, 0.2)
_DECOY_P = 0.3


@dataclasses.dataclass(frozen=True)
class ObjectSpec:
    """One object of a clip. Positions are pixel centres at ``u = 0`` and ``u = 1``."""

    id: int
    colour: str
    shape: str
    size: str
    depth: int
    motion: str
    p0: tuple[float, float]
    p1: tuple[float, float]
    s0: float
    s1: float
    radius: float
    sounding: bool = False

    @property
    def timbre(self) -> str:
        return TIMBRE_OF_SHAPE[self.shape]

    @property
    def pitch(self) -> str:
        return PITCH_OF_SIZE[self.size]

    @property
    def literal(self) -> str:
        return f"the {self.colour} {self.shape}"

    def centre(self, u: float) -> tuple[float, float]:
        return (self.p0[0] + (self.p1[0] - self.p0[0]) * u, self.p0[1] + (self.p1[1] - self.p0[1]) * u)

    def scale(self, u: float) -> float:
        return self.s0 + (self.s1 - self.s0) * u


@dataclasses.dataclass(frozen=True)
class SoundEvent:
    """A sound of object ``object`` from ``start`` to ``end`` seconds, inside frame ``frame``'s window."""

    object: int
    pitch: str
    timbre: str
    start: float
    end: float
    frame: int


@dataclasses.dataclass
class Scene:
    """The sampled (not yet rasterised) content of one clip."""

    vid: str
    split: str
    index: int
    seed_entropy: tuple[int, ...]
    config: OmniSynthConfig
    objects: list[ObjectSpec]
    rng: np.random.Generator
    events: list[SoundEvent] = dataclasses.field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return self.config.num_frames


@dataclasses.dataclass
class Geometry:
    """Rasterised clip. Arrays are indexed ``[object id, frame, ...]``.

    Attributes:
        onscreen: ``bool[O, T, H, W]`` silhouette clipped to the image (ignoring occlusion).
        visible: ``bool[O, T, H, W]`` what remains after objects in front (the ground truth).
        full_area: ``int64[O, T]`` pixels of the unclipped silhouette.
        full_box: ``int64[O, T, 4]`` its inclusive box ``x1, y1, x2, y2`` (may leave the image).
        onscreen_area, visible_area: ``int64[O, T]``.
        visible_box: ``int64[O, T, 4]``; ``-1`` where nothing is visible.
        centre: ``float64[O, T, 2]`` silhouette centre ``x, y`` (may be off screen).
    """

    onscreen: np.ndarray
    visible: np.ndarray
    full_area: np.ndarray
    full_box: np.ndarray
    onscreen_area: np.ndarray
    visible_area: np.ndarray
    visible_box: np.ndarray
    centre: np.ndarray

    @property
    def visibility(self) -> np.ndarray:
        """``float64[O, T]``: visible fraction of the full silhouette."""
        return self.visible_area / np.maximum(self.full_area, 1)


def clip_rng(
    config: OmniSynthConfig, split: str, index: int, attempt: int = 0
) -> tuple[np.random.Generator, tuple[int, ...]]:
    """The clip's own generator: a function of (seed, split, index, attempt) only."""
    entropy = (int(config.seed), SPLITS.index(split), int(index), int(attempt))
    return np.random.default_rng(np.random.SeedSequence(entropy)), entropy


def silhouette(shape: str, cx: float, cy: float, r: float) -> tuple[int, int, np.ndarray]:
    """Rasterise one shape of equal-area radius ``r`` centred at ``(cx, cy)``.

    Pixel ``(x, y)`` is inside when its centre ``(x+.5, y+.5)`` is. Returns the top-left pixel
    ``(x0, y0)`` of a local grid and ``bool[h, w]`` (unclipped; may extend beyond any image).

    >>> x0, y0, m = silhouette("circle", 10.0, 10.0, 3.0)
    >>> (x0, y0, m.shape, int(m.sum()))
    (7, 7, (7, 7), 32)
    """
    e = _EXTENT[shape] * r
    x0, y0 = math.floor(cx - e), math.floor(cy - e)
    x1, y1 = math.ceil(cx + e), math.ceil(cy + e)
    dx = (np.arange(x0, x1 + 1) + 0.5 - cx)[None, :]
    dy = (np.arange(y0, y1 + 1) + 0.5 - cy)[:, None]
    if shape == "circle":
        m = dx * dx + dy * dy <= r * r
    elif shape == "square":
        m = (np.abs(dx) <= e) & (np.abs(dy) <= e)
    elif shape == "triangle":  # pointing up, circumradius e, inradius e/2
        c, s = math.sqrt(3) / 2, 0.5
        m = (dy <= e / 2) & (-c * dx - s * dy <= e / 2) & (c * dx - s * dy <= e / 2)
    elif shape == "star":  # five points, one pointing up, inner radius e/2
        rho = np.sqrt(dx * dx + dy * dy)
        sector = 2 * math.pi / 5
        a = np.mod(np.arctan2(dx, -dy), sector)
        a = np.minimum(a, sector - a)
        qx, qy = rho * np.cos(a), rho * np.sin(a)
        ux, uy = _STAR_INNER * e * math.cos(math.pi / 5), _STAR_INNER * e * math.sin(math.pi / 5)
        # inside iff q is on the origin's side of the edge from (e, 0) to (ux, uy)
        m = (ux - e) * qy - uy * (qx - e) >= 0
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return x0, y0, np.ascontiguousarray(m)


# ----------------------------------------------------------------------------- sampling


def _attributes(rng: np.random.Generator, n: int, split: str) -> list[tuple[str, str]]:
    """n distinct (colour, shape) pairs on a 2x2 grid (+ extras), respecting the split's combos."""
    colours, unseen = list(COLOURS), set(UNSEEN_COMBOS)
    for _ in range(1000):
        if split == "unseen":
            c1, s1 = UNSEEN_COMBOS[rng.integers(len(UNSEEN_COMBOS))]
            c2 = rng.choice([c for c in colours if c != c1])
            s2 = rng.choice([s for s in SHAPES if s != s1])
        else:
            c1, c2 = rng.choice(colours, 2, replace=False)
            s1, s2 = rng.choice(SHAPES, 2, replace=False)
        combos = [(c1, s1), (c1, s2), (c2, s1), (c2, s2)][:n]
        others_c = [c for c in colours if c not in (c1, c2)]
        others_s = [s for s in SHAPES if s not in (s1, s2)]
        while len(combos) < n:  # a third colour or shape, sharing the other attribute
            if rng.random() < 0.5:
                combos.append((str(rng.choice(others_c)), str(rng.choice([s1, s2]))))
            else:
                combos.append((str(rng.choice([c1, c2])), str(rng.choice(others_s))))
            if len(set(combos)) < len(combos):
                combos.pop()
        combos = [(str(c), str(s)) for c, s in combos]
        if split != "unseen" and any(cs in unseen for cs in combos):
            continue
        return combos
    raise RuntimeError("could not sample attributes")  # pragma: no cover


def _inside(rng, w, h, e):
    return (float(rng.uniform(e, w - e)), float(rng.uniform(e, h - e)))


def _outside(rng, w, h, e, edge):
    """A centre fully off screen beyond ``edge`` (0 left, 1 right, 2 top, 3 bottom)."""
    d = e + float(rng.uniform(0.0, 0.45)) * (w if edge < 2 else h)
    if edge == 0:
        return (-d, float(rng.uniform(e, h - e)))
    if edge == 1:
        return (w + d, float(rng.uniform(e, h - e)))
    if edge == 2:
        return (float(rng.uniform(e, w - e)), -d)
    return (float(rng.uniform(e, w - e)), h + d)


def _fully_inside_somewhere(p0, p1, s0, s1, ext, w, h, t_count) -> bool:
    for t in range(t_count):
        u = t / (t_count - 1)
        x, y = p0[0] + (p1[0] - p0[0]) * u, p0[1] + (p1[1] - p0[1]) * u
        e = ext * (s0 + (s1 - s0) * u)
        if e <= x <= w - e and e <= y <= h - e:
            return True
    return False


def _trajectory(rng, motion, shape, radius, cfg):
    w, h, t_count = cfg.width, cfg.height, cfg.num_frames
    ext = _EXTENT[shape] * radius
    for _ in range(100):
        s0, s1 = (float(v) for v in rng.uniform(*SCALE_RANGE, size=2))
        e = ext * SCALE_RANGE[1] + 1
        if motion == "stay":
            p0 = _inside(rng, w, h, e)
            ang, dist = rng.uniform(0, 2 * math.pi), rng.uniform(0.05, 0.35) * w
            p1 = (float(np.clip(p0[0] + dist * math.cos(ang), e, w - e)),
                  float(np.clip(p0[1] + dist * math.sin(ang), e, h - e)))
        elif motion == "enter":
            p0, p1 = _outside(rng, w, h, e, int(rng.integers(4))), _inside(rng, w, h, e)
        elif motion == "exit":
            p0, p1 = _inside(rng, w, h, e), _outside(rng, w, h, e, int(rng.integers(4)))
        else:  # cross: leave by another edge
            e0 = int(rng.integers(4))
            e1 = int(rng.choice([k for k in range(4) if k != e0]))
            p0, p1 = _outside(rng, w, h, e, e0), _outside(rng, w, h, e, e1)
        if _fully_inside_somewhere(p0, p1, s0, s1, ext, w, h, t_count):
            return p0, p1, s0, s1
    return _inside(rng, w, h, e), _inside(rng, w, h, e), 1.0, 1.0  # pragma: no cover


def sample_scene(config: OmniSynthConfig, split: str, index: int, attempt: int = 0) -> Scene:
    """Objects and motions of clip ``index`` of ``split`` (sound events come after rasterising).
    ``attempt`` > 0 draws another scene for the same clip (see `make_clip`)."""
    rng, entropy = clip_rng(config, split, index, attempt)
    lo, hi = config.objects_per_clip
    n = int(rng.integers(lo, hi + 1))
    combos = _attributes(rng, n, split)
    order = rng.permutation(n)
    combos = [combos[k] for k in order]
    sizes = [str(s) for s in rng.choice(SIZES, n)]
    if rng.random() < _DECOY_P:  # two objects of one shape and size: only audio timing tells them apart
        by_shape: dict[str, list[int]] = {}
        for k, (_, s) in enumerate(combos):
            by_shape.setdefault(s, []).append(k)
        pairs = [v for v in by_shape.values() if len(v) >= 2]
        if pairs:
            a, b = pairs[int(rng.integers(len(pairs)))][:2]
            sizes[b] = sizes[a]
    depth = rng.permutation(n)
    base = min(config.width, config.height)
    objects = []
    for k, (colour, shape) in enumerate(combos):
        motion = str(rng.choice(MOTIONS, p=_MOTION_P))
        if split == "unseen" and (colour, shape) in UNSEEN_COMBOS and motion == "stay":
            motion = str(rng.choice(MOTIONS[:3]))  # unseen targets get entries / exits too
        radius = SIZE_RADIUS[sizes[k]] * base * float(rng.uniform(0.95, 1.05))
        p0, p1, s0, s1 = _trajectory(rng, motion, shape, radius, config)
        objects.append(ObjectSpec(k, colour, shape, sizes[k], int(depth[k]), motion, p0, p1, s0, s1, radius))
    n_sounding = int(rng.integers(1, min(3, n - 1) + 1))
    sounding = set(int(k) for k in rng.choice(n, n_sounding, replace=False))
    objects = [dataclasses.replace(o, sounding=o.id in sounding) for o in objects]
    vid = f"osyn-{split}-{index:05d}"
    return Scene(vid, split, index, entropy, config, objects, rng)


# ----------------------------------------------------------------------------- rasterising


def _box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
    if cols.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


def rasterise(scene: Scene) -> Geometry:
    """Silhouettes, occlusion by depth order, areas and boxes of every object in every frame."""
    cfg = scene.config
    w, h, t_count, n = cfg.width, cfg.height, cfg.num_frames, len(scene.objects)
    onscreen = np.zeros((n, t_count, h, w), dtype=bool)
    full_area = np.zeros((n, t_count), dtype=np.int64)
    full_box = np.zeros((n, t_count, 4), dtype=np.int64)
    centre = np.zeros((n, t_count, 2))
    for o in scene.objects:
        for t in range(t_count):
            u = t / (t_count - 1)
            cx, cy = o.centre(u)
            x0, y0, m = silhouette(o.shape, cx, cy, o.radius * o.scale(u))
            centre[o.id, t] = (cx, cy)
            full_area[o.id, t] = int(m.sum())
            bx = _box(m)
            full_box[o.id, t] = (x0 + bx[0], y0 + bx[1], x0 + bx[2], y0 + bx[3]) if bx else (x0, y0, x0, y0)
            xa, ya = max(x0, 0), max(y0, 0)
            xb, yb = min(x0 + m.shape[1], w), min(y0 + m.shape[0], h)
            if xa < xb and ya < yb:
                onscreen[o.id, t, ya:yb, xa:xb] = m[ya - y0:yb - y0, xa - x0:xb - x0]
    visible = np.empty_like(onscreen)
    occupied = np.zeros((t_count, h, w), dtype=bool)
    for o in sorted(scene.objects, key=lambda o: o.depth):  # front to back
        np.logical_and(onscreen[o.id], ~occupied, out=visible[o.id])
        occupied |= onscreen[o.id]
    visible_box = np.full((n, t_count, 4), -1, dtype=np.int64)
    for k in range(n):
        for t in range(t_count):
            bx = _box(visible[k, t])
            if bx:
                visible_box[k, t] = bx
    return Geometry(
        onscreen=onscreen,
        visible=visible,
        full_area=full_area,
        full_box=full_box,
        onscreen_area=onscreen.sum(axis=(2, 3)),
        visible_area=visible.sum(axis=(2, 3)),
        visible_box=visible_box,
        centre=centre,
    )


def sample_events(scene: Scene, geo: Geometry) -> list[SoundEvent]:
    """Sound events of the sounding objects: a run of 1–3 consecutive frames while on screen
    (at least `IN_VIEW_PX` pixels inside the image).

    Each event lies inside its frame's audio window (onset 5–40 % into it, 0.3–0.5 of it long).
    """
    rng, spf, events = scene.rng, scene.config.seconds_per_frame, []
    for o in scene.objects:
        if not o.sounding:
            continue
        frames = np.flatnonzero(geo.onscreen_area[o.id] >= IN_VIEW_PX)
        if frames.size == 0:
            continue
        run = int(rng.integers(1, min(3, frames.size) + 1))
        first = int(rng.integers(0, frames.size - run + 1))
        for t in frames[first:first + run]:
            start = (int(t) + float(rng.uniform(0.05, 0.4))) * spf
            dur = float(rng.uniform(0.3, 0.5)) * spf
            events.append(SoundEvent(o.id, o.pitch, o.timbre, round(start, 4), round(start + dur, 4), int(t)))
    events.sort(key=lambda e: (e.start, e.object))
    scene.events = events
    return events
