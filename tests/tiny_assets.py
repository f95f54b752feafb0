"""Shared, session-cached test assets: a tiny offline Qwen2.5-Omni thinker and synthetic clips.

Use the functions directly (each builds once per test session and reuses the result), or through
the fixtures of ``tests/conftest_models.py``. Nothing here downloads anything.

- `tiny_thinker_dir(size)`: a folder written by ``omni_r1_lite.models.build_tiny_thinker``.
- `load_tiny_thinker(size)`: ``(model, processor)`` loaded through ``load_thinker`` (fresh model
  each call, so tests may modify it).
- `write_clip(root, ...)`: a folder of integer-named JPEGs with a moving square, and its `Sample`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

_COLOURS = ("red", "green", "blue", "yellow", "purple", "orange")
_SHAPES = ("circle", "square", "triangle", "star")
_SIZES = ("small", "large")
_PLACES = ("", " on the left", " on the right", " near the top", " near the bottom")
TINY_CORPUS = tuple(
    f"the {size} {colour} {shape}{place}"
    for size in _SIZES
    for colour in _COLOURS
    for shape in _SHAPES
    for place in _PLACES
) + (
    "the shape that enters last",
    "the object making the high beep",
    "frame 0: red circle at left, small; blue square at right, large",
    "sounds: high beep from 0.5 s to 1.0 s, low hum from 1.5 s",
)
"""Task-like strings (OmniSynth-style expressions) for the tiny tokenizer; the kit adds its templates."""

_ROOT: Path | None = None
_BUILT: dict[tuple[str, int], Path] = {}


def session_dir() -> Path:
    """A temporary folder for this test session, removed at exit."""
    global _ROOT
    if _ROOT is None:
        _ROOT = Path(tempfile.mkdtemp(prefix="omni_r1_lite_tests_"))
        atexit.register(shutil.rmtree, _ROOT, True)
    return _ROOT


def tiny_thinker_dir(size: str = "xs", seed: int = 0) -> Path:
    """The tiny thinker of ``size`` built once per session (offline)."""
    key = (size, seed)
    if key not in _BUILT:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from omni_r1_lite.models import build_tiny_thinker

        _BUILT[key] = build_tiny_thinker(
            session_dir() / f"tiny-{size}-{seed}", TINY_CORPUS, size=size, seed=seed
        )
    return _BUILT[key]


def load_tiny_thinker(size: str = "xs", seed: int = 0) -> tuple[Any, Any]:
    """``(model, processor)`` of the session's tiny thinker, loaded on CPU through ``load_thinker``."""
    from omni_r1_lite.models import load_thinker

    return load_thinker(tiny_thinker_dir(size, seed), device="cpu", local_files_only=True)


def clip_frames(num_frames: int = 6, height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """``uint8[T, H, W, 3]``: a red square moving right over a dark background (with a little noise)."""
    rng = np.random.default_rng(seed)
    frames = np.full((num_frames, height, width, 3), 40, dtype=np.uint8)
    frames += rng.integers(0, 8, size=frames.shape, dtype=np.uint8)
    side = max(height // 3, 4)
    for t in range(num_frames):
        x = min(width // 10 + t * width // (2 * max(num_frames, 1)), width - side)
        frames[t, height // 3 : height // 3 + side, x : x + side] = (230, 60, 60)
    return frames


def square_box(t: int, num_frames: int = 6, height: int = 96, width: int = 128) -> np.ndarray:
    """``float32[1, 4]``: the moving square's box on frame ``t`` of `clip_frames`."""
    side = max(height // 3, 4)
    x = min(width // 10 + t * width // (2 * max(num_frames, 1)), width - side)
    return np.array([[x, height // 3, x + side, height // 3 + side]], dtype=np.float32)


def write_clip(
    root: str | os.PathLike,
    num_frames: int = 6,
    height: int = 96,
    width: int = 128,
    task: str = "VOS",
    name_width: int = 5,
    seed: int = 0,
) -> Any:
    """Write `clip_frames` as ``00000.jpg…`` (``name_width=0``: ``0.jpg…``) and return a `Sample`."""
    from PIL import Image

    from omni_r1_lite.data.schema import EmptyMasks, Sample

    folder = Path(root)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for t, frame in enumerate(clip_frames(num_frames, height, width, seed)):
        name = f"{t:0{name_width}d}.jpg" if name_width else f"{t}.jpg"
        Image.fromarray(frame).save(folder / name, quality=95)
        names.append(name)
    return Sample(
        sample_id=f"synthetic/{folder.name}",
        dataset="synthetic",
        task=task,
        split="test",
        frame_dir=folder,
        frame_names=tuple(names),
        audio_path=None,
        expression="the red square",
        expression_type="referring",
        object_ids=(1,),
        masks=EmptyMasks(num_frames=num_frames, height=height, width=width, num_objects=1),
    )
