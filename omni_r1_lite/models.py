"""Loading Qwen2.5-Omni thinkers (real checkpoints) and building tiny offline ones for CPUs.

One code path for both worlds: `load_thinker` loads ``Qwen/Qwen2.5-Omni-3B``/``-7B``, the released
Omni-R1 weights, or a folder written by `build_tiny_thinker`, always through
``Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained`` + ``Qwen2_5OmniProcessor``. Nothing
is downloaded here unless a hub id is asked for on a networked machine.

The tiny thinker (random weights, 0.2–1 M parameters) has the real architecture and processor
classes, a byte-level BPE tokenizer trained offline on the task's own text (prompts, JSON moments,
timestamps), Qwen2.5-Omni's special tokens, and low pixel budgets for ~112 px frames.

The registry knows the real checkpoints without touching the network:

>>> get_model_spec("omni-r1").hf_id
'Haoz0206/Omni-R1'
>>> get_model_spec("Qwen/Qwen2.5-Omni-3B").key
'qwen2.5-omni-3b'

Importing this module is cheap; torch, transformers and tokenizers are imported inside functions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

# ----------------------------------------------------------------------------- registry


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A known System-1 checkpoint (no download needed to plan memory or compute).

    Attributes:
        key: short name used in presets.
        hf_id: Hugging Face repository id.
        params_b: parameters of the *thinker* in billions (LLM + vision + audio towers), from
            the published configs (counted on the meta device, see ``tests/test_models.py``).
        llm_params_b: the language model alone, in billions (what LoRA and the KV cache scale with).
        default_dtype: dtype on a GPU.
        processor_id: where the processor comes from (the Omni-R1 checkpoint ships none).
        thinker_only: the checkpoint holds only the thinker (else the full Omni model, whose
            talker / token2wav weights are skipped by the thinker class).
    """

    key: str
    hf_id: str
    params_b: float
    llm_params_b: float
    default_dtype: str = "bfloat16"
    processor_id: str | None = None
    thinker_only: bool = False
    notes: str = ""


MODEL_REGISTRY: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        ModelSpec("qwen2.5-omni-3b", "Qwen/Qwen2.5-Omni-3B", 4.70, 3.40, notes="3B alternative (paper: 7B)"),
        ModelSpec("qwen2.5-omni-7b", "Qwen/Qwen2.5-Omni-7B", 8.93, 7.62, notes="the paper's base model"),
        ModelSpec(
            "omni-r1",
            "Haoz0206/Omni-R1",
            8.93,
            7.62,
            processor_id="Qwen/Qwen2.5-Omni-7B",
            thinker_only=True,
            notes="released Omni-R1 weights (thinker only; processor from the base model)",
        ),
    )
}
"""Known real checkpoints. Parameter counts are approximate (±2 %)."""


def get_model_spec(name_or_path: str | os.PathLike) -> ModelSpec | None:
    """The registry entry for a key or hub id (case-insensitive), else ``None`` (e.g. a local folder)."""
    name = str(name_or_path).strip().lower()
    for spec in MODEL_REGISTRY.values():
        if name in (spec.key, spec.hf_id.lower()):
            return spec
    return None


# ----------------------------------------------------------------------------- pixel budgets

PIXEL_BUDGETS: dict[str, dict[str, tuple[int, int]]] = {
    "paper": {"video": (16 * 28 * 28, 128 * 28 * 28), "image": (64 * 28 * 28, 900 * 28 * 28)},
    "tiny": {"video": (56 * 56, 112 * 112), "image": (56 * 56, 224 * 224)},
}
"""``(min_pixels, max_pixels)`` per frame: System-1 video frames and System-2 keyframe images.

``paper``: 128·28·28 px per low-res frame for System 1 and 900·28·28 px keyframes for System 2.
``tiny``: a 112 px frame stays 112 px (4×4 merged patches = 16 tokens per pair of frames).
"""


