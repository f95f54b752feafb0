"""Scoring a GRPO group: named reward sets, the weighted total, the length bonus, advantages.

**Reward sets** (the paper's ablation, Table 4; each includes ``format``):

============== =================================================================
``R_K``         format + k_parse, k_presence, k_num, k_diversity, k_saliency
``R_G``         format + r_g
``R_K+R_A``     R_K + r_a, a_surplus
``R_K+R_G``     R_K + r_g
``R_K+R_A+R_G`` everything (default; the official final script)
============== =================================================================

AVS samples (RefAVS) always use ``format`` + ``avs_iou`` — the official ``refavs_reward`` has no
keyframe, alignment or SAM2 term. Which parts of R_K the paper's "R_G only" row kept is not
stated; here the parsing credit (``k_parse``, ``k_presence``) belongs to R_K.

**Total** of one rollout (weights from `RewardConfig`, official values by default):

``total = w_f·format + gate · Σ_c w_c·value_c + length_bonus``

with ``w_c``: ``alpha_parse`` (1) for k_parse and k_presence, ``alpha_k`` (1) for k_num and
k_diversity, ``alpha_k_ratio`` (0) for k_saliency, ``alpha_a`` (1) for r_a, 1 for a_surplus,
``alpha_g`` (2) for r_g, ``alpha_avs`` (1) for avs_iou. This is the official ``handle_rewards``
sum (``cumulated + α_k·(frame + overlap) + α_k_ratio·avg_ratio + α_a·avg_iou + mismatch +
α_g·sam_iou``) plus the format reward. **Strict gate** (``strict_format=True``, the default and
a deliberate deviation): when the format check fails — including a completion that did not end
with EOS — ``gate = 0``, so the total is 0 whatever else the answer holds (the calibration's
fix for format drift, ``reference/cpu-learning-calibration.md``). With ``strict_format=False`` the
format reward is additive, as in the official code (``gate = 1``). The official ``CLIP_REWARD``
fallback is not implemented (off in the final script).

**Length bonus** (official ``--len_control``, off by default): when more than one rollout of the
group has accuracy (the total without format and bonus) above 0.1, each of those whose length is
in 320–750 tokens (EOS included, as the official completion mask counts) gets +1.

**Advantages** (`group_advantages`): ``A = (r − mean_group) / (std_group + 1e-4)`` with the
*sample* standard deviation (``ddof=1``, Bessel-corrected), because the official trainer and
TRL both call ``torch.std``, which is unbiased by default. ``scale="none"`` gives
``r − mean`` (Dr. GRPO / TRL ``scale_rewards=False``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from omni_r1_lite.config import RewardConfig
from omni_r1_lite.data.schema import Sample
from omni_r1_lite.rewards.functions import REWARDS, RewardInput, format_ok, safe_value, weight
from omni_r1_lite.rewards.truth import GroundTruth
from omni_r1_lite.systems.pipeline import Rollout

__all__ = [
    "AVS_SET", "COMPONENT_GROUP", "REWARD_SETS", "RewardBreakdown", "get_reward_set", "group_advantages",
    "length_bonus", "score_completions", "score_group",
]

_R_K = ("k_parse", "k_presence", "k_num", "k_diversity", "k_saliency")
_R_A = ("r_a", "a_surplus")
_R_G = ("r_g",)

REWARD_SETS: dict[str, tuple[str, ...]] = {
    "R_K": ("format", *_R_K),
    "R_G": ("format", *_R_G),
    "R_K+R_A": ("format", *_R_K, *_R_A),
    "R_K+R_G": ("format", *_R_K, *_R_G),
    "R_K+R_A+R_G": ("format", *_R_K, *_R_A, *_R_G),
}
"""The paper's ablation rows: the components each set adds up (VOS samples)."""

AVS_SET: tuple[str, ...] = ("format", "avs_iou")
"""The components of an AVS (RefAVS) sample, whatever the set."""

COMPONENT_GROUP: dict[str, str] = {
    "format": "format", **{c: "R_K" for c in _R_K}, **{c: "R_A" for c in _R_A}, "r_g": "R_G",
    "avs_iou": "R_AVS", "length_bonus": "length",
}
"""Which paper term each component belongs to (for tables and stacked bars)."""


def get_reward_set(name: str, task: str = "VOS") -> tuple[str, ...]:
    """The components of reward set ``name`` for a task.

    >>> get_reward_set("R_K+R_G")
    ('format', 'k_parse', 'k_presence', 'k_num', 'k_diversity', 'k_saliency', 'r_g')
    >>> get_reward_set("R_G", task="AVS")
    ('format', 'avs_iou')
    """
    if name not in REWARD_SETS:
        raise KeyError(f"unknown reward set {name!r}; choose one of {sorted(REWARD_SETS)}")
    return AVS_SET if task == "AVS" else REWARD_SETS[name]


