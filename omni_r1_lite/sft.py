"""The SFT baseline and warm start: TRL's ``SFTTrainer`` with a multimodal collator.

System 1 is first taught the answer *format* and a reasonable keyframe prior from the ground
truth, then GRPO improves on it. Three pieces:

- `sft_target` turns a `Sample` into a completion derived from its ground truth, in the exact
  format the parser reads (`format_vos_answer` / `format_avs_answer`):

  * VOS: ``k`` keyframes (k = ``System1Config.max_keyframes``, 4) in **System-1 sampled-frame
    indices** (the ``N`` frames the policy is shown; clip frames are mapped through
    ``reasoner.sampled_frames(sample)``), chosen from the target's visible area in those frames
    (`target_area`):

    - ``"oracle"``: `oracle_keyframes` (largest, spread out);
    - ``"random"``: no keyframe label at all — ``k`` distinct frames drawn at random from the
      ``N`` (the think still says the target is visible);
    - ``"random-visible"``: the CPU calibration's *imperfect* labels — ``k`` frames drawn at
      random among the frames where the target is visible (fewer if fewer are visible);
    - ``"largest"``: the ``k`` frames where the target is largest (fewer if fewer are visible;
      earliest on ties), with no spreading: what maximises keyframe quality, derivable from any
      dataset's masks;
    - a null expression (nothing to see) or a target never visible in the sampled frames gets
      uniform frames (`uniform_keyframes`).

    Every keyframe carries the same description: the literal rewrite of the expression,
    ``sample.meta["literal"]`` (OmniSynth). **Real data (RefAVS, ReVOS) has no literal**, so the
    expression itself is used: the SFT target then teaches the format and keyframe choice but not
    the rewrite, which GRPO has to discover from the System-2 reward. The think text is one short
    sentence (``"<literal> is visible in these frames"``): the tiny tokenizer makes a full answer
    ~60 tokens, and a long think would dominate the loss.
  * AVS: ``format_avs_answer(literal, think="the sound comes from <literal>")``.

- `MultimodalCollator` renders each example with **the inputs System 1 sees at rollout time**:
  the prompt is ``reasoner.encode(sample)`` itself (``reasoner.messages`` — template, perception
  track — and ``reasoner.media`` — sampled low-res frames, the 16 kHz soundtrack or the AVS image —
  through `prepare_inputs` at the reasoner's pixel budgets); the tokens of ``target + <|im_end|>``
  follow. ``labels`` are ``-100`` on the prompt and the padding, so the loss covers only the answer
  tokens and the EOS. Batches are **right-padded** (training; generation pads left): Qwen2.5-Omni
  derives its 3-D rotary positions from the attention mask, so right padding leaves every real
  token at the position it has unpadded. Media tensors are concatenated in example order (``pixel_values_videos``,
  ``video_grid_thw``, ``video_second_per_grid``, ``pixel_values``, ``image_grid_thw``), and the
  audio features are padded to the longest clip of the batch with ``feature_attention_mask`` = 0
  (the audio tower reads only the masked-in frames, so this equals the processor's 30-s padding).

- `train_sft` runs ``trl.SFTTrainer`` with that collator (``skip_prepare_dataset``,
  ``remove_unused_columns=False``: the dataset holds only ``{"index", "target"}`` rows, because
  Arrow cannot hold Samples), full-parameter (the tiny base: language model + LM head trained,
  vision and audio towers frozen) or LoRA on the language model's linear layers (real models),
  logs ``sft_log.jsonl`` and saves a model that `omni_r1_lite.models.load_thinker` reloads
  (full) or a PEFT adapter (LoRA).

Checked against trl 1.16 (``trl/trainer/sft_trainer.py``): a custom collator plus
``dataset_kwargs={"skip_prepare_dataset": True}`` skips TRL's tokenisation; ``SFTTrainer`` then
patches the model with its fused LM head (``add_fused_lm_head``: chunked log-probs of the labelled
positions, computed from ``model.model`` = the thinker's multimodal backbone, so the rotary
positions and media merging are the thinker's own); the patch is removed again when training ends.

>>> import numpy as np
>>> visible_keyframes(np.array([0, 3, 0, 5, 1, 0.]), 2, np.random.default_rng(0))
[3, 4]
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omni_r1_lite.config import KitConfig
from omni_r1_lite.data.keyframes import largest_keyframes, oracle_keyframes, target_area, uniform_keyframes
from omni_r1_lite.data.schema import Sample, of_types
from omni_r1_lite.systems.prompts import DEFAULT_KEYFRAMES, format_avs_answer, format_vos_answer

NOISE_KINDS = ("oracle", "random-visible", "random", "stratified", "largest")
SFT_LOG = "sft_log.jsonl"
SFT_SUMMARY = "sft_summary.json"
WARMUP_STEPS = 20
"""Warm-up steps of the calibration's SFT (capped at a quarter of ``max_steps`` for short runs)."""
IGNORE_INDEX = -100