def processor_kwargs(
    processor: Any,
    kind: str,
    max_pixels: int | None = None,
    min_pixels: int | None = None,
    fps: float = 2.0,
) -> dict[str, dict[str, Any]]:
    """Keyword arguments for ``processor(...)`` that pin the per-frame pixel budget.

    ``Qwen2_5OmniProcessor`` merges its class default ``videos_kwargs`` (≥ 128·28·28 px per frame)
    over the video processor's own settings, so a 112 px clip would be upscaled 3× unless the size
    is passed on every call. ``kind`` is ``"video"`` or ``"image"``; budgets default to the
    sub-processor's own saved ``size`` (what the checkpoint was built with). ``fps`` is the
    virtual timeline's rate (it sets ``video_second_per_grid``); frames are never re-sampled.

    Returns ``{"videos_kwargs": {...}}`` or ``{"images_kwargs": {...}}``; splat it into the call.
    """
    if kind not in ("video", "image"):
        raise ValueError(f"kind must be 'video' or 'image', got {kind!r}")
    sub = processor.video_processor if kind == "video" else processor.image_processor
    size = getattr(sub, "size", None) or {}
    get = size.get if isinstance(size, Mapping) else (lambda k, d=None: getattr(size, k, d))
    hi = int(max_pixels if max_pixels is not None else get("longest_edge", None) or 128 * 28 * 28)
    lo = int(min_pixels if min_pixels is not None else get("shortest_edge", None) or 56 * 56)
    lo = min(lo, hi)
    out: dict[str, Any] = {"size": {"shortest_edge": lo, "longest_edge": hi}}
    if kind == "video":
        out["fps"] = float(fps)
        out["do_sample_frames"] = False  # the kit passes the frames it sampled itself
        # qwen-vl-utils' per-frame cap (what Omni-R1's frames went through); the real checkpoints ship
        # no video processor config, so without it transformers warns on every call (measured: no
        # token count changes for <= 24 frames)
        out["cap_pixels_per_frame"] = True
        return {"videos_kwargs": out}
    return {"images_kwargs": out}


def prepare_inputs(
    processor: Any,
    messages: Sequence[Mapping[str, Any]] | Sequence[Sequence[Mapping[str, Any]]],
    *,
    videos: Sequence[Any] | None = None,
    images: Sequence[Any] | None = None,
    audio: Sequence[Any] | None = None,
    video_pixels: tuple[int, int] | None = None,
    image_pixels: tuple[int, int] | None = None,
    add_generation_prompt: bool = True,
    fps: float = 2.0,
) -> Any:
    """Render chat ``messages`` with the processor's template and encode them with their media.

    ``messages`` is one conversation or a list of them (a batch, left-padded). Media are passed
    separately, in order of appearance over the whole batch: ``videos`` as ``uint8[T, H, W, 3]``
    arrays (or lists of frames), ``images`` as PIL images or ``uint8[H, W, 3]``, ``audio`` as
    ``float32[S]`` at 16 kHz. ``video_pixels``/``image_pixels`` are ``(min, max)`` per frame
    (default: the sub-processor's saved size). Returns a ``BatchFeature`` of torch tensors.
    """
    convs = [messages] if messages and isinstance(messages[0], Mapping) else messages
    texts = [
        processor.apply_chat_template(list(c), add_generation_prompt=add_generation_prompt, tokenize=False)
        for c in convs
    ]
    kwargs: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True}
    if videos:
        kwargs["videos"] = list(videos)
        lo, hi = video_pixels or (None, None)
        kwargs.update(processor_kwargs(processor, "video", max_pixels=hi, min_pixels=lo, fps=fps))
    if images:
        kwargs["images"] = list(images)
        lo, hi = image_pixels or (None, None)
        kwargs.update(processor_kwargs(processor, "image", max_pixels=hi, min_pixels=lo))
    if audio:
        kwargs["audio"] = list(audio)
    return processor(**kwargs)


# ----------------------------------------------------------------------------- devices and dtypes


