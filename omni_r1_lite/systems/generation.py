"""Group rollouts and log-probabilities with the multimodal prompt encoded once per group.

All G completions of a group share one prompt (frames, audio, text). Instead of repeating the
prompt G times — what ``generate(num_return_sequences=G)`` and a plain loss forward do — the
prompt is run once (the vision and audio towers and the language model's prefill), its key/value
cache is repeated G times, and only the completions are run per sample:

- `sample_group`: prefill once, then a sampling loop over the repeated cache (reserved up front,
  so that a decoding step writes in place instead of copying the cache);
- `completion_logps`: the same for the log-probabilities used by the loss (with gradients: the
  cache is a differentiable function of the LoRA weights) and by the KL reference;
- `naive_completion_logps`: the repeated-prompt forward, kept as the baseline the tests and
  ``benchmarks/rollout_speed.py`` compare against;
- `encode_prompts` / `greedy_completions`: a reasoner's prompts for many samples as one batch, and
  their batched greedy decoding (held-out evaluation).

Several prompts (one per sample) are batched with left padding. Qwen2.5-Omni's 3-D rotary
positions (M-RoPE) are computed once from the prompt with the model's own ``get_rope_index``;
completion tokens continue after each prompt's largest position, as in the model's generation.
The media tensors therefore reach every forward that produces log-probabilities (prefill).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import torch

from omni_r1_lite.data.schema import Sample

MEDIA_KEYS = ("pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw", "video_second_per_grid",
              "input_features", "feature_attention_mask")


def _base(model):
    """The ``Qwen2_5OmniThinkerModel`` inside a (PEFT / DDP-wrapped) thinker."""
    m = model
    for attr in ("module", "base_model", "model"):
        while hasattr(m, attr) and not hasattr(m, "get_rope_index"):
            m = getattr(m, attr)
    if not hasattr(m, "get_rope_index"):
        raise TypeError("expected a Qwen2.5-Omni thinker (no get_rope_index found)")
    return m


def _lm_head(model):
    """The thinker's ``lm_head`` inside a (PEFT / DDP-wrapped) model, or None."""
    m = model
    for attr in ("module", "base_model", "model"):
        while not hasattr(m, "lm_head") and hasattr(m, attr):
            m = getattr(m, attr)
    return getattr(m, "lm_head", None)


@contextlib.contextmanager
def last_logits(model, keep: int):
    """Inside the block, the model's forward computes logits for the last ``keep`` positions only.

    The thinker always applies its LM head to every position (no ``logits_to_keep``), which at the
    real vocabulary is ``positions × 151,936`` values: for a G = 4 group of 900-token prompts about
    1 GiB of bf16 logits in the loss forward, and as much again for their gradient. A pre-hook on
    the LM head slices its input instead; the forward still goes through the model's own
    ``__call__`` (so DDP and PEFT wrappers see it) and gradients flow through the slice.
    """
    head = _lm_head(model)
    if head is None or keep <= 0:
        yield
        return
    handle = head.register_forward_pre_hook(lambda _m, args: (args[0][:, -keep:], *args[1:]))
    try:
        yield
    finally:
        handle.remove()


@dataclasses.dataclass
class PromptBatch:
    """Processor outputs for P prompts (left-padded) plus their 3-D positions.

    Attributes:
        inputs: ``input_ids``/``attention_mask`` ``[P, Lp]`` and the media tensors.
        positions: ``long[3, P, Lp]`` M-RoPE positions of the prompt tokens.
        next_position: ``long[P]``: the position of each prompt's first completion token.
    """

    inputs: dict[str, Any]
    positions: torch.Tensor
    next_position: torch.Tensor

    @property
    def size(self) -> int:
        return int(self.inputs["input_ids"].shape[0])

    @property
    def length(self) -> int:
        return int(self.inputs["input_ids"].shape[1])

    def to(self, device) -> PromptBatch:
        moved = {k: v.to(device) if hasattr(v, "to") else v for k, v in self.inputs.items()}
        return PromptBatch(moved, self.positions.to(device), self.next_position.to(device))

    def repeated(self, g: int) -> dict[str, Any]:
        """The inputs with every prompt repeated ``g`` times (the naive baseline)."""
        out = {"input_ids": self.inputs["input_ids"].repeat_interleave(g, 0),
               "attention_mask": self.inputs["attention_mask"].repeat_interleave(g, 0)}
        for key in MEDIA_KEYS:
            if key not in self.inputs:
                continue
            v = self.inputs[key]
            if key in ("pixel_values_videos", "pixel_values"):  # patches of all videos concatenated
                grid = self.inputs["video_grid_thw" if key == "pixel_values_videos" else "image_grid_thw"]
                sizes = grid.prod(-1).tolist()
                out[key] = torch.cat([c for c in torch.split(v, sizes) for _ in range(g)])
            else:
                out[key] = v.repeat_interleave(g, 0)
        return out


