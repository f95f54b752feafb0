"""Evaluation methods: where keyframes and descriptions come from, and the weights behind them.

=============  ===============================================================================
``uniform``    no System 1: ``max_keyframes`` evenly spaced clip frames + the ORIGINAL expression
``oracle``     OmniSynth only: the ground truth's best keyframes + the literal description
``base``       System 1 = the preset's base thinker, no adapter
``sft``        the SFT model of a run: ``<run>/sft`` (full model or PEFT adapter)
``grpo``       the GRPO adapter of a run: ``<run>/grpo/adapter``
``omni-r1``    the released Omni-R1-7B weights (``Haoz0206/Omni-R1``; the eval-omni-r1 preset)
=============  ===============================================================================

Model methods decode greedily. System 2 is the preset's: ``standin`` = `OmniSynthStandIn`;
``paper`` = `PaperDetailSystem` of a `QwenGrounder` on the *loaded model with its adapters
disabled* (for an adapter, the frozen base; for full weights such as the released Omni-R1 or a
full-parameter SFT model, the model itself: the paper's † self-grounding rows) and a
`Sam2Segmenter`. ``uniform`` with the paper backend grounds with the base model.

Adapters load with ``peft.PeftModel.from_pretrained(base, adapter)``; the base is the adapter's
``base_model_name_or_path`` when that is loadable here, else (GRPO) a full SFT model of the run,
else the preset's System-1 model.

>>> from omni_r1_lite.config import get_preset
>>> resolve_weights("uniform", None, "data") is None
True
>>> try:
...     resolve_weights("grpo", get_preset("smoke"), "data", "/nonexistent")
... except MissingWeightsError as e:
...     print(str(e).splitlines()[0])
no GRPO weights for method 'grpo': looked for /nonexistent/grpo/adapter, /nonexistent/grpo
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omni_r1_lite.config import KitConfig
from omni_r1_lite.data.schema import DataError, Sample

METHODS = ("uniform", "oracle", "base", "sft", "grpo", "omni-r1")
"""Every evaluation method, in the order of the results tables."""
MODEL_METHODS = ("base", "sft", "grpo", "omni-r1")
"""Methods with a System-1 model (the rest are reference plans)."""

_CANDIDATES = {"sft": ("sft", "sft/adapter", "sft/model"), "grpo": ("grpo/adapter", "grpo")}
_PRODUCER = {
    "sft": "notebooks/04_grpo_training.ipynb (its SFT warm start) or `omni-r1-lite reproduce --preset {preset} "
           "--only 04`",
    "grpo": "notebooks/04_grpo_training.ipynb or `omni-r1-lite reproduce --preset {preset} --only 04`",
}


class MissingWeightsError(FileNotFoundError):
    """A method's weights are not where they should be; the message says what produces them."""


@dataclasses.dataclass
class Weights:
    """What a model method loads.

    Attributes:
        model: path or hub id of the thinker (for an adapter: its base).
        processor: where the processor comes from (``None``: with the model).
        adapter: a PEFT adapter folder, or ``None``.
    """

    model: str
    processor: str | None = None
    adapter: str | None = None

    def identity(self) -> dict[str, Any]:
        """Paths plus size and modification time of local weight files (changes when retrained)."""
        out: dict[str, Any] = dataclasses.asdict(self)
        files = {}
        for root in (self.model, self.adapter):
            if root and Path(root).is_dir():
                for p in sorted(Path(root).glob("*.safetensors")) + sorted(Path(root).glob("*.bin")):
                    st = p.stat()
                    files[str(p)] = [st.st_size, st.st_mtime_ns]
        out["files"] = files
        return out


def _is_adapter(path: Path) -> bool:
    return (path / "adapter_config.json").is_file()


def _is_model(path: Path) -> bool:
    return (path / "config.json").is_file() and not _is_adapter(path)


def _omni_r1_spec(name: str):
    from omni_r1_lite.models import get_model_spec

    spec = get_model_spec(name)
    return spec if spec is not None and spec.key == "omni-r1" else None


def base_weights(cfg: KitConfig, data_dir: str | Path) -> Weights:
    """The preset's base thinker (for the eval-omni-r1 preset: Omni-R1's base, Qwen2.5-Omni-7B)."""
    from omni_r1_lite.systems.reasoner import resolve_system1

    spec = _omni_r1_spec(cfg.system1.model)
    name = (cfg.system1.processor or spec.processor_id) if spec else cfg.system1.model
    processor = None if spec else cfg.system1.processor
    model = resolve_system1(name, data_dir, seed=cfg.seed)
    return Weights(model, resolve_system1(processor, data_dir) if processor else None)


