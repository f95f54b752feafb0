"""System 2, detail understanding: ground a description on a keyframe, then segment the whole clip.

**The interface** (`DetailSystem`, two methods; a backend may implement only one half as a
`Grounder` or a `Segmenter` and be combined with `PaperDetailSystem`):

- ``ground(sample, frame_index, description) -> float32[N, 4]``: boxes ``(x1, y1, x2, y2)`` in the
  *original* pixels of clip frame ``frame_index`` (an index into ``sample.frame_names``, not a
  System-1 sampled index), ``N ≥ 0``.
- ``segment(sample, prompts, frames=None) -> bool[T, H, W]``: the masks of every clip frame (or of
  ``frames``, in that order), the union over objects, from box ``prompts`` ``{clip frame index:
  float32[N, 4]}`` (their frames must be among ``frames``). No boxes → all ``False``. Training
  may pass System 1's sampled frames, as the official reward does; evaluation segments them all.

Both are pure functions of their arguments and of weights that do not change during training
(the grounder runs with LoRA adapters off, SAM2 is frozen), so the pipeline may cache ``ground``
by ``(clip, frame, description)`` and ``segment`` by ``(clip, frozen prompts, frames)``. With
full fine-tuning instead of LoRA the grounder would change with the policy: do not cache then.

**The paper's backend** (`PaperDetailSystem` of `QwenGrounder` + `Sam2Segmenter`):

- `QwenGrounder`: the System-1 base model with its LoRA adapters disabled (the frozen initial
  model), a Qwen2.5-VL-style JSON-box prompt on the high-resolution keyframe (≤ 900·28·28 px),
  greedy decoding; boxes are read in the resized image's pixels and rescaled to the original.
- `Sam2Segmenter`: the ``sam2`` video predictor on the clip's integer-named JPEG folder, every box
  a prompt on its keyframe, propagated forward from the earliest keyframe to the end and backward
  from it to the start (the other keyframes condition every frame through SAM2's memory), masks
  at logits > 0, bf16 autocast on CUDA only.

Frames are read with `omni_r1_lite.data.media` (original resolution for System 2).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from omni_r1_lite.data.schema import Sample
from omni_r1_lite.systems.parsing import parse_boxes
from omni_r1_lite.systems.prompts import build_grounding_messages, clean_description

Boxes = np.ndarray
"""``float32[N, 4]`` boxes ``(x1, y1, x2, y2)`` in pixels."""


# ----------------------------------------------------------------------------- interface


@runtime_checkable
class Grounder(Protocol):
    def ground(self, sample: Sample, frame_index: int, description: str) -> Boxes:
        """Boxes ``float32[N, 4]`` for ``description`` on clip frame ``frame_index`` (original pixels)."""
        ...


@runtime_checkable
class Segmenter(Protocol):
    def segment(
        self, sample: Sample, prompts: Mapping[int, Boxes], frames: Sequence[int] | None = None
    ) -> np.ndarray:
        """Masks ``bool[T, H, W]`` (union over objects) for the clip frames (or ``frames``)."""
        ...


@runtime_checkable
class DetailSystem(Grounder, Segmenter, Protocol):
    """System 2: `Grounder` + `Segmenter` (see the module docstring for the contract)."""


@dataclasses.dataclass(frozen=True)
class DetailResult:
    """System 2's output for one plan: ``boxes`` per clip keyframe, ``masks`` ``bool[T, H, W]``."""

    boxes: dict[int, Boxes]
    masks: np.ndarray


class PaperDetailSystem:
    """The paper's System 2: a grounder (boxes on keyframes) followed by a segmenter (masks)."""

    def __init__(self, grounder: Grounder, segmenter: Segmenter):
        self.grounder = grounder
        self.segmenter = segmenter

    def ground(self, sample: Sample, frame_index: int, description: str) -> Boxes:
        return self.grounder.ground(sample, frame_index, description)

    def segment(
        self, sample: Sample, prompts: Mapping[int, Boxes], frames: Sequence[int] | None = None
    ) -> np.ndarray:
        return self.segmenter.segment(sample, prompts, frames=frames)