__all__ = [
    "IGNORE_INDEX",
    "NOISE_KINDS",
    "MultimodalCollator",
    "literal_description",
    "sampled_target_area",
    "sft_target",
    "sft_targets",
    "train_sft",
    "visible_keyframes",
]


# ----------------------------------------------------------------------------- targets


def literal_description(sample: Sample) -> str:
    """The single-image description System 1 should produce: OmniSynth's ``meta["literal"]``, else
    the expression itself (real RefAVS / ReVOS carry no literal rewrite)."""
    literal = sample.meta.get("literal")
    text = literal if isinstance(literal, str) and literal.strip() else sample.expression
    return " ".join(str(text).split())


def sampled_target_area(sample: Sample, frames: Sequence[int]) -> np.ndarray:
    """``float[N]``: the target's visible pixels in each of the given clip frames.

    OmniSynth reads its annotations (`target_area`); real data decodes only those frames' masks.
    """
    frames = [int(f) for f in frames]
    if sample.meta.get("annotation") is not None:
        return np.asarray(target_area(sample), float)[frames]
    if sample.is_null:
        return np.zeros(len(frames))
    return sample.load_masks(frames).reshape(len(frames), -1).sum(1).astype(float)


def visible_keyframes(area: np.ndarray, k: int, rng: np.random.Generator | random.Random) -> list[int]:
    """``k`` frames drawn without replacement among those with ``area > 0`` (all of them if fewer),
    sorted — the calibration's imperfect SFT labels. Empty when the target is never visible."""
    visible = [int(i) for i in np.flatnonzero(np.asarray(area, float) > 0)]
    if len(visible) <= k:
        return visible
    if isinstance(rng, random.Random):
        return sorted(rng.sample(visible, k))
    return sorted(int(i) for i in rng.choice(visible, size=k, replace=False))


def stratified_keyframes(num_frames: int, k: int, rng: np.random.Generator | random.Random) -> list[int]:
    """One frame drawn at random from each of ``k`` equal stretches of ``num_frames`` frames.

    No keyframe label: the draws cover the clip as `uniform_keyframes` does (which is one of them),
    with one choice left open per stretch for GRPO to explore.

    >>> stratified_keyframes(8, 4, np.random.default_rng(0))
    [1, 3, 5, 6]
    """
    k = min(k, num_frames)
    # stretches of >= 1 frame each (k <= num_frames), so the draws are distinct and sorted
    edges = [int(e) for e in np.linspace(0, num_frames, k + 1).round()]
    draw = rng.randrange if isinstance(rng, random.Random) else (lambda n: int(rng.integers(n)))
    return [lo + draw(hi - lo) for lo, hi in zip(edges[:-1], edges[1:])]


def _num_keyframes(pipeline_or_reasoner: Any) -> int:
    cfg = getattr(pipeline_or_reasoner, "cfg", None)
    k = getattr(cfg, "max_keyframes", None) or getattr(pipeline_or_reasoner, "max_keyframes", None)
    return int(k or DEFAULT_KEYFRAMES)


def _as_rng(rng: Any) -> np.random.Generator | random.Random:
    if rng is None or isinstance(rng, int | np.integer):
        return np.random.default_rng(None if rng is None else int(rng))
    return rng