@dataclasses.dataclass(frozen=True)
class RewardBreakdown:
    """One rollout's reward.

    Attributes:
        values: each active component's unweighted value (before the gate), by name.
        weighted: each component's contribution to ``total`` (weight × value, 0 when gated),
            plus ``length_bonus``.
        total: the scalar the advantages are computed from.
        format_ok: the format check passed.
        gated: the strict gate zeroed everything (format failed with ``strict_format``).
        errors: internal errors caught by the safety net (always empty unless there is a bug).
    """

    values: dict[str, float]
    weighted: dict[str, float]
    total: float
    format_ok: bool
    gated: bool
    errors: tuple[str, ...] = ()

    @property
    def accuracy(self) -> float:
        """The total without format and length bonus (the official "accuracy" reward)."""
        return float(sum(v for k, v in self.weighted.items() if k not in ("format", "length_bonus")))

    def by_group(self) -> dict[str, float]:
        """Weighted contributions summed per paper term: format, R_K, R_A, R_G (R_AVS, length)."""
        out: dict[str, float] = {}
        for k, v in self.weighted.items():
            g = COMPONENT_GROUP.get(k, k)
            out[g] = out.get(g, 0.0) + v
        return out


def length_bonus(accuracies: Sequence[float], lengths: Sequence[int] | None, cfg: RewardConfig) -> list[float]:
    """The official length bonus per rollout (zeros unless ``cfg.length_bonus``).

    >>> cfg = RewardConfig(length_bonus=True)
    >>> length_bonus([0.5, 0.9, 0.0, 0.7], [400, 100, 400, 700], cfg)
    [1.0, 0.0, 0.0, 1.0]
    >>> length_bonus([0.5, 0.0], [400, 400], cfg)  # only one rollout above 0.1: no bonus
    [0.0, 0.0]
    """
    n = len(accuracies)
    if not cfg.length_bonus or lengths is None:
        return [0.0] * n
    lo, hi = cfg.length_range
    chosen = [i for i, a in enumerate(accuracies) if a > cfg.length_min_accuracy]
    if len(chosen) <= 1:
        return [0.0] * n
    out = [0.0] * n
    for i in chosen:
        try:
            if lo <= int(lengths[i]) <= hi:
                out[i] = float(cfg.length_bonus_value)
        except (TypeError, ValueError, IndexError):
            continue
    return out


def _check_frames(truth: GroundTruth, rollouts: Sequence[Rollout]) -> None:
    for r in rollouts:
        plan = r.plan
        if truth.task != "VOS" or not getattr(plan, "ok", False):
            continue
        try:
            mapped = tuple(dict.fromkeys(truth.sampled[k] for k in plan.keyframes))
        except IndexError:
            mapped = None
        if mapped != tuple(r.keyframes):
            raise ValueError("sampled_frames do not match the rollouts' keyframes: pass "
                             "pipeline.sampled_frames(sample) (or use score_completions)")


def _format_ok(x: RewardInput, cfg: RewardConfig, errors: list[str]) -> bool:
    try:
        return format_ok(x, cfg)
    except Exception as e:  # pragma: no cover - format_ok does not raise on model output
        errors.append(f"format: {type(e).__name__}: {e}")
        return False


