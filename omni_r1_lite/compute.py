"""Compute accounting: the paper's resolution-vs-coverage trade-off in tokens and FLOPs.

Two ways to look at a clip of ``T`` frames:

- **two systems** (Omni-R1): System 1 reads ``N`` evenly sampled frames at a low pixel budget
  (paper: ≤ 24 frames at 128·28·28 px), then System 2 grounds ``K`` keyframes at a high budget
  (paper: 900·28·28 px), one image per grounding prompt;
- **one system**: the same omni model reads the ``N`` frames at the high budget.

Visual tokens come from the real Qwen2-VL image/video processor arithmetic (patch 14, merge 2,
temporal patch 2 — Qwen2.5-Omni's settings) run on blank frames of the clip's size; FLOPs are
estimated from the real model configurations (transformers' `Qwen2_5OmniThinkerConfig`, the 7B
defaults, and the 3B sizes) — no weights are needed. SAM2's mask propagation is the same in both
arms and is left out.

FLOP model (forward pass, multiply-add = 2 FLOPs): a transformer layer over ``n`` tokens costs
``2·P_layer·n`` for its matrices plus ``2·n·c·d`` for attention scores and values, where ``c`` is
the attended context (``n/2`` on average for causal language layers, the window for the vision
encoder's windowed blocks, ``n`` for its full blocks).

>>> t = video_tokens(24, 720, 1280, max_pixels=128 * 28 * 28)
>>> t
1440
>>> image_tokens(720, 1280, max_pixels=900 * 28 * 28)
880
>>> cmp = compare(model="Qwen2.5-Omni-7B", num_frames=24, keyframes=4, height=720, width=1280)
>>> cmp["two_system"]["visual_tokens"] < cmp["one_system"]["visual_tokens"]
True
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

PATCH, MERGE, TEMPORAL = 14, 2, 2
LOW_PIXELS = 128 * 28 * 28
HIGH_PIXELS = 900 * 28 * 28


@dataclasses.dataclass(frozen=True)
class ThinkerSizes:
    """The sizes of a Qwen2.5-Omni thinker that matter for FLOPs."""

    name: str
    hidden: int
    layers: int
    intermediate: int
    heads: int
    kv_heads: int
    vit_dim: int
    vit_depth: int
    vit_intermediate: int
    vit_full_blocks: int
    vit_window_tokens: int  # patches per attention window (112 px windows of 14 px patches)

    @property
    def lm_layer_params(self) -> int:
        head = self.hidden // self.heads
        attn = self.hidden * self.hidden * 2 + 2 * self.hidden * self.kv_heads * head
        return attn + 3 * self.hidden * self.intermediate

    @property
    def vit_layer_params(self) -> int:
        return 4 * self.vit_dim * self.vit_dim + 3 * self.vit_dim * self.vit_intermediate


@functools.cache
def thinker_sizes(model: str) -> ThinkerSizes:
    """Sizes of the real thinkers: 7B from transformers' defaults, 3B from its published config."""
    from transformers import Qwen2_5OmniThinkerConfig

    cfg = Qwen2_5OmniThinkerConfig()  # the defaults are Qwen2.5-Omni-7B
    t, v = cfg.text_config, cfg.vision_config
    window = (v.window_size // v.patch_size) ** 2
    base = dict(vit_dim=1280, vit_depth=v.depth, vit_intermediate=v.intermediate_size,
                vit_full_blocks=len(v.fullatt_block_indexes), vit_window_tokens=window)
    if "7b" in model.lower():
        return ThinkerSizes("Qwen2.5-Omni-7B", t.hidden_size, t.num_hidden_layers, t.intermediate_size,
                            t.num_attention_heads, t.num_key_value_heads, **base)
    if "3b" in model.lower():
        return ThinkerSizes("Qwen2.5-Omni-3B", 2048, 36, 11008, 16, 2, **base)
    raise ValueError(f"unknown model {model!r}: Qwen2.5-Omni-3B or Qwen2.5-Omni-7B")


def _processors(max_pixels: int, min_pixels: int):
    from transformers import Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    kw = dict(min_pixels=min_pixels, max_pixels=max_pixels, patch_size=PATCH, merge_size=MERGE,
              temporal_patch_size=TEMPORAL)
    return Qwen2VLImageProcessor(**kw), Qwen2VLVideoProcessor(**kw, cap_pixels_per_frame=True)


@functools.lru_cache(maxsize=256)
def _grid(kind: str, frames: int, height: int, width: int, max_pixels: int, min_pixels: int) -> tuple[int, ...]:
    import numpy as np

    image_proc, video_proc = _processors(max_pixels, min_pixels)
    if kind == "image":
        out = image_proc(images=[np.zeros((height, width, 3), np.uint8)], return_tensors="np")
        return tuple(int(x) for x in out["image_grid_thw"][0])
    out = video_proc(videos=[np.zeros((frames, height, width, 3), np.uint8)], return_tensors="np",
                     do_sample_frames=False)
    return tuple(int(x) for x in out["video_grid_thw"][0])


def video_tokens(frames: int, height: int, width: int, max_pixels: int = LOW_PIXELS,
                 min_pixels: int = 16 * 28 * 28) -> int:
    """Language-model tokens of ``frames`` video frames of ``height × width`` at a pixel budget."""
    t, h, w = _grid("video", frames, height, width, max_pixels, min_pixels)
    return t * h * w // (MERGE * MERGE)


def image_tokens(height: int, width: int, max_pixels: int = HIGH_PIXELS, min_pixels: int = 4 * 28 * 28) -> int:
    """Language-model tokens of one image at a pixel budget."""
    t, h, w = _grid("image", 1, height, width, max_pixels, min_pixels)
    return t * h * w // (MERGE * MERGE)


def vit_flops(sizes: ThinkerSizes, patches: int) -> float:
    """Vision encoder FLOPs for ``patches`` 14-px patches (windowed blocks + a few full blocks)."""
    window = sizes.vit_depth - sizes.vit_full_blocks
    per_layer = 2 * sizes.vit_layer_params * patches
    attn_window = 4 * patches * min(patches, sizes.vit_window_tokens) * sizes.vit_dim
    attn_full = 4 * patches * patches * sizes.vit_dim
    return sizes.vit_depth * per_layer + window * attn_window + sizes.vit_full_blocks * attn_full


def lm_flops(sizes: ThinkerSizes, tokens: int) -> float:
    """Language-model prefill FLOPs for ``tokens`` tokens (causal attention)."""
    return sizes.layers * (2 * sizes.lm_layer_params * tokens + 2 * tokens * tokens * sizes.hidden)


def compare(model: str = "Qwen2.5-Omni-7B", num_frames: int = 24, keyframes: int = 4, height: int = 720,
            width: int = 1280, low_pixels: int = LOW_PIXELS, high_pixels: int = HIGH_PIXELS,
            text_tokens: int = 300) -> dict[str, Any]:
    """Tokens and estimated TFLOPs of the two-system design against one high-resolution system."""
    sizes = thinker_sizes(model)
    low = video_tokens(num_frames, height, width, low_pixels)
    high_video = video_tokens(num_frames, height, width, high_pixels, min_pixels=low_pixels)
    key = image_tokens(height, width, high_pixels)
    patches = lambda tokens: tokens * MERGE * MERGE  # noqa: E731 - patches before the 2x2 merge
    s1 = vit_flops(sizes, patches(low)) + lm_flops(sizes, low + text_tokens)
    s2 = keyframes * (vit_flops(sizes, patches(key)) + lm_flops(sizes, key + 40))
    one = vit_flops(sizes, patches(high_video)) + lm_flops(sizes, high_video + text_tokens)
    return {
        "model": sizes.name, "frames": num_frames, "keyframes": keyframes, "clip": [height, width],
        "two_system": {"visual_tokens": low + keyframes * key, "system1_tokens": low,
                       "system2_tokens_per_keyframe": key, "tflops": (s1 + s2) / 1e12,
                       "system1_tflops": s1 / 1e12, "system2_tflops": s2 / 1e12},
        "one_system": {"visual_tokens": high_video, "tflops": one / 1e12},
        "flops_ratio": one / (s1 + s2),
    }
