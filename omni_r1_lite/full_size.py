"""Qwen2.5-Omni thinkers at their published sizes with random weights: no download, real shapes.

`thinker_config` gives ``Qwen2_5OmniThinkerConfig`` of the 3B or the 7B thinker with the
published dimensions and token ids (optionally with fewer layers: same widths and vocabulary,
for quick rehearsals), `meta_thinker` builds it on the meta device (no memory: shapes and
parameter counts), `random_thinker` materialises it on a device in a dtype, and
`save_released_layout` writes a thinker the way the released Omni-R1 weights are stored.

Published dimensions (the checkpoints' ``config.json``; transformers' ``Qwen2_5OmniThinkerConfig``
defaults are the 7B's):

======  ======  ======  =====  ==  =====  ========  =============================================
model   hidden  layers  heads  kv  MLP    vocab     vision / audio towers
======  ======  ======  =====  ==  =====  ========  =============================================
3B      2048    36      16     2   11008  151936    ViT 32 × 1280 (MLP 3420), Whisper 32 × 1280
7B      3584    28      28     4   18944  152064    the same towers, projected to 3584
======  ======  ======  =====  ==  =====  ========  =============================================

What fits here (2 CPU cores, 24 GB): the 3B thinker in bf16 is 9.4 GB (4.70 B parameters) and
trains with LoRA in about 13 GB; the 7B is 17.9 GB of bf16 weights alone (8.93 B), which leaves too
little of 24 GB for SAM2, activations, LoRA + AdamW and the processes around it, so it is built on
the meta device only (shapes and counts checked against the registry) and rehearsed with fewer
layers at its real width and vocabulary.

>>> cfg = thinker_config("qwen2.5-omni-3b")
>>> cfg.text_config.hidden_size, cfg.text_config.num_hidden_layers, cfg.video_token_index
(2048, 36, 151656)
>>> thinker_config("qwen2.5-omni-7b", text_layers=2).text_config.num_hidden_layers
2
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

PUBLISHED_TEXT: dict[str, dict[str, int]] = {
    "qwen2.5-omni-3b": dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36, num_attention_heads=16,
                            num_key_value_heads=2, vocab_size=151936),
    "qwen2.5-omni-7b": dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                            num_key_value_heads=4, vocab_size=152064),
}
"""The language models' published sizes (3B: Qwen/Qwen2.5-Omni-3B; 7B: Qwen/Qwen2.5-Omni-7B)."""

TOKEN_IDS = dict(audio_token_index=151646, image_token_index=151655, video_token_index=151656,
                 audio_start_token_id=151647, audio_end_token_id=151648, vision_start_token_id=151652,
                 vision_end_token_id=151653, user_token_id=872)
"""The thinkers' token ids (= `omni_r1_lite.offline_processor.SPECIAL_TOKENS`; ``user`` is a word: 872).
``vision_start/end_token_id`` are not ``Qwen2_5OmniThinkerConfig`` defaults, yet its ``get_rope_index``
reads them: the checkpoints' ``config.json`` carries them, and so must any config built here."""

PAD_ID, EOS_ID = 151643, 151645


def model_key(name: str) -> str:
    """``"qwen2.5-omni-3b"`` or ``"qwen2.5-omni-7b"`` for a registry key, a hub id or a preset's model."""
    from omni_r1_lite.models import get_model_spec

    spec = get_model_spec(name)
    key = (spec.key if spec is not None else str(name)).lower()
    if key == "omni-r1" or "7b" in key:
        return "qwen2.5-omni-7b"
    if "3b" in key:
        return "qwen2.5-omni-3b"
    raise ValueError(f"no published Qwen2.5-Omni size for {name!r}: use a 3B or 7B model")