def resolve_device(device: Any = None) -> str:
    """``"cuda"`` when available and not asked otherwise, else ``"cpu"``."""
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def resolve_dtype(device: Any, dtype: Any = None) -> Any:
    """bf16 on a GPU that supports it, else fp16 on GPU; float32 on CPU. Strings (``"bfloat16"``,
    ``"auto"`` = the checkpoint's own) are accepted."""
    import torch

    if isinstance(dtype, str):
        return dtype if dtype == "auto" else getattr(torch, dtype)
    if dtype is not None:
        return dtype
    if str(device).startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def resolve_attn_implementation(device: Any, attn_implementation: str | None = None) -> str:
    """``flash_attention_2`` on a GPU when ``flash_attn`` is importable, else ``sdpa``."""
    if attn_implementation is not None:
        return attn_implementation
    if str(device).startswith("cuda") and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _has_processor_files(path: Path) -> bool:
    names = ("preprocessor_config.json", "processor_config.json", "video_preprocessor_config.json")
    return (
        path.is_dir()
        and any((path / n).exists() for n in names)
        and (path / "tokenizer_config.json").exists()
    )


def load_thinker(
    name_or_path: str | os.PathLike,
    device: Any = None,
    dtype: Any = None,
    attn_implementation: str | None = None,
    freeze_encoders: bool = True,
    local_files_only: bool | None = None,
    processor_name_or_path: str | os.PathLike | None = None,
    **model_kwargs: Any,
) -> tuple[Any, Any]:
    """Load a Qwen2.5-Omni thinker and its processor: ``(model, processor)``, model in eval mode.

    Args:
        name_or_path: a registry key (``"qwen2.5-omni-7b"``, ``"omni-r1"``…), a hub id, or a local
            folder (e.g. from `build_tiny_thinker`). A full Omni checkpoint loads its thinker only.
        device: default ``"cuda"`` if available else ``"cpu"``.
        dtype: default bf16 (fp16 without bf16 support) on GPU, float32 on CPU.
        attn_implementation: default ``"flash_attention_2"`` on GPU when ``flash_attn`` is
            importable, else ``"sdpa"``.
        freeze_encoders: freeze the vision and audio towers (the paper trains the LLM only).
        local_files_only: default: true when ``HF_HUB_OFFLINE`` is set.
        processor_name_or_path: where the processor lives; default: the folder itself when it has
            processor files, else the registry's ``processor_id``, else ``name_or_path``.
        model_kwargs: passed to ``from_pretrained``.
    """
    from transformers import Qwen2_5OmniProcessor, Qwen2_5OmniThinkerForConditionalGeneration

    spec = get_model_spec(name_or_path)
    source = spec.hf_id if spec is not None else str(name_or_path)
    if processor_name_or_path is None:
        if _has_processor_files(Path(source)):
            processor_name_or_path = source
        elif spec is not None and spec.processor_id:
            processor_name_or_path = spec.processor_id
        else:
            processor_name_or_path = source
    if local_files_only is None:
        local_files_only = _offline()
    device = resolve_device(device)
    torch_dtype = resolve_dtype(device, dtype)
    attn = resolve_attn_implementation(device, attn_implementation)
    if device.startswith("cuda"):
        model_kwargs.setdefault("device_map", device)  # load straight onto the GPU
    model = Qwen2_5OmniThinkerForConditionalGeneration.from_pretrained(
        source, dtype=torch_dtype, attn_implementation=attn, local_files_only=local_files_only, **model_kwargs
    )
    if "device_map" not in model_kwargs:
        model.to(device)
    model.eval()
    if freeze_encoders:
        _freeze_towers(model)
    processor = Qwen2_5OmniProcessor.from_pretrained(
        str(processor_name_or_path), local_files_only=local_files_only
    )
    return model, processor


# ----------------------------------------------------------------------------- encoders, adapters

ENCODER_MODULE_NAMES = ("visual", "audio_tower")
"""Names of the vision and audio towers (``model.model.visual`` in transformers 5.x, ``model.visual``
in 4.5x; under PEFT one or two ``base_model.model`` levels are added)."""


def encoder_parameter_names(model: Any) -> list[str]:
    """Names of the parameters that belong to the vision or audio tower, at any nesting depth."""
    return [
        name
        for name, _ in model.named_parameters()
        if any(p in ENCODER_MODULE_NAMES for p in name.split("."))
    ]


def freeze_encoders(model: Any) -> int:
    """Freeze the vision and audio towers in place; returns the number of parameters frozen.

    Raises ``ValueError`` when the model has no such tower (it is then not a Qwen-Omni thinker).
    """
    names = set(encoder_parameter_names(model))
    if not names:
        raise ValueError("no 'visual' or 'audio_tower' parameters found: is this a Qwen2.5-Omni thinker?")
    frozen = 0
    for name, param in model.named_parameters():
        if name in names:
            param.requires_grad_(False)
            frozen += param.numel()
    return frozen