def ground_and_segment(
    system: DetailSystem,
    sample: Sample,
    keyframes: Sequence[int],
    descriptions: Sequence[str],
    frames: Sequence[int] | None = None,
) -> DetailResult:
    """Run System 2 on a plan without caching: ground each clip keyframe, then segment.

    ``keyframes`` are clip frame indices (map System-1 sampled indices first).
    """
    if len(keyframes) != len(descriptions):
        raise ValueError("one description per keyframe")
    boxes = {int(k): system.ground(sample, int(k), d) for k, d in zip(keyframes, descriptions)}
    return DetailResult(boxes=boxes, masks=system.segment(sample, boxes, frames=frames))


# ----------------------------------------------------------------------------- frames and boxes


def _load_frame(sample: Sample, index: int) -> Any:
    """Clip frame ``index`` as an RGB PIL image at its original resolution."""
    from PIL import Image

    from omni_r1_lite.data.media import read_image

    if not 0 <= index < sample.num_frames:
        raise IndexError(f"frame {index} out of range for {sample.sample_id} ({sample.num_frames} frames)")
    return Image.fromarray(read_image(sample.frame_dir / sample.frame_names[index]))


def _frame_size(sample: Sample) -> tuple[int, int]:
    """``(H, W)`` of the clip's frames (read from the first frame's header)."""
    from omni_r1_lite.data.media import image_size

    return image_size(sample.frame_dir / sample.frame_names[0])


def clip_boxes(boxes: Any, height: int, width: int) -> Boxes:
    """Boxes clipped to the image ``[0, W] × [0, H]``, corners ordered, empty ones dropped.

    >>> clip_boxes([[-5, 2, 30, 50], [10, 10, 10, 20], [40, 0, 20, 9]], height=40, width=32)
    array([[ 0.,  2., 30., 40.],
           [20.,  0., 32.,  9.]], dtype=float32)
    """
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    if not len(b):
        return b
    x1, x2 = np.minimum(b[:, 0], b[:, 2]), np.maximum(b[:, 0], b[:, 2])
    y1, y2 = np.minimum(b[:, 1], b[:, 3]), np.maximum(b[:, 1], b[:, 3])
    out = np.stack([x1.clip(0, width), y1.clip(0, height), x2.clip(0, width), y2.clip(0, height)], axis=1)
    keep = np.isfinite(out).all(axis=1) & (out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])
    return out[keep].astype(np.float32)


def rescale_boxes(boxes: Boxes, from_hw: tuple[int, int], to_hw: tuple[int, int]) -> Boxes:
    """Boxes in an image of size ``from_hw`` mapped to one of size ``to_hw`` (then clipped).

    >>> rescale_boxes(np.array([[14, 28, 56, 84]], np.float32), from_hw=(112, 112), to_hw=(240, 320))
    array([[ 40.,  60., 160., 180.]], dtype=float32)
    """
    (fh, fw), (th, tw) = from_hw, to_hw
    scale = np.array([tw / fw, th / fh, tw / fw, th / fh], dtype=np.float64)
    return clip_boxes(np.asarray(boxes, dtype=np.float64).reshape(-1, 4) * scale, th, tw)


# ----------------------------------------------------------------------------- grounder (Qwen)