def _vision_tower(depth: int | None, out_hidden_size: int, **extra: Any) -> dict[str, Any]:
    """The Qwen2.5 ViT both model families use (32 × 1280, MLP 3420, window attention with full
    attention every 8th block: 7, 15, 23, 31); a shortened stack keeps its last block full."""
    depth = 32 if depth is None else int(depth)
    full = [i for i in (7, 15, 23, 31) if i < depth] or [depth - 1]
    return dict(depth=depth, hidden_size=1280, intermediate_size=3420, num_heads=16, in_channels=3, patch_size=14,
                spatial_merge_size=2, temporal_patch_size=2, window_size=112, out_hidden_size=out_hidden_size,
                fullatt_block_indexes=full, hidden_act="silu", **extra)


def thinker_config(model: str = "qwen2.5-omni-3b", text_layers: int | None = None, vision_depth: int | None = None,
                   audio_layers: int | None = None) -> Any:
    """``Qwen2_5OmniThinkerConfig`` of a real thinker; ``*_layers``/``vision_depth`` shorten a stack
    (widths, heads, vocabulary and token ids stay the published ones)."""
    from transformers import Qwen2_5OmniThinkerConfig

    text = dict(PUBLISHED_TEXT[model_key(model)])
    width = text["hidden_size"]
    if text_layers is not None:
        text["num_hidden_layers"] = int(text_layers)
    return Qwen2_5OmniThinkerConfig(
        text_config=dict(text, max_position_embeddings=32768, rms_norm_eps=1e-6, hidden_act="silu",
                         tie_word_embeddings=False, use_sliding_window=False, sliding_window=32768,
                         rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]},
                         pad_token_id=PAD_ID, eos_token_id=EOS_ID, bos_token_id=None),
        vision_config=_vision_tower(vision_depth, width),
        audio_config=dict(d_model=1280, encoder_layers=32 if audio_layers is None else int(audio_layers),
                          encoder_attention_heads=20, encoder_ffn_dim=5120, num_mel_bins=128,
                          max_source_positions=1500, n_window=100, output_dim=width),
        position_id_per_seconds=25, seconds_per_chunk=2, tie_word_embeddings=False, **TOKEN_IDS,
    )


def meta_thinker(config: Any) -> Any:
    """The thinker on the meta device: every shape, no memory."""
    import torch
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    with torch.device("meta"):
        return Qwen2_5OmniThinkerForConditionalGeneration(config)


def parameter_bytes(model: Any, dtype: Any = None) -> int:
    """Bytes of the parameters (in ``dtype`` when given, else their own)."""
    import torch

    size = torch.empty((), dtype=dtype).element_size() if dtype is not None else None
    return sum(p.numel() * (size or p.element_size()) for p in model.parameters())


def _random_model(cls: Any, config: Any, dtype: Any, device: Any, seed: int, eos: Any) -> Any:
    """``cls`` of ``config`` with transformers' own initialisation, seeded, built directly on ``device``
    in ``dtype`` (weights allocated once, at their final precision), greedy by default, in eval mode."""
    import torch
    from transformers import GenerationConfig

    dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    with torch.random.fork_rng(devices=[]), torch.device(device):
        torch.manual_seed(seed)
        model = cls._from_config(config, dtype=dtype)
    model.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=PAD_ID, do_sample=False)
    return model.eval()


def random_thinker(config: Any, dtype: Any = "bfloat16", device: Any = "cpu", seed: int = 0) -> Any:
    """The thinker with random weights (transformers' own initialisation, seeded), in eval mode.

    Built directly on ``device`` in ``dtype``: the weights are allocated once, at their final
    precision (3B: 9.4 GB in bf16), and the rotary tables are computed as in a loaded model.
    """
    from transformers import Qwen2_5OmniThinkerForConditionalGeneration

    return _random_model(Qwen2_5OmniThinkerForConditionalGeneration, config, dtype, device, seed, EOS_ID)


def legacy_key(key: str) -> str:
    """A transformers-5 thinker key in the 4.5x thinker layout (what ``save_pretrained`` of a thinker
    wrote when Omni-R1 was trained): ``model.language_model.`` → ``model.``, towers at the top.

    >>> legacy_key("model.language_model.layers.0.mlp.up_proj.weight"), legacy_key("model.visual.merger.ln_q.weight")
    ('model.layers.0.mlp.up_proj.weight', 'visual.merger.ln_q.weight')
    """
    for new, old in (("model.language_model.", "model."), ("model.visual.", "visual."),
                     ("model.audio_tower.", "audio_tower.")):
        if key.startswith(new):
            return old + key[len(new):]
    return key


