"""The GRPO objective: per-token clipped policy gradient with a k3 KL term, TRL's loss types.

With per-token log-probabilities ``logp`` of the policy, ``old`` of the policy that sampled (equal
to ``logp.detach()`` with one update per batch, as in the paper), ``ref`` of the reference (the
base model with adapters disabled) and the group-normalised advantage ``A`` of each completion::

    ratio    = exp(logp - old)
    pg       = -min(ratio · A, clip(ratio, 1 - ε_low, 1 + ε_high) · A)
    kl       = exp(ref - logp) - (ref - logp) - 1                  (k3, ≥ 0)
    per_tok  = pg + β · kl

and the loss aggregates ``per_tok`` over the completion mask like TRL's ``GRPOTrainer``
(``tests/test_grpo_loss.py`` checks equality with TRL on a text-only case):

- ``grpo``: mean over each sequence's tokens, then mean over sequences (length-biased);
- ``dr_grpo``: sum over all tokens / (sequences × ``max_completion_length``);
- ``dapo``: sum over all tokens / tokens in the whole (accumulated) batch.

>>> import torch
>>> logp = torch.log(torch.tensor([[0.5, 0.5], [0.25, 0.5]]))
>>> mask = torch.tensor([[1, 1], [1, 0]])
>>> out = grpo_loss(logp, logp.detach(), logp.detach(), torch.tensor([1.0, -1.0]), mask, beta=0.04)
>>> float(out.loss), float(out.kl)   # ratio 1 and ref == policy: pg = -A, kl = 0
(0.0, 0.0)
"""

from __future__ import annotations

import dataclasses

import torch

LOSS_TYPES = ("grpo", "dr_grpo", "dapo")


@dataclasses.dataclass
class LossOutput:
    loss: torch.Tensor  # scalar, to backpropagate
    policy_loss: float
    kl: float  # mean k3 KL per completion token
    clip_ratio: float  # fraction of tokens whose ratio was clipped
    tokens: int
    anchor_loss: float | None = None  # the trainer's SFT anchor, when it has one (grpo.sft_anchor_weight)


def grpo_loss(logps: torch.Tensor, old_logps: torch.Tensor, ref_logps: torch.Tensor | None,
              advantages: torch.Tensor, mask: torch.Tensor, beta: float = 0.04, epsilon: float = 0.2,
              epsilon_high: float | None = None, loss_type: str = "grpo", max_completion_length: int | None = None,
              num_items_in_batch: int | None = None) -> LossOutput:
    """The GRPO loss of one micro-batch (see the module docstring).

    Args:
        logps, old_logps, ref_logps: ``float[B, L]`` per completion token (``ref_logps`` may be
            ``None`` when ``beta == 0``).
        advantages: ``float[B]``.
        mask: ``{0,1}[B, L]``: completion tokens up to and including EOS.
        max_completion_length: needed by ``dr_grpo``.
        num_items_in_batch: tokens in the whole accumulated batch for ``dapo`` (default: this
            micro-batch's).
    """
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")
    mask = mask.to(logps.dtype)
    adv = advantages.to(logps.dtype).unsqueeze(1)
    ratio = torch.exp(logps - old_logps)
    high = epsilon if epsilon_high is None else epsilon_high
    clipped = torch.clamp(ratio, 1 - epsilon, 1 + high)
    per_token = -torch.min(ratio * adv, clipped * adv)
    kl = torch.zeros_like(logps)
    if beta != 0.0:
        if ref_logps is None:
            raise ValueError("beta > 0 needs the reference log-probabilities")
        delta = ref_logps - logps
        kl = torch.exp(delta) - delta - 1
        per_token = per_token + beta * kl
    tokens = mask.sum()
    if loss_type == "grpo":
        loss = ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    elif loss_type == "dr_grpo":
        if not max_completion_length:
            raise ValueError("dr_grpo needs max_completion_length")
        loss = (per_token * mask).sum() / (per_token.size(0) * max_completion_length)
    else:
        denom = tokens if num_items_in_batch is None else torch.tensor(float(num_items_in_batch))
        loss = (per_token * mask).sum() / denom.clamp(min=1.0)
    with torch.no_grad():
        n = tokens.clamp(min=1.0)
        was_clipped = ((ratio < 1 - epsilon) & (adv < 0)) | ((ratio > 1 + high) & (adv > 0))
        stats = dict(kl=float((kl * mask).sum() / n), clip_ratio=float((was_clipped.to(mask.dtype) * mask).sum() / n))
    return LossOutput(loss=loss, policy_loss=float(loss.detach()), tokens=int(tokens), **stats)
