"""VisionReasoner as System 2's grounder (the paper's Table 5 ablation), behind the `Grounder` contract.

VisionReasoner (Ricky06662/VisionReasoner-7B; code: JIA-Lab-research/VisionReasoner) is
Qwen2.5-VL-7B-Instruct trained with RL to ground: it thinks in ``<think>`` and answers a JSON list of
``{"bbox_2d": [x1, y1, x2, y2], "point_2d": [x, y]}`` in ``<answer>``. What the kit does, as its
own inference code does:

- the keyframe is resized to **840 × 840** (aspect ratio not kept, bilinear), so Qwen2.5-VL sees
  30 × 30 merged patches (900 image tokens) whatever the frame's shape;
- the prompt is `VISIONREASONER_TEMPLATE` with the description lower-cased and stripped of
  ``."?!`` and the two-object example answer;
- greedy decoding; boxes are read from ``<answer>`` (`parsing.parse_box_points`; malformed output
  gives no box, never an error) and scaled back by ``original / 840`` per axis, rounded as the
  official ``int(v · factor + 0.5)``.

The points are parsed (`VisionReasonerGrounder.ground_points`) but System 2 prompts SAM2 with the
boxes only, as Omni-R1's SAM2 server does. Omni-R1's final training script used VisionReasoner
during training (``USE_GROUNDING_PROMPT_VISIONRESONER=1``); Table 5 reports it at training only and
at training and inference. Select it with ``system2.backend=visionreasoner`` (``system2.grounder``
names the checkpoint; default `VISIONREASONER_MODEL`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from omni_r1_lite.data.schema import Sample
from omni_r1_lite.systems.detail import Boxes, _load_frame, clip_boxes, greedy_text
from omni_r1_lite.systems.parsing import parse_box_points

VISIONREASONER_MODEL = "Ricky06662/VisionReasoner-7B"
"""The released checkpoint (Qwen2.5-VL-7B-Instruct fine-tuned; 8.29 B parameters)."""

RESIZE = 840
"""VisionReasoner's input side: every image is resized to ``RESIZE × RESIZE``."""

VISIONREASONER_TEMPLATE = (
    'Please find "{question}" with bboxs and points.'
    "Compare the difference between object(s) and find the most closely matched object(s)."
    "Output the thinking process in <think> </think> and final answer in <answer> </answer> tags."
    "Output the bbox(es) and point(s) inside the interested object(s) in JSON format."
    "i.e., <think> thinking process here </think>"
    "<answer>{answer}</answer>"
)
"""VisionReasoner's detection/segmentation prompt (its ``DETECTION_TEMPLATE``; no spaces between
the sentences, as released)."""

EXAMPLE_ANSWER = ('[{"bbox_2d": [10,100,200,210], "point_2d": [30,110]}, '
                  '{"bbox_2d": [225,296,706,786], "point_2d": [302,410]}]')
"""The example answer the prompt carries."""


def vision_reasoner_prompt(description: str) -> str:
    """The prompt for one description.

    >>> vision_reasoner_prompt("The Dog.")[:40]
    'Please find "the dog" with bboxs and poi'
    """
    question = str(description).lower().strip(".\"?!")
    return VISIONREASONER_TEMPLATE.format(question=question, answer=EXAMPLE_ANSWER)


def vision_reasoner_messages(description: str) -> list[dict[str, Any]]:
    """``[image, text]`` chat messages (the resized keyframe goes to the processor as the image)."""
    return [{"role": "user", "content": [{"type": "image"},
                                         {"type": "text", "text": vision_reasoner_prompt(description)}]}]