def sft_target(
    sample: Sample,
    pipeline_or_reasoner: Any,
    noise: str = "oracle",
    rng: np.random.Generator | random.Random | int | None = None,
    descriptions: str = "literal",
) -> str:
    """A ground-truth completion for ``sample`` (see the module docstring).

    Args:
        sample: a VOS or AVS sample.
        pipeline_or_reasoner: anything with ``sampled_frames(sample)`` (a `GlobalReasoner` or a
            `Pipeline`): the frames System 1 is shown. Its ``cfg.max_keyframes`` /
            ``max_keyframes`` sets ``k`` (default 4).
        noise: one of `NOISE_KINDS`: ``"oracle"``, ``"random-visible"``, ``"random"`` or ``"stratified"``.
        rng: a numpy ``Generator``, a ``random.Random`` or a seed (only the random kinds draw).
        descriptions: ``"literal"`` (OmniSynth's rewrite) or ``"expression"`` (the expression as
            given, what real data allows: the rewrite is then left to GRPO).

    Returns the completion text without EOS (the collator appends ``<|im_end|>``).
    """
    if noise not in NOISE_KINDS:
        raise ValueError(f"noise must be one of {NOISE_KINDS}, got {noise!r}")
    if descriptions not in ("literal", "expression"):
        raise ValueError(f"descriptions must be 'literal' or 'expression', got {descriptions!r}")
    literal = literal_description(sample) if descriptions == "literal" else " ".join(sample.expression.split())
    if sample.task == "AVS":
        return format_avs_answer(literal, think=f"the sound comes from {literal}")
    frames = pipeline_or_reasoner.sampled_frames(sample)
    k = min(_num_keyframes(pipeline_or_reasoner), len(frames))
    area = sampled_target_area(sample, frames)
    keys: list[int] = []
    if not sample.is_null and (area > 0).any():
        if noise == "oracle":
            keys = oracle_keyframes(area, k)
        elif noise == "random":  # any k frames: no keyframe label
            keys = visible_keyframes(np.ones(len(frames)), k, _as_rng(rng))
        elif noise == "largest":
            keys = largest_keyframes(area, k)
        elif noise == "stratified":  # one random frame per stretch: no label, spread like uniform
            keys = stratified_keyframes(len(frames), k, _as_rng(rng))
        else:
            keys = visible_keyframes(area, k, _as_rng(rng))
    if not keys:
        keys = uniform_keyframes(len(frames), k)
        think = f"{literal} is not in the video" if sample.is_null else f"{literal} is hard to see"
    else:
        think = f"{literal} is visible in these frames"
    return format_vos_answer(keys, literal, think=think)


def sft_targets(samples: Sequence[Sample], pipeline_or_reasoner: Any, noise: str = "oracle",
                seed: int = 0, descriptions: str = "literal") -> list[str]:
    """`sft_target` for every sample, drawn once from one seeded generator (a fixed label set)."""
    rng = np.random.default_rng(seed)
    return [sft_target(s, pipeline_or_reasoner, noise, rng, descriptions) for s in samples]


# ----------------------------------------------------------------------------- collator

_CAT_KEYS = ("pixel_values_videos", "video_grid_thw", "video_second_per_grid", "pixel_values", "image_grid_thw")
_AUDIO_KEYS = ("input_features", "feature_attention_mask")