def score_group(
    sample: Sample | GroundTruth,
    rollouts: Sequence[Rollout],
    cfg: RewardConfig,
    finished: Sequence[bool | None] | None = None,
    lengths: Sequence[int] | None = None,
    *,
    sampled_frames: Sequence[int] | None = None,
    reward_set: str | None = None,
) -> list[RewardBreakdown]:
    """Score a group of rollouts of one sample: per-component values and the weighted total.

    Args:
        sample: the `Sample` (its `GroundTruth` is built once here) or a prebuilt `GroundTruth`.
        rollouts: ``pipeline.run(sample, completions)`` — System 2 was reached only through the
            pipeline's caches; nothing here calls it.
        cfg: weights, set and switches.
        finished: per rollout, whether the completion ended with EOS (``None``: look for the EOS
            token at the end of the text).
        lengths: completion tokens (EOS included), for the length bonus.
        sampled_frames: the clip frame behind each System-1 frame (``pipeline.sampled_frames``);
            default every clip frame. Checked against the rollouts' keyframes.
        reward_set: override ``cfg.reward_set``.

    Never raises on model output; a bug in a reward function is caught, scored 0 and listed in
    ``RewardBreakdown.errors``.

    >>> import numpy as np
    >>> from omni_r1_lite.rewards.functions import toy_input
    >>> m = np.zeros((1, 2, 8, 8), bool); m[0, :, 2:5, 2:5] = True
    >>> ok = toy_input('<think>.</think><answer>{"start_time": "00:00.00", "end_time": "00:00.00", '
    ...                '"description": "the square"}</answer>', m, boxes={0: [[2, 2, 4, 4]]}, masks=m[0])
    >>> junk = toy_input("junk", m)
    >>> out = score_group(ok.truth, [ok.rollout, junk.rollout], RewardConfig(), finished=[True, True])
    >>> [round(b.total, 2) for b in out], out[0].by_group()["R_G"], out[1].gated
    ([6.0, 0.0], 2.0, True)
    """
    truth = sample if isinstance(sample, GroundTruth) else GroundTruth.from_sample(sample, sampled_frames)
    _check_frames(truth, rollouts)
    names = get_reward_set(reward_set or cfg.reward_set, truth.task)
    n = len(rollouts)
    finished = list(finished) if finished is not None else [None] * n
    if len(finished) != n or (lengths is not None and len(lengths) != n):
        raise ValueError("finished and lengths need one entry per rollout")
    rows = []
    for i, r in enumerate(rollouts):
        x = RewardInput(r, truth, finished[i], None if lengths is None else lengths[i])
        errors: list[str] = []
        ok = _format_ok(x, cfg, errors)
        gated = cfg.strict_format and not ok
        values, weighted = {}, {}
        for name in names:
            v, err = safe_value(REWARDS[name], x, cfg)
            if err:
                errors.append(err)
            values[name] = v
            weighted[name] = 0.0 if (gated and name != "format") else weight(name, cfg) * v
        rows.append((values, weighted, ok, gated, tuple(errors)))
    accuracies = [sum(v for k, v in w.items() if k != "format") for _, w, *_ in rows]
    bonus = length_bonus(accuracies, lengths, cfg)
    out = []
    for (values, weighted, ok, gated, errors), b in zip(rows, bonus):
        if cfg.length_bonus:
            weighted["length_bonus"] = b
        out.append(RewardBreakdown(values, weighted, float(sum(weighted.values())), ok, gated, errors))
    return out


def score_completions(pipeline, sample: Sample, completions: Sequence[str], cfg: RewardConfig,
                      finished: Sequence[bool | None] | None = None, lengths: Sequence[int] | None = None,
                      reward_set: str | None = None) -> tuple[list[Rollout], list[RewardBreakdown]]:
    """Run a group through the pipeline (System 2 via its caches; SAM2-style segmentation only
    when the set needs R_G) and score it: ``(rollouts, breakdowns)``."""
    names = get_reward_set(reward_set or cfg.reward_set, sample.task)
    rollouts = pipeline.run(sample, list(completions), segment="r_g" in names)
    breakdowns = score_group(sample, rollouts, cfg, finished, lengths,
                             sampled_frames=pipeline.sampled_frames(sample), reward_set=reward_set)
    return rollouts, breakdowns


def group_advantages(totals, eps: float = 1e-4, scale: str = "group", ddof: int = 1) -> np.ndarray:
    """Group-normalised advantages ``(r − mean) / (std + eps)`` (the paper's and TRL's GRPO).

    ``totals``: ``[G]`` (one group) or ``[B, G]`` (one group per row). ``scale``: ``"group"``
    (std within each group), ``"batch"`` (one std over all rows, TRL's ``scale_rewards="batch"``)
    or ``"none"`` (``r − mean`` only). ``ddof=1``: the sample std of ``torch.std`` (official code
    and TRL); a group of one, or of identical rewards, gets advantages 0. Returns ``float64``.

    >>> group_advantages([1.0, 2.0, 3.0]).round(4).tolist()  # std = 1 (sample std)
    [-0.9999, 0.0, 0.9999]
    >>> group_advantages([[0, 0], [0, 2]], scale="none").tolist()
    [[0.0, 0.0], [-1.0, 1.0]]
    >>> group_advantages([5.0, 5.0, 5.0]).tolist()
    [0.0, 0.0, 0.0]
    """
    r = np.nan_to_num(np.asarray(totals, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    one = r.ndim == 1
    r = np.atleast_2d(r)
    centred = r - r.mean(axis=-1, keepdims=True)
    if scale == "none":
        out = centred
    elif scale in ("group", "batch"):
        axis = -1 if scale == "group" else None
        count = r.shape[-1] if scale == "group" else r.size
        std = r.std(axis=axis, ddof=ddof, keepdims=True) if count > ddof else np.zeros((1, 1))
        out = centred / (std + eps)
    else:
        raise ValueError(f"scale must be 'group', 'batch' or 'none', got {scale!r}")
    return out[0] if one else out