_freeze_towers = freeze_encoders  # load_thinker's argument of the same name shadows the function


LORA_TARGETS = {
    "attention": ("q_proj", "k_proj", "v_proj", "o_proj"),
    "all-linear": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
}


def lora_target_regex(modules: str | Sequence[str] = "all-linear") -> str:
    """``peft.LoraConfig(target_modules=...)`` regex for the *language model's* linear layers only.

    Plain names such as ``["q_proj", "v_proj"]`` would also put adapters on the audio tower,
    whose attention layers have the same names.

    >>> import re
    >>> rx = lora_target_regex(["q_proj", "v_proj"])
    >>> bool(re.fullmatch(rx, "model.language_model.layers.0.self_attn.q_proj"))
    True
    >>> bool(re.fullmatch(rx, "model.audio_tower.layers.0.self_attn.q_proj"))
    False
    """
    names = LORA_TARGETS[modules] if isinstance(modules, str) else tuple(modules)
    return r"(?:.*\.)?language_model\.layers\.\d+\.(?:self_attn|mlp)\.(?:" + "|".join(names) + ")"


def count_parameters(model: Any) -> dict[str, int]:
    """``{"total", "trainable", "encoders"}`` parameter counts."""
    enc = set(encoder_parameter_names(model))
    total = trainable = encoders = 0
    for name, p in model.named_parameters():
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
        encoders += p.numel() if name in enc else 0
    return {"total": total, "trainable": trainable, "encoders": encoders}


@contextlib.contextmanager
def adapters_disabled(model: Any) -> Iterator[Any]:
    """Run ``model`` as its base weights: LoRA adapters off inside the block, restored after.

    A ``peft.PeftModel`` uses its ``disable_adapter()`` context; a transformers model with
    adapters attached through ``add_adapter`` uses ``disable_adapters()``/``enable_adapters()``;
    a bare model into which peft injected LoRA layers (the module a ``PeftModel`` wraps) has each
    layer switched off; any other model is used as is. This is the paper's frozen reference and
    System-2 grounder.
    """
    if hasattr(model, "disable_adapter") and hasattr(model, "peft_config") and hasattr(model, "base_model"):
        with model.disable_adapter():
            yield model
        return
    if getattr(model, "_hf_peft_config_loaded", False) and hasattr(model, "disable_adapters"):
        model.disable_adapters()
        try:
            yield model
        finally:
            model.enable_adapters()
        return
    # The bare module under a PeftModel: ``get_peft_model(model)`` injects LoRA layers into
    # ``model`` itself, so a reference kept from before (System 2's grounder, built before GRPO
    # adds its adapters) would otherwise run with the policy's adapters on.
    layers = _tuner_layers(model)
    saved = [layer._disable_adapters for layer in layers]
    for layer in layers:
        layer._disable_adapters = True
    try:
        yield model
    finally:
        for layer, was in zip(layers, saved):
            layer._disable_adapters = was


def _tuner_layers(model: Any) -> list[Any]:
    """PEFT adapter layers (``BaseTunerLayer``) inside ``model``; none when peft is not imported."""
    import sys

    if "peft" not in sys.modules or not hasattr(model, "modules"):
        return []
    from peft.tuners.tuners_utils import BaseTunerLayer

    return [m for m in model.modules() if isinstance(m, BaseTunerLayer)]


# ----------------------------------------------------------------------------- special tokens

SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|AUDIO|>",
    "<|audio_bos|>",
    "<|audio_eos|>",
    "<|IMAGE|>",
    "<|VIDEO|>",
    "<|vision_bos|>",
    "<|vision_eos|>",
    "<|vision_pad|>",
)
"""Qwen2.5-Omni's special tokens that the tiny tokenizer carries (ids 0–10, in this order)."""

NAMED_SPECIAL_TOKENS = {
    "image_token": "<|IMAGE|>",
    "audio_token": "<|AUDIO|>",
    "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
}
"""Named extra special tokens: ``Qwen2_5OmniProcessor`` reads ``tokenizer.image_token`` etc."""