def _adapter_base(adapter: Path, cfg: KitConfig, data_dir, run_dir, method: str) -> Weights:
    base = base_weights(cfg, data_dir)
    try:
        named = json.loads((adapter / "adapter_config.json").read_text()).get("base_model_name_or_path")
    except (OSError, ValueError):
        named = None
    if named and Path(named).is_dir() and (Path(named) / "config.json").is_file():
        proc = base.processor or (None if _has_processor(Path(named)) else base.model)
        return Weights(str(named), proc, str(adapter))
    if named and not named.startswith(("/", ".", "~")) and named.count("/") <= 1 and not Path(named).exists():
        hub_like = named  # a hub id such as Qwen/Qwen2.5-Omni-7B
        from omni_r1_lite.systems.reasoner import resolve_system1

        return Weights(resolve_system1(hub_like, data_dir), base.processor, str(adapter))
    if method == "grpo" and run_dir is not None:
        for rel in _CANDIDATES["sft"]:
            p = Path(run_dir) / rel
            if _is_model(p):
                return Weights(str(p), None if _has_processor(p) else base.model, str(adapter))
    return Weights(base.model, base.processor, str(adapter))


def _has_processor(path: Path) -> bool:
    return (path / "tokenizer_config.json").is_file() and any(
        (path / n).is_file() for n in ("preprocessor_config.json", "processor_config.json")
    )


