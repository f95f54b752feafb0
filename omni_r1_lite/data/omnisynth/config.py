"""OmniSynth's fixed vocabulary (colours, shapes, sizes, sounds) and its generation config.

Everything a clip can contain is named here, so the rules that tie sounds to objects are in one
place:

* **timbre follows the shape**, like an instrument: circles *beep* (sine), squares *buzz*
  (band-limited square wave), triangles *chirp* (a rising sweep), stars *click* (a click train);
* **pitch follows the size**: small objects sound *high* (880 Hz), medium *mid* (440 Hz),
  large *low* (220 Hz);
* an object sounds only in frames where it is on screen (any part of its silhouette inside the
  image, even when hidden behind another object), and only some objects sound at all.

>>> TIMBRE_OF_SHAPE["circle"], PITCH_OF_SIZE["small"]
('beep', 'high')
>>> c = OmniSynthConfig.smoke()
>>> c.clips["train"], c.num_frames, (c.width, c.height)
(3, 10, (224, 168))
"""

from __future__ import annotations

import dataclasses
from typing import Any

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 175, 70),
    "blue": (50, 90, 230),
    "yellow": (240, 215, 40),
    "purple": (150, 70, 200),
    "orange": (250, 140, 30),
}
SHAPES = ("circle", "square", "triangle", "star")
SIZES = ("small", "medium", "large")
#: Nominal radius of each size class as a fraction of min(width, height); every shape has the
#: area of a circle of that radius, so size classes are comparable across shapes.
SIZE_RADIUS = {"small": 0.048, "medium": 0.078, "large": 0.12}
#: Objects grow or shrink linearly between these scale factors; the classes never overlap.
SCALE_RANGE = (0.8, 1.2)
TIMBRE_OF_SHAPE = {"circle": "beep", "square": "buzz", "triangle": "chirp", "star": "click"}
PITCH_OF_SIZE = {"small": "high", "medium": "mid", "large": "low"}
PITCH_HZ = {"low": 220.0, "mid": 440.0, "high": 880.0}
PITCHES = ("low", "mid", "high")
TIMBRES = ("beep", "buzz", "chirp", "click")
MOTIONS = ("cross", "enter", "exit", "stay")
#: (colour, shape) combinations never shown in train/val/seen clips; every target of an unseen
#: clip is one of them. One per shape and per colour, so each word alone is still seen in train.
UNSEEN_COMBOS = (("purple", "circle"), ("orange", "square"), ("green", "star"), ("yellow", "triangle"))
#: An object is "on screen" in a frame when at least this many pixels of its silhouette are
#: inside the image (hidden behind another object or not). Objects sound only on screen.
IN_VIEW_PX = 8
#: OmniSynth split -> RefAVS split name written in metadata.csv.
REFAVS_SPLIT = {"train": "train", "val": "val", "seen": "test_s", "unseen": "test_u", "null": "test_n"}
SPLITS = tuple(REFAVS_SPLIT)
#: OmniSynth split -> ReVOS meta file stem (``meta_expressions_<stem>_.json``); null has none.
REVOS_SPLIT = {"train": "train", "val": "val", "seen": "valid", "unseen": "valid"}


def _default_clips() -> dict[str, int]:
    return {"train": 400, "val": 50, "seen": 200, "unseen": 200, "null": 100}


@dataclasses.dataclass(frozen=True)
class OmniSynthConfig:
    """How much OmniSynth to generate and at which resolution; same config → same bytes."""

    seed: int = 0
    """Master seed. Clip ``i`` of split ``s`` uses its own sub-seed ``(seed, s, i)``, so a clip
    does not depend on how many clips are generated before it."""
    clips: dict[str, int] = dataclasses.field(default_factory=_default_clips)
    """Clips per OmniSynth split (``train``, ``val``, ``seen``, ``unseen``, ``null``)."""
    num_frames: int = 10
    """Frames per clip (RefAVS has 10, one per second). Anything in 8..24 works."""
    width: int = 224
    """Frame width in pixels. 224x168 is 4:3, a multiple of 28 (Qwen's smart_resize leaves it
    alone: 8x6 merged patches), halves to the calibration's 112 px System-1 input, and is the
    "high-res" frame System 2 sees, with small objects still ~16 px across."""
    height: int = 168
    """Frame height in pixels (see `width`)."""
    sample_rate: int = 16000
    """Audio sample rate of ``audio.wav`` (mono, 16-bit PCM), as Qwen2.5-Omni expects."""
    seconds_per_frame: float = 1.0
    """Frame ``t`` shows time ``t * seconds_per_frame`` and owns the audio window
    ``[t, t+1) * seconds_per_frame`` (RefAVS: 1 fps)."""
    objects_per_clip: tuple[int, int] = (3, 5)
    """Inclusive range of objects per clip."""
    multi_prob: float = 0.25
    """Probability that a (non-null) clip also gets one multi-object expression."""
    null_per_clip: int = 2
    """Null expressions per clip of the null split (an absent colour+shape, an absent sound)."""
    layouts: tuple[str, ...] = ("refavs", "revos")
    """Layouts to write: ``refavs`` (always; the annotations live there) and ``revos``."""
    jpeg_quality: int = 90
    """Fixed JPEG quality of the frames."""

    def __post_init__(self):
        unknown = set(self.clips) - set(SPLITS)
        if unknown:
            raise ValueError(f"unknown OmniSynth splits {sorted(unknown)}; use {SPLITS}")
        if not 2 <= self.num_frames <= 64:
            raise ValueError(f"num_frames must be in 2..64 (8..24 recommended), got {self.num_frames}")
        if min(self.width, self.height) < 64:
            raise ValueError("width and height must be at least 64 pixels")
        lo, hi = self.objects_per_clip
        if not 3 <= lo <= hi <= 6:
            raise ValueError(f"objects_per_clip must satisfy 3 <= lo <= hi <= 6, got {self.objects_per_clip}")
        if "refavs" not in self.layouts or not set(self.layouts) <= {"refavs", "revos"}:
            raise ValueError(f"layouts must contain 'refavs' and only 'refavs'/'revos', got {self.layouts}")

    @classmethod
    def smoke(cls, **overrides: Any) -> OmniSynthConfig:
        """A tiny set (3 clips per split) for CI and quick looks; generated in about a second."""
        kw: dict[str, Any] = {"clips": {s: 3 for s in SPLITS}}
        kw.update(overrides)
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["objects_per_clip"] = list(self.objects_per_clip)
        d["layouts"] = list(self.layouts)
        return d