def greedy_text(model: Any, processor: Any, inputs: Any, max_new_tokens: int,
                suppress_tokens: Sequence[int] | None = None) -> str:
    """A grounder's answer: greedy decoding of one prompt on the model's device, the new text with
    special tokens removed (``suppress_tokens`` never generated)."""
    import torch

    inputs = inputs.to(next(model.parameters()).device)
    kwargs: dict[str, Any] = dict(max_new_tokens=max_new_tokens, do_sample=False)
    if suppress_tokens:
        kwargs["suppress_tokens"] = list(suppress_tokens)
    with torch.inference_mode():
        out = model.generate(**inputs, **kwargs)
    return processor.batch_decode(out[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)[0]


class QwenGrounder:
    """Grounding by the System-1 base model with its LoRA adapters disabled (the paper's frozen copy).

    Args:
        model: a Qwen2.5-Omni thinker, possibly a ``peft.PeftModel`` (adapters are disabled
            while grounding; the same object can serve as policy, reference and grounder).
        processor: its ``Qwen2_5OmniProcessor``.
        max_pixels, min_pixels: the keyframe's pixel budget (paper: 900·28·28; the tiny preset
            uses ``models.PIXEL_BUDGETS["tiny"]["image"]``).
        max_new_tokens: decoding budget for the JSON answer.
        style: ``"qwen"`` (Qwen2.5-VL-style JSON boxes), ``"refavs"`` (the RefAVS prompt) or
            ``"auto"`` (``refavs`` for AVS samples, else ``qwen``).
        max_boxes: keep at most this many boxes (``None``: all).
        suppress_tokens: token ids never to generate (e.g. ``models.suppress_token_ids``).
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
        max_pixels: int = 900 * 28 * 28,
        min_pixels: int = 64 * 28 * 28,
        max_new_tokens: int = 256,
        style: str = "auto",
        max_boxes: int | None = None,
        suppress_tokens: Sequence[int] | None = None,
    ):
        if style not in ("auto", "qwen", "refavs"):
            raise ValueError(f"style must be 'auto', 'qwen' or 'refavs', got {style!r}")
        self.model = model
        self.processor = processor
        self.max_pixels = int(max_pixels)
        self.min_pixels = int(min(min_pixels, max_pixels))
        self.max_new_tokens = int(max_new_tokens)
        self.style = style
        self.max_boxes = max_boxes
        self.suppress_tokens = list(suppress_tokens) if suppress_tokens else None

    def style_for(self, sample: Sample | None) -> str:
        if self.style != "auto":
            return self.style
        return "refavs" if sample is not None and sample.task == "AVS" else "qwen"

    def prepare(self, image: Any, description: str, style: str = "qwen") -> tuple[Any, tuple[int, int]]:
        """Processor inputs for one keyframe, and the ``(h, w)`` the processor resized it to."""
        from omni_r1_lite.models import prepare_inputs

        messages = build_grounding_messages(description, style)
        inputs = prepare_inputs(
            self.processor, messages, images=[image], image_pixels=(self.min_pixels, self.max_pixels)
        )
        _, gh, gw = (int(v) for v in inputs["image_grid_thw"][0])
        patch = int(getattr(self.processor.image_processor, "patch_size", 14))
        return inputs, (gh * patch, gw * patch)

    def generate_text(self, inputs: Any) -> str:
        """Greedy decoding with the adapters disabled; the new text, special tokens removed."""
        from omni_r1_lite.models import adapters_disabled

        with adapters_disabled(self.model):
            return greedy_text(self.model, self.processor, inputs, self.max_new_tokens, self.suppress_tokens)

    def ground_image(self, image: Any, description: str, style: str = "qwen") -> Boxes:
        """Boxes ``float32[N, 4]`` for ``description`` in ``image`` (a PIL image), in its own pixels."""
        if not clean_description(description):
            return np.zeros((0, 4), dtype=np.float32)
        inputs, resized_hw = self.prepare(image, description, style)
        text = self.generate_text(inputs)
        boxes = parse_boxes(text, max_boxes=self.max_boxes)
        return rescale_boxes(boxes, resized_hw, (image.height, image.width))

    def ground(self, sample: Sample, frame_index: int, description: str) -> Boxes:
        """Boxes on clip frame ``frame_index`` in its original pixels (``float32[N, 4]``, maybe N=0)."""
        return self.ground_image(_load_frame(sample, frame_index), description, self.style_for(sample))


# ----------------------------------------------------------------------------- segmenter (SAM2)

SAM2_CONFIGS = {
    "sam2.1_hiera_t": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "sam2.1_hiera_s": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "sam2.1_hiera_b+": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "sam2.1_hiera_l": "configs/sam2.1/sam2.1_hiera_l.yaml",
}
"""SAM 2.1 model configs inside the ``sam2`` package (short names ``t``, ``s``, ``b+``, ``l`` work too)."""

SAM2_CHECKPOINT_URLS = {
    "sam2.1_hiera_t": "https://dl.fbaipublicfiles.com/segment_anything_2/092824/sam2.1_hiera_tiny.pt",
    "sam2.1_hiera_s": "https://dl.fbaipublicfiles.com/segment_anything_2/092824/sam2.1_hiera_small.pt",
    "sam2.1_hiera_b+": "https://dl.fbaipublicfiles.com/segment_anything_2/092824/sam2.1_hiera_base_plus.pt",
    "sam2.1_hiera_l": "https://dl.fbaipublicfiles.com/segment_anything_2/092824/sam2.1_hiera_large.pt",
}
"""Official SAM 2.1 checkpoints (the paper: large). Download them with the kit's data script."""

_JPEG = (".jpg", ".jpeg", ".JPG", ".JPEG")


def _memory_to_query_dtype(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """Forward pre-hook for SAM2's memory attention: cast the memory bank to the queries' dtype."""
    curr = kwargs.get("curr", args[0] if args else None)
    ref = curr[0] if isinstance(curr, (list, tuple)) else curr
    if ref is not None:
        for key in ("memory", "memory_pos"):
            value = kwargs.get(key)
            if value is not None and value.dtype != ref.dtype:
                kwargs[key] = value.to(ref.dtype)
    return args, kwargs


FEATURE_STORE = "omni_r1_lite_features"


def _install_feature_cache(predictor: Any, max_frames: int) -> None:
    """Make ``predictor`` keep the encoder features of up to ``max_frames`` frames per inference
    state (SAM2 keeps only the last frame's), so later calls on the same clip skip the encoder.

    What is kept per frame is SAM2's ``backbone_out`` without the input image (re-read from the
    state's frames on a hit, as SAM2 itself reads it) and with its position encodings shared: they
    depend only on the feature maps' sizes, equal for every frame of a clip (checked with
    ``torch.equal`` when a frame is stored), and are ~3/4 of the bytes at 1024 px."""
    import torch

    original = predictor._get_image_feature

    def get_image_feature(inference_state: dict, frame_idx: int, batch_size: int) -> Any:
        store = inference_state.setdefault(FEATURE_STORE, {"frames": {}, "pos": None})
        kept = store["frames"].get(frame_idx)
        if kept is not None:
            image = inference_state["images"][frame_idx].to(inference_state["device"]).float().unsqueeze(0)
            inference_state["cached_features"] = {frame_idx: (image, kept)}
        result = original(inference_state, frame_idx, batch_size)
        if kept is None and len(store["frames"]) < max_frames:
            _, backbone_out = inference_state["cached_features"][frame_idx]
            pos = list(backbone_out["vision_pos_enc"])
            shared = store["pos"]
            if shared is None:
                store["pos"] = pos
            elif len(shared) == len(pos) and all(a.shape == b.shape and torch.equal(a, b) for a, b in zip(shared, pos)):
                pos = list(shared)
            store["frames"][frame_idx] = {**backbone_out, "vision_pos_enc": pos}
        return result

    predictor._get_image_feature = get_image_feature
    predictor._omni_r1_lite_feature_cache = True


def _feature_bytes(store: Mapping[str, Any] | None, shared: bool = True) -> int:
    """Bytes held by a feature store, each tensor counted once (``shared=False``: without the
    position encodings all frames share)."""
    if not store:
        return 0
    seen: dict[int, int] = {}
    for out in store["frames"].values():
        for value in out.values():
            for t in value if isinstance(value, (list, tuple)) else [value]:
                if hasattr(t, "data_ptr"):
                    seen[t.data_ptr()] = t.numel() * t.element_size()
    if not shared:
        for t in store["pos"] or ():
            seen.pop(t.data_ptr(), None)
    return sum(seen.values())


@contextlib.contextmanager
def _sam2_progress(enabled: bool) -> Iterator[None]:
    """Silence SAM2's per-call tqdm bars (frame loading, propagation) unless ``enabled``."""
    if enabled:
        yield
        return
    import sam2.sam2_video_predictor as predictor_module
    import sam2.utils.misc as misc_module

    saved = [(m, m.tqdm) for m in (predictor_module, misc_module)]
    for module, _ in saved:
        module.tqdm = _no_progress
    try:
        yield
    finally:
        for module, original in saved:
            module.tqdm = original


def _no_progress(iterable: Any, *args: Any, **kwargs: Any) -> Any:
    return iterable


class RandomWeightsWarning(UserWarning):
    """SAM2 was built without a checkpoint: its masks are meaningless (fine for tests)."""


def resolve_sam2_config(config: str) -> str:
    """Config path inside the ``sam2`` package for a name such as ``"sam2.1_hiera_t"`` or ``"l"``.

    >>> resolve_sam2_config("b+")
    'configs/sam2.1/sam2.1_hiera_b+.yaml'
    """
    if config in SAM2_CONFIGS:
        return SAM2_CONFIGS[config]
    if f"sam2.1_hiera_{config}" in SAM2_CONFIGS:
        return SAM2_CONFIGS[f"sam2.1_hiera_{config}"]
    if config.endswith(".yaml"):
        return config
    raise ValueError(f"unknown SAM2 config {config!r}; known: {sorted(SAM2_CONFIGS)} or a .yaml path")


@contextlib.contextmanager
def _sam2_video_dir(sample: Sample, frames: Sequence[int] | None) -> Iterator[str]:
    """A folder SAM2 can read: the sample's own when it holds exactly its frames as integer-named
    JPEGs, else a temporary folder of ``00000.jpg…`` links (or JPEG copies) to the chosen frames."""
    names = [sample.frame_names[i] for i in frames] if frames is not None else list(sample.frame_names)
    folder = Path(sample.frame_dir)
    if frames is None and all(n.endswith(_JPEG) for n in names):
        try:
            on_disk = [p for p in os.listdir(folder) if os.path.splitext(p)[1] in _JPEG]
            on_disk.sort(key=lambda p: int(os.path.splitext(p)[0]))
        except (OSError, ValueError):
            on_disk = None
        if on_disk == names:
            yield str(folder)
            return
    tmp = tempfile.mkdtemp(prefix="omni_r1_lite_sam2_")
    try:
        for i, name in enumerate(names):
            src = (folder / name).resolve()
            dst = Path(tmp) / f"{i:05d}.jpg"
            if name.endswith(_JPEG):
                try:
                    os.symlink(src, dst)
                    continue
                except OSError:
                    pass
            from PIL import Image

            with Image.open(src) as img:
                img.convert("RGB").save(dst, quality=95)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Sam2Segmenter:
    """SAM2 video predictor prompted with boxes on keyframes, propagated over the clip both ways.

    Args:
        config: ``"sam2.1_hiera_t"|"s"|"b+"|"l"`` (or a config path in the ``sam2`` package).
        checkpoint: a local ``.pt`` (see `SAM2_CHECKPOINT_URLS`); ``None`` builds random weights
            (tests only; warns with `RandomWeightsWarning`).
        device: default ``"cuda"`` if available else ``"cpu"``.
        image_size: SAM2's input resolution (1024 in the configs; ``256`` makes CPU tests fast).
        track: ``"per_box"`` (each box its own object, as in the paper's appendix B) or
            ``"per_rank"`` (the k-th box of every keyframe is the same object k; only sensible
            when boxes come in a consistent order, e.g. matched to ground truth).
        offload_video_to_cpu: keep the decoded frames in CPU memory (saves GPU memory).
        cache_features: keep the image-encoder features of up to this many frames of the current
            clip, so that repeated calls on one clip (a GRPO group's rollouts, a ReVOS video's
            expressions in evaluation) encode each frame once; the masks are the same. ``0``
            keeps SAM2's own one-frame cache. Memory (position encodings shared, see
            `feature_cache_bytes`): ≈ 17 MB per frame at 1024 px in float32, half in bf16.
        progress: show SAM2's tqdm bars (off by default: one bar per call clutters notebooks).
        predictor: an already built ``SAM2VideoPredictor`` (skips building).

    The most recent clip's inference state (its decoded frames) is kept and reset between calls,
    so calling ``segment`` repeatedly on one clip decodes its JPEGs once.
    """

    def __init__(
        self,
        config: str = "sam2.1_hiera_t",
        checkpoint: str | os.PathLike | None = None,
        device: Any = None,
        image_size: int | None = None,
        track: str = "per_box",
        offload_video_to_cpu: bool = True,
        cache_features: int = 0,
        progress: bool = False,
        predictor: Any = None,
    ):
        if track not in ("per_box", "per_rank"):
            raise ValueError(f"track must be 'per_box' or 'per_rank', got {track!r}")
        self.config = resolve_sam2_config(config)
        self.checkpoint = str(checkpoint) if checkpoint is not None else None
        self.device = device
        self.image_size = image_size
        self.track = track
        self.offload_video_to_cpu = offload_video_to_cpu
        self.cache_features = int(cache_features)
        self.progress = progress
        self._predictor = predictor
        self._cpu_fix = False
        self._state_key: tuple[Any, ...] | None = None
        self._state: Any = None

    @property
    def predictor(self) -> Any:
        """The ``SAM2VideoPredictor``, built on first use."""
        if self._predictor is None:
            from sam2.build_sam import build_sam2_video_predictor

            from omni_r1_lite.models import resolve_device

            self.device = resolve_device(self.device)
            overrides = [f"++model.image_size={int(self.image_size)}"] if self.image_size else []
            if self.checkpoint is None:
                warnings.warn(
                    "SAM2 built without a checkpoint: random weights", RandomWeightsWarning, stacklevel=2
                )
            self._predictor = build_sam2_video_predictor(
                self.config,
                ckpt_path=self.checkpoint,
                device=self.device,
                mode="eval",
                hydra_overrides_extra=overrides,
                apply_postprocessing=False,
            )
        if not self._cpu_fix and not str(self._predictor.device).startswith("cuda"):
            # The video predictor stores memories in bf16 (hard-coded); on CUDA autocast absorbs
            # it, on CPU the float32 memory attention would fail on a bf16-only memory bank.
            self._predictor.memory_attention.register_forward_pre_hook(
                _memory_to_query_dtype, with_kwargs=True
            )
            self._cpu_fix = True
        if self.cache_features > 0 and not getattr(self._predictor, "_omni_r1_lite_feature_cache", False):
            _install_feature_cache(self._predictor, self.cache_features)
        return self._predictor

    def feature_cache_frames(self) -> int:
        """Frames of the current clip whose encoder features are kept (``cache_features``)."""
        store = (self._state or {}).get(FEATURE_STORE)
        return len(store["frames"]) if store else 0

    def feature_cache_bytes(self, shared: bool = True) -> int:
        """Bytes of the kept encoder features of the current clip (``shared=False``: without the
        position encodings, stored once for all its frames)."""
        return _feature_bytes((self._state or {}).get(FEATURE_STORE), shared)

    def _autocast(self) -> Any:
        import torch

        if str(self.predictor.device).startswith("cuda"):
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _inference_state(self, sample: Sample, frames: Sequence[int] | None) -> Any:
        key = (
            str(Path(sample.frame_dir).resolve()),
            tuple(sample.frame_names),
            None if frames is None else tuple(frames),
        )
        if self._state_key == key and self._state is not None:
            self.predictor.reset_state(self._state)
            return self._state
        self._state = self._state_key = None
        with _sam2_video_dir(sample, frames) as folder:
            state = self.predictor.init_state(
                video_path=folder, offload_video_to_cpu=self.offload_video_to_cpu
            )
        self._state, self._state_key = state, key
        return state

    def _object_prompts(self, prompts: Mapping[int, Boxes], local: Mapping[int, int], hw: tuple[int, int]):
        """``[(obj_id, local_frame, box)]`` and the object ids in order."""
        items: list[tuple[int, int, np.ndarray]] = []
        for frame in sorted(int(f) for f in prompts):
            if frame not in local:
                raise ValueError(f"prompt frame {frame} is not among the frames to segment")
            boxes = clip_boxes(prompts[frame], *hw)
            for rank, box in enumerate(boxes):
                obj_id = len(items) + 1 if self.track == "per_box" else rank + 1
                items.append((obj_id, local[frame], box))
        obj_ids = sorted({o for o, _, _ in items})
        return items, obj_ids

    def _run(
        self, sample: Sample, prompts: Mapping[int, Boxes], frames: Sequence[int] | None
    ) -> tuple[list[int], Iterator[tuple[int, np.ndarray]], tuple[int, int, int]]:
        height, width = _frame_size(sample)
        order = list(range(sample.num_frames)) if frames is None else [int(f) for f in frames]
        local = {f: i for i, f in enumerate(order)}
        items, obj_ids = self._object_prompts(prompts, local, (height, width))
        shape = (len(order), height, width)
        if not items:
            return [], iter(()), shape

        def generate() -> Iterator[tuple[int, np.ndarray]]:
            import torch

            predictor = self.predictor
            with torch.inference_mode(), self._autocast(), _sam2_progress(self.progress):
                state = self._inference_state(sample, frames)
                for obj_id, frame, box in items:
                    predictor.add_new_points_or_box(state, frame_idx=frame, obj_id=obj_id, box=box)
                start = min(frame for _, frame, _ in items)
                passes = [dict(start_frame_idx=start)]
                if start > 0:
                    passes.append(dict(start_frame_idx=start, reverse=True))
                for kw in passes:
                    for frame_idx, ids, logits in predictor.propagate_in_video(state, **kw):
                        pos = [obj_ids.index(i) for i in ids]
                        masks = np.zeros((len(obj_ids), height, width), dtype=bool)
                        masks[pos] = (logits[:, 0] > 0).cpu().numpy()
                        yield int(frame_idx), masks

        return obj_ids, generate(), shape

    def segment(
        self, sample: Sample, prompts: Mapping[int, Boxes], frames: Sequence[int] | None = None
    ) -> np.ndarray:
        """Union masks ``bool[T, H, W]`` for every clip frame (or for ``frames``, in that order).

        ``prompts`` maps clip frame indices (which must be among ``frames`` when given) to
        ``float32[N, 4]`` boxes in original pixels; boxes are clipped to the frame and empty ones
        dropped. Frames where nothing is tracked stay ``False``.
        """
        _, stream, shape = self._run(sample, prompts, frames)
        out = np.zeros(shape, dtype=bool)
        for frame, masks in stream:
            out[frame] = masks.any(axis=0)
        return out

    def segment_tracks(
        self, sample: Sample, prompts: Mapping[int, Boxes], frames: Sequence[int] | None = None
    ) -> tuple[list[int], np.ndarray]:
        """Per-object masks: ``(object ids, bool[O, T, H, W])`` (``O = 0`` without boxes).

        With ``track="per_box"`` object ``k`` (1-based) is the ``k``-th box in (frame, box) order.
        """
        obj_ids, stream, shape = self._run(sample, prompts, frames)
        out = np.zeros((len(obj_ids), *shape), dtype=bool)
        for frame, masks in stream:
            out[:, frame] = masks
        return obj_ids, out
