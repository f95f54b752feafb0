"""System 1, the Global Reasoning System: a thinker reading low-res frames (+ audio, + perception).

`GlobalReasoner` turns a `Sample` into the model's inputs — the ``N ≤ max_frames`` evenly sampled
frames at the low per-frame pixel budget, the soundtrack at 16 kHz when the task uses it, and in
the CPU presets OmniSynth's perception track as text — and samples completions from it.

`resolve_system1` finds the model a preset names: ``tiny-xs`` / ``tiny-s`` are built offline once
under ``DATA_DIR/models/`` (a tokenizer trained on OmniSynth's text and the prompt templates);
any other name is a local folder, ``DATA_DIR/models/<name>`` (what ``data_download.sh`` writes), or
a Hugging Face id.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from omni_r1_lite.config import System1Config
from omni_r1_lite.data.schema import Sample
from omni_r1_lite.systems.prompts import build_system1_messages, index_to_timestamp, sample_frame_indices

TINY_MODELS = ("tiny-xs", "tiny-s")


@dataclasses.dataclass
class Completion:
    """One sampled answer: its text, whether it ended with EOS, and its length in tokens."""

    text: str
    finished: bool
    num_tokens: int
    token_ids: list[int] = dataclasses.field(default_factory=list, repr=False)


def resolve_system1(name: str, data_dir: str | Path, seed: int = 0) -> str:
    """A loadable path or hub id for System 1's model name (builds the tiny thinker if needed)."""
    data_dir = Path(data_dir)
    if name in TINY_MODELS:
        from omni_r1_lite.data.omnisynth import text_corpus
        from omni_r1_lite.models import build_tiny_thinker
        from omni_r1_lite.systems.prompts import tokenizer_corpus

        corpus = text_corpus(clips=20)
        # the folder name covers everything the tokenizer is built from (pre-tokenizer, OmniSynth text, prompts)
        from omni_r1_lite.models import PRETOKENIZE_PATTERN

        text = "\x00".join([PRETOKENIZE_PATTERN, *corpus, *tokenizer_corpus(seed=0)])
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        out = data_dir / "models" / f"{name}-seed{seed}-{digest}"
        if not (out / "config.json").exists() or not (out / "omni_r1_lite.json").exists():
            build_tiny_thinker(out, corpus, size=name.split("-", 1)[1], seed=seed)
        return str(out)
    for candidate in (Path(name), data_dir / "models" / Path(name).name):
        if (candidate / "config.json").exists():
            return str(candidate)
    return name


class GlobalReasoner:
    """System 1 = a thinker + its processor, configured by `System1Config`.

    Args:
        model, processor: from `omni_r1_lite.models.load_thinker` (a PeftModel works too).
        cfg: the preset's System-1 config (frames, pixel budget, template, perception, audio).
        suppress_tokens: token ids never sampled (the tiny policy's special tokens).
    """

    def __init__(self, model, processor, cfg: System1Config, suppress_tokens: list[int] | None = None):
        self.model = model
        self.processor = processor
        self.cfg = cfg
        self.suppress_tokens = suppress_tokens
        tok = processor.tokenizer
        self.eos_id = tok.convert_tokens_to_ids("<|im_end|>")
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else self.eos_id

    # -- inputs --------------------------------------------------------------------------------

    def sampled_frames(self, sample: Sample) -> list[int]:
        return sample_frame_indices(sample.num_frames, self.cfg.max_frames)

    def perception(self, sample: Sample) -> str | None:
        if not self.cfg.use_perception:
            return None
        ann = sample.meta.get("annotation")
        if ann is None:
            return None  # real data has no perception track: the model perceives the pixels itself
        from omni_r1_lite.data.perception import perception_text

        frames = self.sampled_frames(sample)
        # each line dated like the answer's moments: frame i of System 1's video is at i / 2 s
        return perception_text(ann, frames=frames, labels=[index_to_timestamp(i) for i in range(len(frames))],
                               layout=self.cfg.perception_layout)

    def messages(self, sample: Sample, seed: int = 0) -> list[dict[str, Any]]:
        frames = self.sampled_frames(sample)
        seconds = sample.meta.get("annotation", {}).get("seconds_per_frame", 1.0) * sample.num_frames
        return build_system1_messages(
            sample.task, sample.expression, num_frames=len(frames), seed=seed,
            perception=self.perception(sample), template=self.cfg.template, audio_seconds=seconds,
            with_audio=self.cfg.with_audio and sample.task == "VOS",
        )

    def media(self, sample: Sample) -> dict[str, Any]:
        """The decoded inputs: ``videos`` (``uint8[N, h, w, 3]``) or ``images``, and ``audio``."""
        from omni_r1_lite.data.media import read_audio, read_frames

        seconds = sample.meta.get("annotation", {}).get("seconds_per_frame", 1.0) * sample.num_frames
        needs_audio = sample.task == "AVS" or self.cfg.with_audio
        audio = [read_audio(sample.audio_path, missing="silence", duration=seconds)] if needs_audio else None
        if sample.task == "AVS":
            return {"images": [read_frames(sample, [0], max_pixels=self.cfg.frame_max_pixels)[0]], "audio": audio}
        frames = read_frames(sample, self.sampled_frames(sample), max_pixels=self.cfg.frame_max_pixels)
        return {"videos": [frames], "audio": audio}

    def encode(self, sample: Sample, seed: int = 0):
        """Processor outputs (batch of one) for a sample: ids, masks and media tensors."""
        from omni_r1_lite.models import prepare_inputs

        media = self.media(sample)
        lo = min(16 * 28 * 28, self.cfg.frame_max_pixels)
        return prepare_inputs(self.processor, self.messages(sample, seed), videos=media.get("videos"),
                              images=media.get("images"), audio=media.get("audio"),
                              video_pixels=(lo, self.cfg.frame_max_pixels),
                              image_pixels=(lo, self.cfg.frame_max_pixels))

    # -- sampling ------------------------------------------------------------------------------

    def generate(self, sample: Sample, n: int = 1, do_sample: bool = False, max_new_tokens: int = 128,
                 temperature: float = 1.0, top_p: float = 1.0, seed: int | None = None,
                 inputs=None) -> list[Completion]:
        """``n`` completions for one sample (greedy when ``do_sample`` is False)."""
        import torch

        inputs = inputs if inputs is not None else self.encode(sample)
        inputs = inputs.to(self.model.device)
        if seed is not None:
            torch.manual_seed(seed)
        kwargs = dict(max_new_tokens=max_new_tokens, do_sample=do_sample, num_return_sequences=n,
                      eos_token_id=self.eos_id, pad_token_id=self.pad_id)
        if do_sample:
            kwargs.update(temperature=temperature, top_p=top_p, top_k=0)
        if self.suppress_tokens:
            kwargs["suppress_tokens"] = self.suppress_tokens
        with torch.no_grad():
            out = self.model.generate(**inputs, **kwargs)
        return self.decode(out[:, inputs["input_ids"].shape[1]:])

    def decode(self, completion_ids) -> list[Completion]:
        """Token ids ``int[B, L]`` (after the prompt) → completions cut at the first EOS."""
        tok = self.processor.tokenizer
        out = []
        for row in np.asarray(completion_ids.cpu() if hasattr(completion_ids, "cpu") else completion_ids):
            ids = [int(i) for i in row]
            finished = self.eos_id in ids
            ids = ids[: ids.index(self.eos_id)] if finished else [i for i in ids if i != self.pad_id]
            out.append(Completion(tok.decode(ids, skip_special_tokens=True), finished, len(ids) + finished, ids))
        return out