class MultimodalCollator:
    """Examples → a right-padded training batch with the rollout-time multimodal inputs.

    An example is a mapping with ``"target"`` (str) and either ``"index"`` (into ``samples``) or
    ``"sample"`` (a `Sample`), or a ``(sample, target)`` pair. Optional ``"seed"`` picks the
    prompt's example timestamps (``reasoner.messages(sample, seed)``).

    Args:
        reasoner: the `GlobalReasoner` whose inputs are reproduced (messages, media, budgets).
        samples: the dataset's samples, looked up by ``"index"``.
        prompt_seed: the prompt seed when an example gives none; ``0`` is ``GlobalReasoner.encode``'s
            default; ``None`` uses the example's index.
        cache_size: encoded examples kept in memory (LRU), keyed by (sample, target, seed). Encoding
            (JPEG + wav decoding, Whisper features) costs ~30 ms a sample on a CPU, more than a
            tiny model's step; a cached tiny-model example takes ~1.7 MB (frames as patch rows,
            audio trimmed to its valid length). 0 disables the cache.

    Returns from ``__call__``: ``input_ids``, ``attention_mask``, ``labels`` (``-100`` on prompt
    and padding) and every media tensor of the processor (see the module docstring).
    """

    def __init__(self, reasoner: Any, samples: Sequence[Sample] | None = None, prompt_seed: int | None = 0,
                 cache_size: int = 0):
        self.reasoner = reasoner
        self.samples = list(samples) if samples is not None else []
        self.prompt_seed = prompt_seed
        self.cache_size = int(cache_size)
        self._cache: OrderedDict = OrderedDict()
        tok = reasoner.processor.tokenizer
        self.eos_token = "<|im_end|>"
        self.eos_id = tok.convert_tokens_to_ids(self.eos_token)
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else self.eos_id

    # -- one example -------------------------------------------------------------------------

    def encode_example(self, sample: Sample, target: str, seed: int = 0) -> dict[str, Any]:
        """One unpadded example: ``input_ids``/``labels`` ``int64[L]`` and its media tensors.

        The prompt is ``reasoner.encode(sample, seed)`` itself — the rollout's ids and media
        tensors; the answer ``target + <|im_end|>`` is tokenised on its own and appended, as the
        policy would generate it (no token straddles the boundary).
        """
        import torch

        tok = self.reasoner.processor.tokenizer
        out = self.reasoner.encode(sample, seed)
        prompt = out["input_ids"][0].to(torch.long)
        answer = torch.tensor(tok(target + self.eos_token, add_special_tokens=False)["input_ids"], dtype=torch.long)
        ids = torch.cat([prompt, answer])
        labels = torch.cat([torch.full_like(prompt, IGNORE_INDEX), answer])
        ex: dict[str, Any] = {"input_ids": ids, "labels": labels}
        for key in _CAT_KEYS:
            if key in out and out[key] is not None:
                ex[key] = out[key]
        if "input_features" in out and out["input_features"] is not None:
            mask = out["feature_attention_mask"]
            valid = int(mask.sum(-1).max())
            ex["input_features"] = out["input_features"][..., :valid].contiguous()
            ex["feature_attention_mask"] = mask[..., :valid].to(torch.long).contiguous()
        return ex

    def _resolve(self, example: Any) -> tuple[Sample, str, int, Any]:
        if isinstance(example, tuple | list):
            sample, target = example
            return sample, str(target), self.prompt_seed or 0, (sample.sample_id, target)
        if not isinstance(example, Mapping):
            raise TypeError(f"an example is a mapping or a (sample, target) pair, got {type(example).__name__}")
        if "sample" in example:
            sample = example["sample"]
            key_id: Any = sample.sample_id
            index = None
        else:
            index = int(example["index"])
            sample = self.samples[index]
            key_id = index
        seed = example.get("seed")
        if seed is None:
            seed = (index or 0) if self.prompt_seed is None else self.prompt_seed
        return sample, str(example["target"]), int(seed), (key_id, example["target"])

    def example(self, example: Any) -> dict[str, Any]:
        """`encode_example` for a dataset row, through the cache."""
        sample, target, seed, key = self._resolve(example)
        key = (*key, seed)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        ex = self.encode_example(sample, target, seed)
        if self.cache_size > 0:
            self._cache[key] = ex
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return ex

    # -- the batch ---------------------------------------------------------------------------

    def collate(self, encoded: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Right-pad encoded examples into one batch and concatenate their media tensors."""
        import torch

        length = max(len(e["input_ids"]) for e in encoded)
        b = len(encoded)
        input_ids = torch.full((b, length), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((b, length), dtype=torch.long)
        labels = torch.full((b, length), IGNORE_INDEX, dtype=torch.long)
        for i, e in enumerate(encoded):
            n = len(e["input_ids"])
            input_ids[i, :n] = e["input_ids"]
            attention_mask[i, :n] = 1
            labels[i, :n] = e["labels"]
        batch: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
        for key in _CAT_KEYS:
            parts = [e[key] for e in encoded if key in e]
            if parts:
                batch[key] = torch.cat(parts, dim=0)
        audio = [e for e in encoded if "input_features" in e]
        if audio:
            frames = max(e["input_features"].shape[-1] for e in audio)
            feats, masks = [], []
            for e in audio:
                pad = frames - e["input_features"].shape[-1]
                feats.append(torch.nn.functional.pad(e["input_features"], (0, pad)))
                masks.append(torch.nn.functional.pad(e["feature_attention_mask"], (0, pad)))
            batch["input_features"] = torch.cat(feats, dim=0)
            batch["feature_attention_mask"] = torch.cat(masks, dim=0)
        return batch

    def __call__(self, examples: Sequence[Any]) -> dict[str, Any]:
        return self.collate([self.example(e) for e in examples])


# ----------------------------------------------------------------------------- training


def _jsonl_callback(path: Path):
    """A ``TrainerCallback`` appending ``{step, loss, lr, seconds, ...}`` per log to ``path``."""
    from transformers import TrainerCallback

    class SFTJsonlLogger(TrainerCallback):
        def __init__(self):
            self.t0 = time.perf_counter()
            self.records: list[dict[str, Any]] = []

        def on_train_begin(self, args, state, control, **kwargs):
            self.t0 = time.perf_counter()

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "loss" not in logs or not state.is_world_process_zero:
                return
            rec = {"step": int(state.global_step), "loss": float(logs["loss"]),
                   "lr": float(logs.get("learning_rate", float("nan"))),
                   "seconds": round(time.perf_counter() - self.t0, 3)}
            for key in ("grad_norm", "mean_token_accuracy", "entropy", "num_tokens"):
                if key in logs:
                    rec[key] = float(logs[key])
            self.records.append(rec)
            with open(path, "a") as f:
                f.write(json.dumps(rec) + "\n")

    return SFTJsonlLogger()


def _precision(cfg: KitConfig, on_gpu: bool) -> dict[str, bool]:
    """``bf16``/``fp16`` flags for the trainer from ``cfg.grpo.mixed_precision`` (fp32 on a CPU)."""
    import torch

    mode = cfg.grpo.mixed_precision
    if not on_gpu or mode == "no":
        return {"bf16": False, "fp16": False}
    if mode == "auto":
        mode = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if mode not in ("bf16", "fp16"):
        raise ValueError(f"grpo.mixed_precision must be 'auto', 'bf16', 'fp16' or 'no', got {mode!r}")
    return {"bf16": mode == "bf16", "fp16": mode == "fp16"}


def _lora_config(cfg: KitConfig):
    from peft import LoraConfig

    from omni_r1_lite.models import lora_target_regex

    modules = "all-linear" if cfg.grpo.lora_target in ("language-model-linear", "all-linear") else cfg.grpo.lora_target
    return LoraConfig(r=cfg.grpo.lora_r, lora_alpha=cfg.grpo.lora_alpha, lora_dropout=cfg.grpo.lora_dropout,
                      target_modules=lora_target_regex(modules), bias="none")


def _copy_tiny_metadata(model: Any, out_dir: Path) -> None:
    """Keep ``omni_r1_lite.json`` (the tiny model's pixel budgets) next to the fine-tuned weights."""
    from omni_r1_lite.models import TINY_METADATA

    src = Path(str(getattr(model.config, "_name_or_path", "") or "")) / TINY_METADATA
    if src.is_file() and not (out_dir / TINY_METADATA).exists():
        (out_dir / TINY_METADATA).write_text(src.read_text())


def default_cache_size(n_samples: int) -> int:
    """`MultimodalCollator`'s cache when none is asked for: every sample on a CPU (a tiny model's
    step is cheaper than encoding), none on a GPU (real frames are large; the step costs more)."""
    import torch

    return 0 if torch.cuda.is_available() else n_samples


def train_sft(
    model: Any,
    processor: Any,
    samples: Sequence[Sample],
    cfg: KitConfig,
    out_dir: str | os.PathLike,
    max_steps: int | None = None,
    seed: int = 0,
    callbacks: Sequence[Any] | None = None,
    *,
    targets: Sequence[str] | None = None,
    noise: str | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    warmup_steps: int | None = None,
    prompt_seed: int | None = 0,
    cache_size: int | None = None,
    show_progress: bool = False,
    sft_args: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Supervised fine-tuning of System 1 on ground-truth completions, with ``trl.SFTTrainer``.

    Args:
        model, processor: from `omni_r1_lite.models.load_thinker` (a ``PeftModel`` trains its adapters).
        samples: training samples (VOS and/or AVS).
        cfg: the preset: ``cfg.sft`` (steps, lr, batch, full_parameter, target_noise),
            ``cfg.system1`` (inputs), ``cfg.grpo`` (LoRA rank/alpha/targets, mixed precision,
            gradient checkpointing — shared with GRPO so that SFT and GRPO agree).
        out_dir: where ``sft_log.jsonl``, ``sft_summary.json`` and the model go.
        max_steps: default ``cfg.sft.max_steps``.
        seed: seeds the labels, data order and initialisation.
        callbacks: extra ``transformers.TrainerCallback`` objects.
        targets: completions per sample (default: `sft_targets` with ``noise``).
        noise: default ``cfg.sft.target_noise``.
        batch_size, learning_rate: default ``cfg.sft.per_device_train_batch_size`` / ``learning_rate``.
        warmup_steps: default 20 (the calibration), at most a quarter of ``max_steps``.
        prompt_seed: see `MultimodalCollator` (0 = what ``GlobalReasoner.encode`` uses).
        cache_size: encoded examples kept in memory; default all samples on a CPU, none on a GPU.
        show_progress: the trainer's progress bar.
        sft_args: extra ``trl.SFTConfig`` fields (override the ones set here).

    Full-parameter mode trains the language model and the LM head with the vision and audio towers
    frozen, and saves ``model.save_pretrained`` + the processor into ``out_dir`` (``load_thinker(out_dir)``
    reloads it). LoRA mode puts adapters on the language model's linear layers (`lora_target_regex`)
    and saves the PEFT adapter (+ processor) into ``out_dir``.

    Returns ``{"steps", "initial_loss", "final_loss", "train_loss", "seconds", "seconds_per_step",
    "num_samples", "noise", "full_parameter", "trainable_parameters", "out_dir", "model"}``;
    ``"model"`` is the trained model (the ``PeftModel`` in LoRA mode), everything else is also written
    to ``sft_summary.json``.
    """
    import torch
    from datasets import Dataset
    from peft import PeftModel
    from trl import SFTConfig, SFTTrainer

    from omni_r1_lite.models import encoder_parameter_names, freeze_encoders, suppress_token_ids
    from omni_r1_lite.repro import seed_everything
    from omni_r1_lite.systems.reasoner import GlobalReasoner

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / SFT_LOG
    if log_path.exists():
        log_path.unlink()
    samples = list(samples)
    if not samples:
        raise ValueError("train_sft needs at least one sample")
    if targets is None:
        samples = of_types(samples, cfg.sft.expression_types, "sft.expression_types")
    seed_everything(seed)
    steps = int(cfg.sft.max_steps if max_steps is None else max_steps)
    if steps <= 0:
        raise ValueError(f"max_steps must be positive, got {steps}")
    noise = noise or cfg.sft.target_noise
    reasoner = GlobalReasoner(model, processor, cfg.system1, suppress_token_ids(processor.tokenizer))
    if targets is None:
        targets = sft_targets(samples, reasoner, noise, seed=seed, descriptions=cfg.sft.descriptions)
    if len(targets) != len(samples):
        raise ValueError("one target per sample")
    dataset = Dataset.from_list([{"index": i, "target": t} for i, t in enumerate(targets)])

    on_gpu = torch.cuda.is_available()
    if cache_size is None:
        cache_size = default_cache_size(len(samples))
    collator = MultimodalCollator(reasoner, samples, prompt_seed=prompt_seed, cache_size=cache_size)

    peft_config = None
    is_peft = isinstance(model, PeftModel)
    freeze_encoders(model)
    if cfg.sft.full_parameter and not is_peft:
        encoders = set(encoder_parameter_names(model))
        for name, p in model.named_parameters():
            p.requires_grad_(name not in encoders)
        if on_gpu and next(model.parameters()).dtype == torch.float16:
            raise ValueError("full-parameter SFT cannot train float16 weights (the fp16 grad scaler refuses "
                             "fp16 gradients): load the model in float32 or bfloat16, or use LoRA")
    elif not is_peft:
        peft_config = _lora_config(cfg)

    warmup = WARMUP_STEPS if warmup_steps is None else int(warmup_steps)
    warmup = min(warmup, steps // 4)
    args_kwargs: dict[str, Any] = dict(
        output_dir=str(out / "checkpoints"),
        max_steps=steps,
        per_device_train_batch_size=int(batch_size or cfg.sft.per_device_train_batch_size),
        gradient_accumulation_steps=1,
        learning_rate=float(learning_rate or cfg.sft.learning_rate),
        warmup_steps=warmup,
        lr_scheduler_type="linear",
        weight_decay=0.0,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        remove_unused_columns=False,
        dataset_kwargs={"skip_prepare_dataset": True},
        max_length=None,
        use_cpu=not on_gpu,
        seed=seed,
        data_seed=seed,
        dataloader_num_workers=0,
        dataloader_pin_memory=on_gpu,
        disable_tqdm=not show_progress,
        **_precision(cfg, on_gpu),
    )
    # transformers 5.x renamed gradient_checkpointing → activation_checkpointing (the old name warns)
    ckpt = "activation_checkpointing" if "activation_checkpointing" in SFTConfig.__dataclass_fields__ \
        else "gradient_checkpointing"
    args_kwargs[ckpt] = bool(cfg.grpo.gradient_checkpointing and on_gpu)
    args_kwargs[ckpt + "_kwargs"] = {"use_reentrant": False}
    args_kwargs.update(dict(sft_args or {}))
    args = SFTConfig(**args_kwargs)
    logger = _jsonl_callback(log_path)
    base = model.get_base_model() if is_peft else model  # LoRA is injected in place: the same object
    had_forward = "forward" in vars(base)
    trainer = SFTTrainer(model=model, args=args, data_collator=collator, train_dataset=dataset,
                         processing_class=processor, peft_config=peft_config,
                         callbacks=[logger, *(callbacks or [])])
    if not show_progress:  # no per-step dict printing (the JSONL log and the summary hold the numbers)
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    trained = trainer.model
    t0 = time.perf_counter()
    try:
        result = trainer.train()
    finally:
        if not had_forward:  # drop TRL's fused-LM-head patch (an instance attribute): the class forward again
            vars(base).pop("forward", None)
    seconds = time.perf_counter() - t0
    trained.eval()
    trainer.save_model(str(out))
    if trainer.is_world_process_zero():
        _copy_tiny_metadata(base, out)
        ckpt_dir = out / "checkpoints"
        if ckpt_dir.is_dir() and not any(ckpt_dir.iterdir()):
            ckpt_dir.rmdir()

    losses = [r["loss"] for r in logger.records]
    summary: dict[str, Any] = {
        "steps": int(trainer.state.global_step),
        "initial_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "train_loss": float(result.training_loss),
        "seconds": round(seconds, 2),
        "seconds_per_step": round(seconds / max(trainer.state.global_step, 1), 4),
        "num_samples": len(samples),
        "noise": noise,
        "descriptions": cfg.sft.descriptions,
        "expression_types": list(cfg.sft.expression_types),
        "full_parameter": peft_config is None and not is_peft,
        "trainable_parameters": int(sum(p.numel() for p in trained.parameters() if p.requires_grad)),
        "out_dir": str(out),
    }
    if trainer.is_world_process_zero():
        (out / SFT_SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
    summary["model"] = trained
    return summary