REASONING_TAGS = ("<think>", "</think>", "<answer>", "</answer>")
"""Single (non-special) tokens in the tiny tokenizer; kept when decoding with skip_special_tokens."""


def suppress_token_ids(tokenizer: Any) -> list[int]:
    """Ids a policy must never sample: every ``<|…|>`` special token except ``<|im_end|>``.

    Pass as ``generate(..., suppress_tokens=ids)`` (or mask logits with them) so that a random
    tiny policy cannot emit media placeholders or chat markers.
    """
    vocab = tokenizer.get_vocab()
    keep = tokenizer.convert_tokens_to_ids("<|im_end|>")
    ids = {i for tok, i in vocab.items() if tok.startswith("<|") and tok.endswith("|>")}
    ids.discard(keep)
    return sorted(ids)


# ----------------------------------------------------------------------------- tiny tokenizer

PRETOKENIZE_PATTERN = (
    r"""[A-Za-z_][A-Za-z0-9_]*"\s*:\s*"?"""  # a JSON key with its colon and the value's opening quote
    r"""|\d+:\d+(?:\.\d+)?"""  # a timestamp mm:ss.ff
    r"""|\d+(?:\.\d+)?"""  # a number
    r"""| ?\p{L}+"""  # a word with its leading space
    r"""| ?[^\w\s]+(?:\s+[^\w\s]+)*"""  # a run of punctuation (inner spaces, never the next word's)
    r"""|\s+"""
)
"""The tiny tokenizer's pre-tokenizer. Unlike Qwen2's (one token per digit), it keeps timestamps,
numbers, JSON keys and punctuation runs whole, so BPE can learn ``00:01.50`` or ``", "`` as single
tokens and a 4-moment answer costs ~60 tokens instead of ~150.

A punctuation run never takes the space after it: that space belongs to the next word, so a word
is the same token wherever it stands (``f2: red``, ``| red`` and ``the red`` all give ``Ġred``).
Letting ``": "`` swallow the space made the perception track's colours different tokens from the
answer's, and the tiny policy then copied shapes but guessed colours.

>>> import regex
>>> regex.findall(PRETOKENIZE_PATTERN, 'f2: red square | green circle')
['f', '2', ':', ' red', ' square', ' |', ' green', ' circle']
"""

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'text' -%}{{- part['text'] -}}"
    "{%- elif part['type'] == 'image' -%}{{- '<|vision_bos|><|IMAGE|><|vision_eos|>' -}}"
    "{%- elif part['type'] == 'video' -%}{{- '<|vision_bos|><|VIDEO|><|vision_eos|>' -}}"
    "{%- elif part['type'] == 'audio' -%}{{- '<|audio_bos|><|AUDIO|><|audio_eos|>' -}}"
    "{%- endif -%}{%- endfor -%}{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
"""Qwen-style chat template for the tiny processor: text / image / video / audio content parts,
no default system prompt (Omni-R1 sends one user turn)."""


def timeline_tokens() -> list[str]:
    """The timestamps of the virtual timeline (``00:00.00`` … ``00:11.50``), one token each in the
    tiny tokenizer: choosing a keyframe is then one token, as the frame number was in the CPU
    calibration, instead of a digit sequence the tiny model must learn to spell."""
    from omni_r1_lite.systems.prompts import MAX_FRAMES, index_to_timestamp

    return [index_to_timestamp(i) for i in range(MAX_FRAMES)]