def make_prompt_batch(model, inputs: dict[str, Any]) -> PromptBatch:
    """Attach M-RoPE positions to processor outputs (left padding required for P > 1)."""
    base = _base(model)
    mask = inputs["attention_mask"]
    if mask.shape[0] > 1 and bool((mask[:, -1] == 0).any()):
        raise ValueError("prompts must be left-padded (tokenizer.padding_side = 'left')")
    fam = inputs.get("feature_attention_mask")
    positions, _ = base.get_rope_index(
        inputs["input_ids"], inputs.get("image_grid_thw"), inputs.get("video_grid_thw"), mask, False,
        fam.sum(-1) if fam is not None else None, inputs.get("video_second_per_grid"))
    masked = positions.masked_fill(mask[None] == 0, -1)
    next_position = masked.amax(dim=(0, 2)) + 1
    return PromptBatch(dict(inputs), positions, next_position)


def _completion_positions(batch: PromptBatch, g: int, length: int, offset: int = 0) -> torch.Tensor:
    start = batch.next_position.repeat_interleave(g) + offset
    pos = start[:, None] + torch.arange(length, device=start.device)[None]
    return pos.unsqueeze(0).expand(3, -1, -1)


def prefill(model, batch: PromptBatch, g: int):
    """Run the prompts once; return ``(cache repeated g times, last-token logits [P·g, V])``."""
    with last_logits(model, 1):
        out = model(**batch.inputs, position_ids=batch.positions, use_cache=True)
    cache = out.cache if getattr(out, "cache", None) is not None else out.past_key_values
    cache.batch_repeat_interleave(g)
    return cache, out.logits[:, -1].repeat_interleave(g, 0)


