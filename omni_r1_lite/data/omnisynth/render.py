"""Frames: a dark vertical-gradient background, objects painted back to front with a dark rim.

>>> from omni_r1_lite.data.omnisynth.config import OmniSynthConfig
>>> from omni_r1_lite.data.omnisynth.scene import rasterise, sample_scene
>>> scene = sample_scene(OmniSynthConfig.smoke(), "val", 1)
>>> frames = render(scene, rasterise(scene))
>>> frames.shape, frames.dtype                       # [T, H, W, 3]
((10, 168, 224, 3), dtype('uint8'))
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from omni_r1_lite.data.omnisynth.config import COLOURS
from omni_r1_lite.data.omnisynth.scene import Geometry, Scene


def _rim(m: np.ndarray) -> np.ndarray:
    """Pixels of ``bool[T, H, W]`` masks with a 4-neighbour outside the mask."""
    inner = m.copy()
    inner[:, 1:, :] &= m[:, :-1, :]
    inner[:, :-1, :] &= m[:, 1:, :]
    inner[:, :, 1:] &= m[:, :, :-1]
    inner[:, :, :-1] &= m[:, :, 1:]
    return m & ~inner


def render(scene: Scene, geo: Geometry) -> np.ndarray:
    """``uint8[T, H, W, 3]`` RGB frames of the clip."""
    cfg, rng = scene.config, scene.rng
    h, w = cfg.height, cfg.width
    top = rng.uniform(35, 75, size=3)
    bottom = top + rng.uniform(-20, 25, size=3)
    ramp = np.linspace(0.0, 1.0, h)[:, None, None]
    bg = np.broadcast_to((top + (bottom - top) * ramp).round().astype(np.uint8), (h, w, 3))
    frames = np.broadcast_to(bg, (cfg.num_frames, h, w, 3)).copy()
    for o in sorted(scene.objects, key=lambda o: -o.depth):  # back to front
        m = geo.onscreen[o.id]
        colour = np.array(COLOURS[o.colour], dtype=np.uint8)
        frames[m] = colour
        frames[_rim(m)] = (colour * 0.55).astype(np.uint8)
    return frames


def jpeg_bytes(frame: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of one ``uint8[H, W, 3]`` frame (fixed quality, 4:2:0, deterministic)."""
    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=quality, subsampling=2, optimize=False)
    return buf.getvalue()


def png_bytes(mask: np.ndarray) -> bytes:
    """PNG bytes (8-bit grey, 0/255) of one ``bool[H, W]`` mask."""
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).save(buf, format="PNG", compress_level=6)
    return buf.getvalue()