def build_tiny_tokenizer(corpus: Iterable[str], vocab_size: int = 512) -> Any:
    """A byte-level BPE tokenizer trained offline on ``corpus`` (deterministic).

    Carries `SPECIAL_TOKENS` (ids 0–10), `REASONING_TAGS` and the `timeline_tokens` as single
    (non-special) tokens, named extra special tokens for the processor, ``eos = <|im_end|>``,
    ``pad = <|endoftext|>`` and `CHAT_TEMPLATE`.
    It is a ``TokenizersBackend`` (transformers' generic fast tokenizer) rather than a
    ``Qwen2Tokenizer``: the latter re-imposes Qwen2's digit-by-digit pre-tokenizer when reloaded,
    which would make answers ~2.5× longer (see `PRETOKENIZE_PATTERN`).
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )
    from transformers import TokenizersBackend

    texts = [t for t in corpus if isinstance(t, str) and t]
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    tok.add_tokens(
        [AddedToken(t, special=False, normalized=False) for t in (*REASONING_TAGS, *timeline_tokens())]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    tokenizer = TokenizersBackend(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        bos_token=None,
        extra_special_tokens=dict(NAMED_SPECIAL_TOKENS),
        model_max_length=32768,
        padding_side="left",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_processor(tokenizer: Any, budgets: Mapping[str, tuple[int, int]] | None = None) -> Any:
    """``Qwen2_5OmniProcessor`` with Qwen2-VL image/video processors at the ``tiny`` pixel budgets
    and a 128-bin ``WhisperFeatureExtractor`` (16 kHz), around ``tokenizer``."""
    from transformers import Qwen2_5OmniProcessor, Qwen2VLImageProcessor, WhisperFeatureExtractor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    budgets = dict(budgets or PIXEL_BUDGETS["tiny"])
    common = dict(patch_size=14, merge_size=2, temporal_patch_size=2)
    img_lo, img_hi = budgets["image"]
    vid_lo, vid_hi = budgets["video"]
    return Qwen2_5OmniProcessor(
        image_processor=Qwen2VLImageProcessor(min_pixels=img_lo, max_pixels=img_hi, **common),
        video_processor=Qwen2VLVideoProcessor(
            min_pixels=vid_lo, max_pixels=vid_hi, cap_pixels_per_frame=True, do_sample_frames=False, **common
        ),
        feature_extractor=WhisperFeatureExtractor(feature_size=TINY_AUDIO_MEL_BINS, sampling_rate=16000),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )


# ----------------------------------------------------------------------------- tiny model


@dataclasses.dataclass(frozen=True)
class TinySize:
    """Widths of a tiny thinker. ``vocab_size`` is the BPE target (the trainer may stop earlier)."""

    text_hidden: int
    text_layers: int
    text_ffn: int
    vision_hidden: int
    vision_depth: int
    vision_ffn: int
    audio_hidden: int
    audio_layers: int
    audio_ffn: int
    vocab_size: int
    heads: int = 4
    kv_heads: int = 2


TINY_SIZES: dict[str, TinySize] = {
    "xs": TinySize(64, 2, 128, 32, 2, 64, 32, 2, 64, vocab_size=512),
    "s": TinySize(128, 4, 256, 64, 2, 128, 32, 2, 64, vocab_size=1024),
}
"""Tiny presets: ``xs`` ≈ 0.24 M parameters, ``s`` ≈ 1 M (see the measured counts in the tests)."""

TINY_AUDIO_MEL_BINS = 128
TINY_METADATA = "omni_r1_lite.json"
"""File written next to the weights by `build_tiny_thinker` (size, seed, corpus hash, budgets)."""


def mrope_section(head_dim: int) -> list[int]:
    """Split of the rotary half-dimension into (time, height, width), Qwen2.5's 1 : 1.5 : 1.5 ratio.

    >>> mrope_section(16), mrope_section(32), mrope_section(128)
    ([2, 3, 3], [4, 6, 6], [16, 24, 24])
    """
    half = head_dim // 2
    t = half // 4
    h = (half - t) // 2
    return [t, h, half - t - h]


def tiny_thinker_config(tokenizer: Any, size: str | TinySize = "xs") -> Any:
    """``Qwen2_5OmniThinkerConfig`` of a tiny preset with every token id taken from ``tokenizer``."""
    from transformers import Qwen2_5OmniThinkerConfig

    sz = TINY_SIZES[size] if isinstance(size, str) else size
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    head_dim = sz.text_hidden // sz.heads
    return Qwen2_5OmniThinkerConfig(
        vision_config=dict(
            depth=sz.vision_depth,
            hidden_size=sz.vision_hidden,
            intermediate_size=sz.vision_ffn,
            num_heads=4,
            patch_size=14,
            spatial_merge_size=2,
            temporal_patch_size=2,
            window_size=112,
            out_hidden_size=sz.text_hidden,
            fullatt_block_indexes=[sz.vision_depth - 1],
        ),
        audio_config=dict(
            d_model=sz.audio_hidden,
            encoder_attention_heads=4,
            encoder_ffn_dim=sz.audio_ffn,
            encoder_layers=sz.audio_layers,
            num_mel_bins=TINY_AUDIO_MEL_BINS,
            max_source_positions=1500,
            n_window=100,
            output_dim=sz.text_hidden,
        ),
        text_config=dict(
            vocab_size=len(tokenizer),
            hidden_size=sz.text_hidden,
            intermediate_size=sz.text_ffn,
            num_hidden_layers=sz.text_layers,
            num_attention_heads=sz.heads,
            num_key_value_heads=sz.kv_heads,
            max_position_embeddings=8192,
            tie_word_embeddings=False,
            rope_parameters={
                "rope_type": "default",
                "rope_theta": 1e6,
                "mrope_section": mrope_section(head_dim),
            },
            pad_token_id=ids["<|endoftext|>"],
            eos_token_id=ids["<|im_end|>"],
            bos_token_id=None,
        ),
        audio_token_index=ids["<|AUDIO|>"],
        image_token_index=ids["<|IMAGE|>"],
        video_token_index=ids["<|VIDEO|>"],
        audio_start_token_id=ids["<|audio_bos|>"],
        audio_end_token_id=ids["<|audio_eos|>"],
        vision_start_token_id=ids["<|vision_bos|>"],
        vision_end_token_id=ids["<|vision_eos|>"],
        user_token_id=ids["<|im_start|>"],
    )


def build_tiny_thinker(
    out_dir: str | os.PathLike,
    corpus: Iterable[str],
    size: str = "xs",
    seed: int = 0,
    vocab_size: int | None = None,
) -> Path:
    """Build and save a random-init tiny thinker + processor into ``out_dir``; returns its path.

    The tokenizer is trained on ``corpus`` plus `omni_r1_lite.systems.prompts.tokenizer_corpus`
    (the prompt templates and canonical answers), so task text is short. Deterministic: the same
    corpus, size, seed and vocab_size give identical weights and tokenizer files. Load it back with
    ``load_thinker(out_dir)`` (offline).
    """
    import torch
    from transformers import GenerationConfig, Qwen2_5OmniThinkerForConditionalGeneration

    from omni_r1_lite.systems.prompts import tokenizer_corpus

    if size not in TINY_SIZES:
        raise ValueError(f"size must be one of {sorted(TINY_SIZES)}, got {size!r}")
    sz = TINY_SIZES[size]
    texts = [t for t in corpus if isinstance(t, str)] + tokenizer_corpus(seed=0)
    tokenizer = build_tiny_tokenizer(texts, vocab_size=vocab_size or sz.vocab_size)
    processor = build_tiny_processor(tokenizer)
    config = tiny_thinker_config(tokenizer, sz)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2_5OmniThinkerForConditionalGeneration(config).eval()
    im_end, pad = (
        tokenizer.convert_tokens_to_ids("<|im_end|>"),
        tokenizer.convert_tokens_to_ids("<|endoftext|>"),
    )
    model.generation_config = GenerationConfig(eos_token_id=im_end, pad_token_id=pad, do_sample=False)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()
    meta = {
        "kind": "omni_r1_lite tiny thinker",
        "size": size,
        "seed": seed,
        "vocab_size": len(tokenizer),
        "corpus_sha256": digest,
        "pixel_budgets": {k: list(v) for k, v in PIXEL_BUDGETS["tiny"].items()},
        "num_parameters": int(sum(p.numel() for p in model.parameters())),
    }
    (out / TINY_METADATA).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return out


def pixel_budgets(name_or_path: str | os.PathLike) -> dict[str, tuple[int, int]]:
    """The ``{"video": (min, max), "image": (min, max)}`` budgets a model was built for.

    A tiny folder records its own; every real checkpoint gets the paper's.
    """
    meta = Path(name_or_path) / TINY_METADATA
    if meta.is_file():
        data = json.loads(meta.read_text())
        return {k: (int(v[0]), int(v[1])) for k, v in data["pixel_budgets"].items()}
    return dict(PIXEL_BUDGETS["paper"])