def _filter_logits(logits: torch.Tensor, temperature: float, top_p: float, top_k: int,
                   suppress: torch.Tensor | None) -> torch.Tensor:
    logits = logits.float()
    if suppress is not None and len(suppress):
        logits[:, suppress] = float("-inf")
    logits = logits / max(temperature, 1e-6)
    if top_k and top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        probs = torch.softmax(sorted_logits, -1)
        remove = probs.cumsum(-1) - probs > top_p  # keep the smallest set with mass ≥ top_p
        sorted_logits = sorted_logits.masked_fill(remove, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(1, order, sorted_logits)
    return logits


def _reserve(cache, extra: int) -> None:
    """Give every full-attention layer of a (prefilled) dynamic cache room for ``extra`` more tokens.

    transformers' ``DynamicLayer`` appends by ``torch.cat``, copying the whole cache at every decoding
    step (O(L²) for L tokens; on a CPU it was ~80 % of a rollout). A reserved layer writes the new
    keys and values in place into a buffer allocated once; attention reads the filled part. For
    decoding without gradients only (`sample_group`): in-place writes would break backward.
    """
    from transformers.cache_utils import DynamicLayer

    for layer in getattr(cache, "layers", ()):
        if type(layer) is DynamicLayer and layer.is_initialized and layer.keys.numel():
            layer.__class__ = _ReservedLayer
            layer.reserve(extra)


def _reserved_layer_class():
    from transformers.cache_utils import DynamicLayer

    class ReservedLayer(DynamicLayer):
        def reserve(self, extra: int) -> None:
            b, h, n, _ = self.keys.shape
            self._kbuf = self.keys.new_empty((b, h, n + extra, self.keys.shape[-1]))
            self._vbuf = self.values.new_empty((b, h, n + extra, self.values.shape[-1]))
            self._kbuf[:, :, :n] = self.keys
            self._vbuf[:, :, :n] = self.values
            self._n = n
            self.keys, self.values = self._kbuf[:, :, :n], self._vbuf[:, :, :n]

        def update(self, key_states, value_states, *args, **kwargs):
            m = key_states.shape[-2]
            if self._n + m > self._kbuf.shape[-2]:  # out of room: grow (rare; never in sample_group)
                self.reserve(max(m, self._kbuf.shape[-2]))
            self._kbuf[:, :, self._n:self._n + m] = key_states
            self._vbuf[:, :, self._n:self._n + m] = value_states
            self._n += m
            self.keys, self.values = self._kbuf[:, :, :self._n], self._vbuf[:, :, :self._n]
            return self.keys, self.values

        def batch_repeat_interleave(self, repeats: int) -> None:
            raise NotImplementedError("a reserved cache layer is for decoding only")

    return ReservedLayer


_ReservedLayer = _reserved_layer_class()


@dataclasses.dataclass
class GroupSample:
    """Completions of P prompts × G samples (rows ordered prompt-major)."""

    ids: torch.Tensor  # long[P·G, L] (pad after EOS)
    mask: torch.Tensor  # long[P·G, L]: tokens up to and including EOS
    finished: torch.Tensor  # bool[P·G]: ended with EOS


@torch.no_grad()
def _draw(probs: torch.Tensor, generator: torch.Generator | None, rows: tuple[int, int] | None) -> torch.Tensor:
    """One token per row of ``probs``: ``torch.multinomial(probs, 1)``, written as what it computes
    (``argmax(probs / q)``, ``q ~ Exp(1)``: torch's own single-sample path, bit-identical).

    ``rows = (offset, total)``: these rows are rows ``offset …`` of a batch of ``total`` rows spread
    over several processes; the noise of the whole batch is drawn and this slice used, so that each
    row gets the noise it would get in one process holding the whole batch. The noise is drawn on
    the generator's device (a CPU generator cannot drive a CUDA ``multinomial``)."""
    if rows is None:
        offset, total = 0, probs.shape[0]
    else:
        offset, total = rows
        if not 0 <= offset <= total - probs.shape[0]:
            raise ValueError(f"rows {rows} do not hold a slice of {probs.shape[0]} rows")
    where = generator.device if generator is not None else probs.device
    q = torch.empty((total, probs.shape[1]), dtype=probs.dtype, device=where).exponential_(1, generator=generator)
    return (probs / q[offset:offset + probs.shape[0]].to(probs.device)).argmax(-1)


def sample_group(model, batch: PromptBatch, g: int, max_new_tokens: int, eos_id: int, pad_id: int,
                 temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0, do_sample: bool = True,
                 suppress_tokens: list[int] | None = None, generator: torch.Generator | None = None,
                 noise_rows: tuple[int, int] | None = None,
                 all_finished: Callable[[bool], bool] | None = None) -> GroupSample:
    """Sample ``g`` completions per prompt with the prompt encoded once (see the module docstring).

    Several processes (data parallel): ``noise_rows = (first, total)`` places this process's
    ``batch.size * g`` rows in the global batch, so that the completions do not depend on how the
    prompts are spread over processes (`_draw`). ``all_finished(local) -> global`` makes decoding
    collective: a process whose rows have all ended keeps stepping (with padding) until every
    process's have, so every process runs the same number of forward passes whatever its prompts
    (needed where a forward pass is itself collective: FSDP / ZeRO-3 sharded weights)."""
    device = batch.inputs["input_ids"].device
    cache, logits = prefill(model, batch, g)
    _reserve(cache, max_new_tokens)
    n = batch.size * g
    attn = batch.inputs["attention_mask"].repeat_interleave(g, 0)
    suppress = torch.tensor(suppress_tokens, device=device) if suppress_tokens else None
    finished = torch.zeros(n, dtype=torch.bool, device=device)
    tokens = []
    for step in range(max_new_tokens):
        scores = _filter_logits(logits, temperature, top_p, top_k, suppress)
        if do_sample:
            nxt = _draw(torch.softmax(scores, -1), generator, noise_rows)
        else:
            nxt = scores.argmax(-1)
        nxt = torch.where(finished, torch.full_like(nxt, pad_id), nxt)
        tokens.append(nxt)
        finished = finished | (nxt == eos_id)
        done = bool(finished.all())
        if all_finished is not None:
            done = all_finished(done)
        if done or step == max_new_tokens - 1:
            break
        attn = torch.cat([attn, (~finished | (nxt == eos_id)).long()[:, None]], dim=1)
        pos = _completion_positions(batch, g, 1, offset=step)
        out = model(input_ids=nxt[:, None], attention_mask=attn, position_ids=pos, cache=cache, use_cache=True)
        logits = out.logits[:, -1]
    ids = torch.stack(tokens, 1) if tokens else torch.zeros((n, 0), dtype=torch.long, device=device)
    is_eos = ids == eos_id
    after = (is_eos.long().cumsum(1) - is_eos.long()) > 0  # strictly after the first EOS
    mask = (~after).long()
    return GroupSample(ids.masked_fill(after, pad_id), mask, is_eos.any(1))


def token_logps(logits: torch.Tensor, ids: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``float[B, L]``: log-probability of each ``ids[b, l]`` under ``logits[b, l]`` (``[B, L, V]``).

    Logits are divided by the sampling temperature, as TRL does, so that the ratio compares the
    distribution that was sampled from.
    """
    logits = logits.float() / temperature
    return torch.log_softmax(logits, dim=-1).gather(-1, ids.unsqueeze(-1)).squeeze(-1)


def completion_logps(model, batch: PromptBatch, ids: torch.Tensor, mask: torch.Tensor, g: int,
                     temperature: float = 1.0) -> torch.Tensor:
    """``float[P·G, L]`` log-probabilities of the completions, prompt encoded once (differentiable)."""
    cache, first = prefill(model, batch, g)
    if ids.shape[1] == 0:
        return ids.float()
    attn = torch.cat([batch.inputs["attention_mask"].repeat_interleave(g, 0), mask], dim=1)
    pos = _completion_positions(batch, g, ids.shape[1])
    out = model(input_ids=ids, attention_mask=attn, position_ids=pos, cache=cache, use_cache=True)
    logits = torch.cat([first[:, None], out.logits[:, :-1]], dim=1)
    return token_logps(logits, ids, temperature)


def naive_completion_logps(model, batch: PromptBatch, ids: torch.Tensor, mask: torch.Tensor, g: int,
                           temperature: float = 1.0) -> torch.Tensor:
    """The same log-probabilities from one forward over the prompt repeated ``g`` times."""
    rep = batch.repeated(g)
    input_ids = torch.cat([rep["input_ids"], ids], dim=1)
    attn = torch.cat([rep["attention_mask"], mask], dim=1)
    positions = torch.cat([batch.positions.repeat_interleave(g, 1),
                           _completion_positions(batch, g, ids.shape[1])], dim=2)
    media = {k: v for k, v in rep.items() if k not in ("input_ids", "attention_mask")}
    with last_logits(model, ids.shape[1] + 1):  # the last prompt position and the completion
        out = model(input_ids=input_ids, attention_mask=attn, position_ids=positions, **media)
    logits = out.logits[:, :-1]
    return token_logps(logits, ids, temperature)


def encode_prompts(reasoner, samples: Sequence[Sample]):
    """The processor outputs of a reasoner's prompts for many samples, as one batch (its messages,
    media and pixel budgets, as ``GlobalReasoner.encode`` does for one; padding as the tokenizer's
    ``padding_side``, which `make_prompt_batch` wants on the left)."""
    from omni_r1_lite.models import prepare_inputs

    media = [reasoner.media(s) for s in samples]
    lo = min(16 * 28 * 28, reasoner.cfg.frame_max_pixels)
    px = (lo, reasoner.cfg.frame_max_pixels)
    videos = [m["videos"][0] for m in media if m.get("videos")]
    images = [m["images"][0] for m in media if m.get("images")]
    audio = [m["audio"][0] for m in media if m.get("audio")]
    return prepare_inputs(reasoner.processor, [reasoner.messages(s) for s in samples], videos=videos or None,
                          images=images or None, audio=audio or None, video_pixels=px, image_pixels=px)


@torch.no_grad()
def greedy_completions(reasoner, samples: Sequence[Sample], max_new_tokens: int, batch_size: int = 16):
    """Greedy completions of a reasoner (`omni_r1_lite.systems.reasoner`) for many samples, prompts
    batched (left padding) and encoded once: what held-out evaluation and benchmarks decode with."""
    model = reasoner.model
    was_training = model.training
    model.eval()
    reasoner.processor.tokenizer.padding_side = "left"
    out = []
    for i in range(0, len(samples), batch_size):
        inputs = encode_prompts(reasoner, samples[i:i + batch_size])
        batch = make_prompt_batch(model, dict(inputs)).to(model.device)
        res = sample_group(model, batch, 1, max_new_tokens, reasoner.eos_id, reasoner.pad_id, do_sample=False,
                           suppress_tokens=reasoner.suppress_tokens)
        out.extend(reasoner.decode(res.ids))
    if was_training:
        model.train()
    return out
