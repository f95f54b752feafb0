"""Build the systems a preset names: System 1 (model + processor, optional adapter) and System 2.

>>> from omni_r1_lite.config import get_preset
>>> type(build_system2(get_preset("smoke"))).__name__
'OmniSynthStandIn'
"""

from __future__ import annotations

from pathlib import Path

from omni_r1_lite.config import KitConfig


def suppress_tokens_for(processor) -> list[int]:
    """Special tokens never to generate: every ``<|…|>`` token except ``<|im_end|>``.

    The media placeholders (``<|AUDIO|>``, ``<|IMAGE|>``, ``<|VIDEO|>`` and their bos/eos) are
    input-only: a completion holding one makes the next forward over prompt + completion count
    more placeholders than there are media features and fail. A real checkpoint rarely samples
    them at temperature 1, a random or tiny one often does; the list is the same for both.
    """
    from omni_r1_lite.models import suppress_token_ids

    return suppress_token_ids(processor.tokenizer)


def resolve_sam2_checkpoint(path: str | None, data_dir: str | Path, error=FileNotFoundError) -> str | None:
    """A SAM2 checkpoint path: absolute, or relative to ``data_dir`` (or the working folder).
    ``None`` means random weights (tests only); a missing file raises ``error`` saying how to fetch it."""
    if path is None:
        return None
    for cand in (Path(path), Path(data_dir) / path):
        if cand.is_file():
            return str(cand)
    raise error(
        f"SAM2 checkpoint not found: {Path(data_dir) / path} (nor {path}); fetch it with "
        f"./data_download.sh --data-dir {data_dir} --only {Path(path).stem}"
    )


def build_system2(cfg: KitConfig, base_model=None, processor=None, data_dir: str | Path = "data", device=None,
                  checkpoint_error=FileNotFoundError):
    """System 2 for a preset: the OmniSynth stand-in, or a grounder + SAM2 (checkpoint under
    ``data_dir`` when relative; random weights if None). The grounder is the paper's (the base model
    with adapters disabled while grounding; the kit's tiny thinkers ground with their special tokens
    suppressed) or, for 'visionreasoner' / 'sa2va', a model of its own (`build_grounder`)."""
    from omni_r1_lite.config import check_system2

    check_system2(cfg)
    s2 = cfg.system2
    if s2.backend == "standin":
        from omni_r1_lite.systems.standin import OmniSynthStandIn

        return OmniSynthStandIn()
    from omni_r1_lite.systems.detail import PaperDetailSystem, QwenGrounder, Sam2Segmenter

    if s2.backend == "paper":
        if base_model is None or processor is None:
            raise ValueError("the paper's System 2 grounds with System 1's base model: pass base_model and processor")
        grounder = QwenGrounder(base_model, processor, max_pixels=s2.grounding_max_pixels,
                                suppress_tokens=suppress_tokens_for(processor))
    else:
        grounder = build_grounder(cfg, device=device)
    ckpt = resolve_sam2_checkpoint(s2.sam2_checkpoint, data_dir, checkpoint_error)
    segmenter = Sam2Segmenter(s2.sam2_config, checkpoint=ckpt, device=device, image_size=s2.sam2_image_size,
                              cache_features=s2.sam2_cache_frames)
    return PaperDetailSystem(grounder, segmenter)


def build_grounder(cfg: KitConfig, device=None):
    """The separate grounder of ``system2.backend`` 'visionreasoner' (Qwen2.5-VL, `VisionReasonerGrounder`)
    or 'sa2va' (`Sa2VAGrounder`), loaded from ``system2.grounder`` (default: the released checkpoint)."""
    s2 = cfg.system2
    if s2.backend == "visionreasoner":
        from omni_r1_lite.systems.vision_reasoner import (
            VISIONREASONER_MODEL,
            VisionReasonerGrounder,
            load_vision_reasoner,
        )

        model, processor = load_vision_reasoner(s2.grounder or VISIONREASONER_MODEL, device=device)
        return VisionReasonerGrounder(model, processor, suppress_tokens=suppress_tokens_for(processor))
    if s2.backend == "sa2va":
        from omni_r1_lite.systems.sa2va import SA2VA_MODEL, Sa2VAGrounder, load_sa2va

        model, tokenizer = load_sa2va(s2.grounder or SA2VA_MODEL, device=device)
        return Sa2VAGrounder(model, tokenizer)
    raise ValueError(f"system2.backend={s2.backend!r} has no separate grounder (visionreasoner or sa2va)")


def load_system1(cfg: KitConfig, data_dir: str | Path = "data", adapter: str | Path | None = None):
    """``(model, processor)`` for System 1, with a PEFT adapter (or a full SFT model folder) if given."""
    from omni_r1_lite.models import load_thinker
    from omni_r1_lite.systems.reasoner import resolve_system1

    path = resolve_system1(cfg.system1.model, data_dir, seed=cfg.seed)
    if adapter is not None and (Path(adapter) / "config.json").exists():
        path = str(adapter)  # a full-parameter model (the tiny SFT warm start)
        adapter = None
    kwargs = {}
    if cfg.system1.dtype != "auto":  # e.g. bf16 weights on a CPU (the rehearsal), as evaluation does
        kwargs["dtype"] = cfg.system1.dtype
    if cfg.system1.attn_implementation != "auto":
        kwargs["attn_implementation"] = cfg.system1.attn_implementation
    model, processor = load_thinker(path, processor_name_or_path=cfg.system1.processor, **kwargs)
    if adapter is not None:
        from peft import PeftModel

        if not (Path(adapter) / "adapter_config.json").exists():
            raise FileNotFoundError(f"no PEFT adapter at {adapter} (train one with notebook 04)")
        model = PeftModel.from_pretrained(model, str(adapter))
        model.eval()
    return model, processor