def resolve_weights(method: str, cfg: KitConfig | None, data_dir: str | Path, run_dir: str | Path | None = None,
                    path: str | Path | None = None) -> Weights | None:
    """The weights a method evaluates (``None`` for ``uniform`` / ``oracle``).

    Args:
        path: an explicit model folder or adapter folder (``--adapter``) for ``sft`` / ``grpo``
            (or another checkpoint for ``base`` / ``omni-r1``).
        run_dir: the run folder holding ``sft/`` and ``grpo/adapter/``.

    Raises `MissingWeightsError` naming the paths looked at and what produces them.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    if method in ("uniform", "oracle"):
        return None
    assert cfg is not None
    if path is not None:
        p = Path(path)
        if _is_adapter(p):
            return _adapter_base(p, cfg, data_dir, run_dir, method)
        if _is_model(p):
            return Weights(str(p), None if _has_processor(p) else base_weights(cfg, data_dir).model)
        raise MissingWeightsError(f"{p} holds neither a PEFT adapter (adapter_config.json) nor a model "
                                  f"(config.json)")
    if method == "base":
        return base_weights(cfg, data_dir)
    if method == "omni-r1":
        from omni_r1_lite.systems.reasoner import resolve_system1

        spec = _omni_r1_spec(cfg.system1.model)
        name = cfg.system1.model if spec else "Haoz0206/Omni-R1"
        processor = (cfg.system1.processor if spec else None) or "Qwen/Qwen2.5-Omni-7B"
        return Weights(resolve_system1(name, data_dir), resolve_system1(processor, data_dir))
    if run_dir is None:
        raise MissingWeightsError(f"method {method!r} needs a run folder (run_dir) or an explicit path")
    looked = [Path(run_dir) / rel for rel in _CANDIDATES[method]]
    for p in looked:
        if _is_adapter(p):
            return _adapter_base(p, cfg, data_dir, run_dir, method)
        if _is_model(p):
            return Weights(str(p), None if _has_processor(p) else base_weights(cfg, data_dir).model)
    raise MissingWeightsError(
        f"no {method.upper()} weights for method {method!r}: looked for " + ", ".join(str(p) for p in looked)
        + f"\nproduce them with {_PRODUCER[method].format(preset=cfg.name)}, or pass the folder explicitly "
        "(evaluate_split(..., adapter=PATH) / omni-r1-lite evaluate --adapter PATH)"
    )


def load_weights(weights: Weights, device: Any = None, cfg: KitConfig | None = None) -> tuple[Any, Any]:
    """``(model, processor)`` in eval mode; a ``peft.PeftModel`` when ``weights.adapter`` is set."""
    from omni_r1_lite.models import load_thinker

    kwargs: dict[str, Any] = {}
    if cfg is not None:
        if cfg.system1.dtype != "auto":
            kwargs["dtype"] = cfg.system1.dtype
        if cfg.system1.attn_implementation != "auto":
            kwargs["attn_implementation"] = cfg.system1.attn_implementation
    model, processor = load_thinker(weights.model, device=device, processor_name_or_path=weights.processor, **kwargs)
    if weights.adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, weights.adapter, is_trainable=False)
        model.eval()
    return model, processor


def suppress_tokens_for(processor: Any) -> list[int]:
    """`omni_r1_lite.systems.factory.suppress_tokens_for`."""
    from omni_r1_lite.systems.factory import suppress_tokens_for as suppress

    return suppress(processor)


# ----------------------------------------------------------------------------- System 2


def resolve_checkpoint(path: str | None, data_dir: str | Path) -> str | None:
    """A SAM2 checkpoint path (`omni_r1_lite.systems.factory.resolve_sam2_checkpoint`);
    a missing file raises `MissingWeightsError`."""
    from omni_r1_lite.systems.factory import resolve_sam2_checkpoint

    return resolve_sam2_checkpoint(path, data_dir, MissingWeightsError)


def build_system2(cfg: KitConfig, data_dir: str | Path, model: Any = None, processor: Any = None,
                  device: Any = None) -> Any:
    """The preset's System 2 (`omni_r1_lite.systems.factory.build_system2`); for ``paper``,
    ``model`` / ``processor`` default to the preset's base thinker ('visionreasoner' and 'sa2va'
    load their own grounder)."""
    from omni_r1_lite.systems.factory import build_system2 as build

    if cfg.system2.backend == "paper" and model is None:
        model, processor = load_weights(base_weights(cfg, data_dir), device=device, cfg=cfg)
    return build(cfg, model, processor, data_dir, device=device, checkpoint_error=MissingWeightsError)


# ----------------------------------------------------------------------------- proposals


@dataclasses.dataclass
class Proposal:
    """What a method proposes for one sample, in clip frames.

    ``completion``/``finished``/``num_tokens`` are ``None`` for reference plans; ``plan_ok`` is
    False when a completion could not be parsed (System 2 then gets no keyframe: empty masks).
    """

    keyframes: tuple[int, ...]
    descriptions: tuple[str, ...]
    plan_ok: bool = True
    issues: tuple[str, ...] = ()
    completion: str | None = None
    finished: bool | None = None
    num_tokens: int | None = None


class ReferenceMethod:
    """``uniform`` (evenly spaced keyframes, original expression) or ``oracle`` (OmniSynth)."""

    def __init__(self, name: str, k: int = 4):
        if name not in ("uniform", "oracle"):
            raise ValueError(f"not a reference method: {name!r}")
        self.name, self.k = name, int(k)

    def propose(self, sample: Sample, pipeline) -> Proposal:
        from omni_r1_lite.data.keyframes import uniform_keyframes
        from omni_r1_lite.systems.levers import reference_plan

        if self.name == "uniform":
            frames = uniform_keyframes(sample.num_frames, self.k)
            return Proposal(tuple(frames), tuple(sample.expression for _ in frames))
        if sample.meta.get("annotation") is None or "literal" not in sample.meta:
            raise ValueError(f"method 'oracle' needs OmniSynth samples (annotations + literal); "
                             f"{sample.sample_id} is from {sample.dataset!r}")
        frames, descriptions = reference_plan(sample, "oracle + literal", self.k)
        return Proposal(tuple(int(f) for f in frames), tuple(descriptions))


class ModelMethod:
    """System 1 (a `GlobalReasoner`), decoded greedily; the plan is parsed by the pipeline."""

    def __init__(self, name: str, reasoner, max_new_tokens: int):
        self.name, self.reasoner, self.max_new_tokens = name, reasoner, int(max_new_tokens)
        self._prefetched: dict[str, Any] = {}

    def prefetch(self, samples: Sequence[Sample]) -> None:
        """Greedy completions for several samples in one batched pass (prompts left-padded, each
        encoded once); `propose` then uses them. A sample that fails here is generated alone later."""
        from omni_r1_lite.systems.generation import greedy_completions

        self._prefetched = {}
        if len(samples) < 2:
            return
        try:
            comps = greedy_completions(self.reasoner, list(samples), self.max_new_tokens, batch_size=len(samples))
        except (DataError, OSError):
            return
        self._prefetched = {s.sample_id: c for s, c in zip(samples, comps)}

    def propose(self, sample: Sample, pipeline) -> Proposal:
        c = self._prefetched.pop(sample.sample_id, None)
        if c is None:
            (c,) = self.reasoner.generate(sample, n=1, do_sample=False, max_new_tokens=self.max_new_tokens)
        plan = pipeline.plan(sample, c.text)
        keyframes, descriptions = pipeline.clip_keyframes(sample, plan)
        return Proposal(tuple(int(k) for k in keyframes), tuple(descriptions), bool(plan.ok),
                        tuple(plan.issues), c.text, bool(c.finished), int(c.num_tokens))