def save_released_layout(model: Any, out_dir: str | os.PathLike, shard_bytes: int = 2 * 2**30,
                         prefix: str = "") -> Path:
    """Write ``model`` as the released thinker-only weights are laid out: safetensors shards
    ``model-0000k-of-0000n.safetensors`` with the 4.5x thinker keys (`legacy_key`, optionally under
    ``prefix`` such as ``"thinker."``), ``model.safetensors.index.json`` and a thinker
    ``config.json`` (``Qwen2_5OmniThinkerForConditionalGeneration``). No processor files: the
    released checkpoint takes its processor from the base model."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = model.state_dict()
    shards: list[dict[str, Any]] = [{}]
    size = 0
    for key, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > shard_bytes:
            shards.append({})
            size = 0
        shards[-1][prefix + legacy_key(key)] = tensor
        size += nbytes
    weight_map: dict[str, str] = {}
    total = 0
    for i, shard in enumerate(shards, 1):
        name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file({k: v.contiguous() for k, v in shard.items()}, str(out / name), metadata={"format": "pt"})
        for k, v in shard.items():
            weight_map[k] = name
            total += v.numel() * v.element_size()
    (out / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2) + "\n")
    cfg = model.config.to_dict()
    cfg["architectures"] = ["Qwen2_5OmniThinkerForConditionalGeneration"]
    cfg["transformers_version"] = "4.52.3"
    (out / "config.json").write_text(json.dumps(cfg, indent=2, default=str) + "\n")
    return out


QWEN25_VL_7B_TEXT = dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                         num_key_value_heads=4, vocab_size=152064)
"""Qwen/Qwen2.5-VL-7B-Instruct's language model (VisionReasoner-7B's base): the Omni 7B's sizes."""

VL_PARAMS_7B = 8_292_166_656
"""Qwen2.5-VL-7B-Instruct's parameter count (its safetensors index; `memory.GROUNDER_DIMS` uses 8.29 B)."""


def vl_config(text_layers: int | None = None, vision_depth: int | None = None) -> Any:
    """``Qwen2_5_VLConfig`` of Qwen2.5-VL-7B-Instruct (= VisionReasoner-7B's shapes); ``text_layers`` /
    ``vision_depth`` shorten a stack, widths, vocabulary and token ids stay the published ones.

    >>> c = vl_config(text_layers=2)
    >>> c.text_config.hidden_size, c.text_config.num_hidden_layers, c.image_token_id, c.vision_config.out_hidden_size
    (3584, 2, 151655, 3584)
    """
    from transformers import Qwen2_5_VLConfig

    text = dict(QWEN25_VL_7B_TEXT)
    if text_layers is not None:
        text["num_hidden_layers"] = int(text_layers)
    return Qwen2_5_VLConfig(
        text_config=dict(text, max_position_embeddings=128000, rms_norm_eps=1e-6, hidden_act="silu",
                         tie_word_embeddings=False, use_sliding_window=False, sliding_window=32768,
                         rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]},
                         pad_token_id=PAD_ID, eos_token_id=EOS_ID, bos_token_id=PAD_ID),
        vision_config=_vision_tower(vision_depth, text["hidden_size"], tokens_per_second=2),
        image_token_id=151655, video_token_id=151656, vision_start_token_id=151652, vision_end_token_id=151653,
        tie_word_embeddings=False,
    )


def random_vl(config: Any, dtype: Any = "bfloat16", device: Any = "cpu", seed: int = 0) -> Any:
    """A Qwen2.5-VL model of ``config`` with random weights (seeded), built on ``device`` in ``dtype``."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    return _random_model(Qwen2_5_VLForConditionalGeneration, config, dtype, device, seed, [EOS_ID, PAD_ID])
