"""Sa2VA as System 2's grounder (the paper's ‡ rows of Table 2 and the "+ Sa2VA" rows of Table 4).

Sa2VA (ByteDance/Sa2VA-1B, -4B; code: magic-research/Sa2VA) is an InternVL-based MLLM whose
``[SEG]`` token prompts its own SAM2: given an image and ``"<image>Please segment ..."`` it returns
masks. Its modelling code ships with the checkpoint (``trust_remote_code=True``) and is not part of
transformers, so it cannot be loaded here without the hub: this module is an **adapter** around the
published call, tested with a fake that answers the same way.

The call (the model card's quick start): ``model.predict_forward(image=PIL image, text=prompt,
past_text="", mask_prompts=None, tokenizer=tokenizer)`` → ``{"prediction": text,
"prediction_masks": [bool array [1, H, W] (or [H, W]) per [SEG] token]}``.

How the adapter fits the kit's System-2 contract (boxes on keyframes → masks of the clip):
`Sa2VAGrounder.ground` runs Sa2VA on the high-resolution keyframe with the description, and returns
one box per non-empty ``[SEG]`` mask (its tight bounding box, original pixels); the kit's SAM2
(`Sam2Segmenter`) then propagates from those boxes over the clip, as for the other grounders. So
R_A / R_G, the caches and the evaluation work unchanged. What this leaves out, on purpose: Sa2VA's
own video path (its SAM2 prompted by the ``[SEG]`` embedding on every frame), and the masks'
shapes (only their boxes reach SAM2). The paper does not say how Omni-R1 handed keyframes to Sa2VA,
so the ‡ numbers are the paper's, not a claim about this adapter.

Select it with ``system2.backend=sa2va`` (``system2.grounder`` names the checkpoint; default
`SA2VA_MODEL`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from omni_r1_lite.data.schema import Sample
from omni_r1_lite.systems.detail import Boxes, _load_frame, clip_boxes
from omni_r1_lite.systems.prompts import clean_description

SA2VA_MODEL = "ByteDance/Sa2VA-4B"
"""Omni-R1-11B ‡ = Omni-R1-7B + Sa2VA-4B (the paper's best ReVOS figure, 58.9); Sa2VA-1B gives Omni-R1-8B."""

SA2VA_PROMPT = "<image>Please segment {description}."
"""The segmentation request (the model card's form: ``<image>`` then the instruction)."""


def mask_boxes(masks: Any, height: int, width: int) -> Boxes:
    """One box ``(x1, y1, x2 + 1, y2 + 1)`` per non-empty mask (``[H, W]`` or ``[T, H, W]``, frames
    united), in pixels; empty masks give none. Masks of another size are an error.

    >>> m = np.zeros((1, 6, 8), bool); m[0, 2:4, 1:5] = True
    >>> mask_boxes([m, np.zeros((6, 8), bool)], 6, 8).tolist()
    [[1.0, 2.0, 5.0, 4.0]]
    """
    out = []
    for mask in masks or []:
        m = np.asarray(mask)
        if m.shape[-2:] != (height, width):
            raise ValueError(f"Sa2VA returned a mask of shape {m.shape}, expected (…, {height}, {width})")
        m = m.reshape(-1, height, width).any(axis=0)
        ys, xs = np.nonzero(m)
        if len(xs):
            out.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    return clip_boxes(np.asarray(out, dtype=np.float32).reshape(-1, 4), height, width)


class Sa2VAGrounder:
    """Grounding with Sa2VA: `Grounder` (``ground``) for `PaperDetailSystem`.

    Args:
        model: a Sa2VA model (``AutoModel.from_pretrained(..., trust_remote_code=True)``) or anything
            with the same ``predict_forward``.
        tokenizer: its tokenizer (``AutoTokenizer.from_pretrained(..., trust_remote_code=True, use_fast=False)``).
        prompt: the request, with ``{description}``.
        max_boxes: keep at most this many boxes (``None``: all).
    """

    def __init__(self, model: Any, tokenizer: Any, prompt: str = SA2VA_PROMPT, max_boxes: int | None = None):
        if "{description}" not in prompt or "<image>" not in prompt:
            raise ValueError(f"the Sa2VA prompt needs '<image>' and '{{description}}', got {prompt!r}")
        self.model = model
        self.tokenizer = tokenizer
        self.prompt = prompt
        self.max_boxes = max_boxes

    def predict(self, image: Any, description: str) -> dict[str, Any]:
        """Sa2VA's raw answer for ``image`` (PIL): ``{"prediction": text, "prediction_masks": [...]}``."""
        import torch

        text = self.prompt.format(description=clean_description(description))
        with torch.inference_mode():
            out = self.model.predict_forward(image=image.convert("RGB"), text=text, past_text="",
                                             mask_prompts=None, tokenizer=self.tokenizer)
        if not isinstance(out, dict):
            raise TypeError(f"Sa2VA's predict_forward returned {type(out).__name__}, expected a dict")
        return out

    def ground_image(self, image: Any, description: str) -> Boxes:
        """Boxes ``float32[N, 4]`` (one per non-empty ``[SEG]`` mask) in ``image``'s own pixels."""
        if not clean_description(description):
            return np.zeros((0, 4), dtype=np.float32)
        boxes = mask_boxes(self.predict(image, description).get("prediction_masks"), image.height, image.width)
        return boxes[: self.max_boxes] if self.max_boxes is not None else boxes

    def ground(self, sample: Sample, frame_index: int, description: str) -> Boxes:
        """Boxes on clip frame ``frame_index`` in its original pixels (``float32[N, 4]``, maybe N=0)."""
        return self.ground_image(_load_frame(sample, frame_index), description)


def load_sa2va(name_or_path: str = SA2VA_MODEL, device: Any = None, dtype: Any = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of a Sa2VA checkpoint. Runs the checkpoint's own modelling code
    (``trust_remote_code=True``): only load checkpoints you trust. Not exercised offline (the code
    comes with the weights); the adapter is tested with a fake of the same call."""
    from transformers import AutoModel, AutoTokenizer

    from omni_r1_lite.models import resolve_device, resolve_dtype

    device = resolve_device(device)
    try:
        model = AutoModel.from_pretrained(name_or_path, dtype=resolve_dtype(device, dtype), low_cpu_mem_usage=True,
                                          trust_remote_code=True).eval().to(device)
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=True, use_fast=False)
    except (OSError, ValueError) as e:  # a missing folder; an id the hub cannot resolve offline
        raise FileNotFoundError(
            f"no Sa2VA checkpoint at {name_or_path!r} ({e.__class__.__name__}: {e}); download it on a machine with "
            f"the hub (huggingface-cli download {SA2VA_MODEL} --local-dir checkpoints/Sa2VA-4B) and set "
            "system2.grounder to that folder") from e
    return model, tokenizer