def scale_back(values: np.ndarray, original_hw: tuple[int, int], resize: int = RESIZE) -> np.ndarray:
    """Coordinates ``[..., 2k]`` (x, y pairs) in the ``resize``-square image mapped to the original
    ``(H, W)``, rounded as VisionReasoner does (``int(v · factor + 0.5)``).

    >>> scale_back(np.array([[84.0, 420.0, 168.0, 840.0]]), (720, 1280)).tolist()
    [[128.0, 360.0, 256.0, 720.0]]
    """
    h, w = original_hw
    v = np.asarray(values, dtype=np.float64)
    factor = np.tile([w / resize, h / resize], v.shape[-1] // 2)
    return np.floor(v * factor + 0.5).astype(np.float32)


class VisionReasonerGrounder:
    """Grounding with a VisionReasoner (Qwen2.5-VL) model: `Grounder` (``ground``) for `PaperDetailSystem`.

    Args:
        model: a ``Qwen2_5_VLForConditionalGeneration`` (VisionReasoner-7B, or any Qwen2.5-VL).
        processor: its ``Qwen2_5_VLProcessor`` (the kit pads on the left for generation).
        resize: the square side the keyframe is resized to (840, as released).
        max_new_tokens: decoding budget (thinking + answer; VisionReasoner's own code allows 2048).
        max_boxes: keep at most this many boxes (``None``: all).
    """

    def __init__(self, model: Any, processor: Any, resize: int = RESIZE, max_new_tokens: int = 1024,
                 max_boxes: int | None = None, suppress_tokens: Sequence[int] | None = None):
        self.model = model
        self.processor = processor
        self.resize = int(resize)
        self.max_new_tokens = int(max_new_tokens)
        self.max_boxes = max_boxes
        self.suppress_tokens = list(suppress_tokens) if suppress_tokens else None

    def prepare(self, image: Any, description: str) -> Any:
        """Processor inputs for one keyframe (resized to ``resize × resize``)."""
        from PIL import Image

        from omni_r1_lite.models import prepare_inputs

        square = image.convert("RGB").resize((self.resize, self.resize), Image.BILINEAR)
        pixels = self.resize * self.resize  # the processor must not resize it again
        return prepare_inputs(self.processor, vision_reasoner_messages(description), images=[square],
                              image_pixels=(min(pixels, 3136), pixels))

    def generate_text(self, inputs: Any) -> str:
        """Greedy decoding; the new text with special tokens removed."""
        return greedy_text(self.model, self.processor, inputs, self.max_new_tokens, self.suppress_tokens)

    def ground_points(self, image: Any, description: str) -> tuple[Boxes, list[np.ndarray | None]]:
        """Boxes ``float32[N, 4]`` and their points (``float32[2]`` or ``None``) in ``image``'s own
        pixels; boxes clipped to the image, points kept as read."""
        from omni_r1_lite.systems.prompts import clean_description

        if not clean_description(description):
            return np.zeros((0, 4), dtype=np.float32), []
        text = self.generate_text(self.prepare(image, description))
        pairs = parse_box_points(text)[: self.max_boxes] if self.max_boxes is not None else parse_box_points(text)
        hw = (image.height, image.width)
        boxes, points = [], []
        for box, point in pairs:
            b = clip_boxes(scale_back(box[None], hw, self.resize), *hw)
            if len(b):
                boxes.append(b[0])
                points.append(None if point is None else scale_back(point, hw, self.resize))
        return np.asarray(boxes, dtype=np.float32).reshape(-1, 4), points

    def ground_image(self, image: Any, description: str) -> Boxes:
        """Boxes ``float32[N, 4]`` for ``description`` in ``image`` (a PIL image), in its own pixels."""
        return self.ground_points(image, description)[0]

    def ground(self, sample: Sample, frame_index: int, description: str) -> Boxes:
        """Boxes on clip frame ``frame_index`` in its original pixels (``float32[N, 4]``, maybe N=0)."""
        return self.ground_image(_load_frame(sample, frame_index), description)


def load_vision_reasoner(name_or_path: str = VISIONREASONER_MODEL, device: Any = None, dtype: Any = None,
                         attn_implementation: str | None = None) -> tuple[Any, Any]:
    """``(model, processor)`` of a Qwen2.5-VL grounder (local folder or hub id; offline when
    ``HF_HUB_OFFLINE=1``), in eval mode, processor padding on the left."""
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    from omni_r1_lite.models import resolve_attn_implementation, resolve_device, resolve_dtype

    device = resolve_device(device)
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(
        name_or_path, dtype=resolve_dtype(device, dtype),
        attn_implementation=resolve_attn_implementation(device, attn_implementation)).to(device).eval()
    processor = AutoProcessor.from_pretrained(name_or_path, padding_side="left")
    return model, processor
