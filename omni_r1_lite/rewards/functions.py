"""The reward functions: pure, one per component, chosen by name from `REWARDS`.

Every function has the signature ``fn(x: RewardInput, cfg: RewardConfig) -> float``: it reads one
rollout (System 1's completion, its parsed `Plan`, and System 2's boxes and masks, which the
pipeline computed and cached) and the sample's `GroundTruth`; it never calls System 2, never
raises on model output and never returns NaN. Values are *unweighted*; `score_group` applies the
weights from `RewardConfig` and the strict format gate.

**Where each number comes from** (official = ``aim-uofa/Omni-R1`` ``src/omni_r1/reward.py`` and
``load_datasets/revos.py``; paper = arXiv 2505.20256 §3.3):

===============  ==========================================================================
``format``       1 if the completion is exactly ``<think>…</think>\\s*<answer>…</answer>``
                 (official ``format_reward`` regex; the kit's check also refuses nested
                 think/answer tags). With ``strict_format`` the completion must also have
                 ended with EOS (kit: the calibration's gating reward; the official decodes
                 with ``skip_special_tokens`` and never checks EOS).
``k_parse``      official ``cumulated_reward`` without its mask-ratio part:
                 ``c·(B + W + V) / B`` with ``c = parse_credit = 0.2``, ``B`` JSON blocks,
                 ``W`` moments with readable times and a description, ``V`` moments kept
                 (start ≤ end ≤ N/2 s). In [0, 0.6].
``k_presence``   the mask-ratio part of ``cumulated_reward``: ``presence_credit`` × Σ over kept
                 moments of the fraction of (target, frame) pairs in the moment where the target
                 is visible, ÷ ``B``. In [0, 1].
``k_num``        official ``total_frame_reward`` (paper R_num): ``U`` unique frames over kept
                 moments; ``0.4·U`` if ``U ≤ K0`` else ``0.4·(2·K0 − 1 − U)`` (``(7 − U)·0.4``
                 for K0 = 4). In (−∞, 1.6].
``k_diversity``  official ``total_overlap_reward`` (paper R_diversity's overlap punishment):
                 ``−0.2·(frames − 1)`` per kept moment, ``−0.5`` per repeated frame occurrence
                 (occurrences − unique frames; a frame in 3 moments counts 2, as in the code).
``k_saliency``   paper R_saliency = official ``avg_ratio``: mean over the plan's keyframes of the
                 targets' area ÷ its maximum over System 1's frames (weight ``alpha_k_ratio``,
                 0 in the final script). The official code divides by ``max + 1e-6``; the kit
                 divides exactly (0 when the targets are never visible).
``r_a``          paper R_A = official ``avg_iou``: per keyframe, the first ``O`` System-2 boxes
                 (``O`` = target objects) are Hungarian-matched to the visible targets' boxes;
                 mean matched IoU over (target, keyframe) pairs where the target is visible (an
                 unmatched target scores 0); 0 when there is no such pair.
``a_surplus``    official ``object_num_mismatch``: ``−0.5 · Σ_k max(0, n_k − O) / O / K`` for
                 ``n_k`` boxes on keyframe ``k`` of ``K``. The official counts JSON blocks in the
                 grounding text; the kit counts the boxes System 2 returned.
``r_g``          paper R_G = official ``sam_iou``: mean over frames of DAVIS J (the kit's
                 ``metrics.jaccard``; an empty prediction on an empty frame scores 1) between the
                 propagated masks and the union of the targets' masks.
``avs_iou``      official ``refavs_reward``: IoU of the first System-2 box on the grounded frame
                 with the box of the ground-truth mask there (mean over grounded frames when
                 ``avs_keyframes > 1``).
===============  ==========================================================================

**Paper ↔ code, and normalisation.** The paper writes R_K = λ1·R_diversity + λ2·R_num +
λ3·R_saliency with R_diversity = overlap_punish·|I| + dist_reward·(M − |I|) (|I| repeated
keyframes among M) and gives no values; the kit takes the official code's terms and values. In
the code the positive ``dist_reward·(M − |I|)`` part is the count term ``0.4·U`` (``U = M − |I|``
unique frames, while ``U ≤ K0``), so ``k_num`` carries it together with the fall-off beyond K0, and
``k_diversity`` carries ``overlap_punish = −0.5`` per repeat plus the code's per-moment length
penalty (not in the paper). λ1 = λ2 = ``alpha_k``, λ3 = ``alpha_k_ratio``. Normalisation is the
code's: ``k_parse`` and ``k_presence`` are divided by the number of JSON blocks (the code's
``cumulated / js_number``), ``k_num`` and ``k_diversity`` are totals (not averaged over moments),
saliency is a ratio to the per-clip maximum, ``r_a`` and ``r_g`` are means in [0, 1]. The parsing
credit (``k_parse`` + ``k_presence``) is the code's ``cumulated_reward``; the paper does not
mention it. The best VOS total with the default weights is 7.2 (format 1 + parse 0.6 + presence 1
+ count 1.6 + R_A 1 + 2·R_G 1).

**Deliberate deviations** (each also noted where it is made):

- *Box IoU at x = 0* — the official returns 0 whenever the GT box has ``x1 = 0``; not copied
  (`omni_r1_lite.rewards.boxes`).
- *No keyframe, no System-2 reward* — ``r_a``, ``a_surplus``, ``r_g`` and ``avs_iou`` are 0 when
  the plan has no keyframe (as the official, which skips System 2 then).
- *R_G without boxes* — as the official (SAM2 is skipped), R_G is 0 when System 2 found no box
  on any keyframe although the expression has targets; it is *not* the J of the empty masks (which
  would still earn J = 1 on every frame where the target is absent). Otherwise R_G is exactly the
  rollout's benchmark J.
- *Null expressions* (``O = 0``, never in the official training data nor in OmniSynth's train
  split): ``r_g`` is the J of the masks (1 when nothing is found), ``r_a`` is 1 when System 2 found
  no box on any keyframe, else 0; every box is surplus (divided by 1, not ``O + 1e-6``); presence
  and saliency are 0; ``avs_iou`` is 1 for no box, 0 for a box.
- *R_G frames* — ``rg_frames="clip"`` (default) scores every clip frame, the benchmark's J; the
  official scores System 1's sampled frames (``"sampled"``). Identical when System 1 sees every
  frame (the CPU presets).
- *Saliency/presence frames* — System 1's sampled frames, as the official (the paper says "the
  clip"); the maximum is over those frames so that 1 is reachable.
- *Parsing* — blocks, times and descriptions are read by the kit's lenient parser
  (`omni_r1_lite.systems.parsing`): nested or repaired JSON counts, ``00:01.5`` is 1.5 s (the
  official reads hundredths: 1.05 s) and bare seconds are accepted with credit.
- *The official caps targets at 3 per expression* (``select_number``); the kit uses them all.
- *Boxes with NaN/inf* (a broken System 2) are dropped before matching and counting.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from omni_r1_lite.config import RewardConfig
from omni_r1_lite.rewards.boxes import box_iou, boxes_from_masks, match_boxes, valid_boxes
from omni_r1_lite.rewards.truth import GroundTruth
from omni_r1_lite.systems.parsing import Plan, check_format, parse_avs_answer, parse_vos_answer
from omni_r1_lite.systems.pipeline import Rollout

__all__ = ["REWARDS", "RewardFn", "RewardInput", "get_reward", "toy_input"]

_UNREADABLE = ("missing_time", "bad_time", "missing_description")


@dataclasses.dataclass(frozen=True)
class RewardInput:
    """What a reward function reads for one rollout.

    Attributes:
        rollout: the completion through the pipeline (plan, clip keyframes, boxes, masks).
        truth: the sample's `GroundTruth` (shared by the group).
        finished: the completion ended with EOS (``None``: unknown — then a strict format check
            looks for the EOS token at the end of the text).
        length: completion tokens up to and including EOS (for the length bonus only).
    """

    rollout: Rollout
    truth: GroundTruth
    finished: bool | None = None
    length: int | None = None


RewardFn = Callable[[RewardInput, RewardConfig], float]


def toy_input(text: str, object_masks, boxes: dict | None = None, masks=None, finished: bool | None = True,
              task: str = "VOS") -> RewardInput:
    """A `RewardInput` for examples and tests: System 1 sees every frame of ``object_masks``
    (``bool[O, T, H, W]``); ``boxes``/``masks`` stand for System 2's output.

    >>> m = np.zeros((1, 4, 8, 8), bool); m[0, :, 2:5, 2:5] = True
    >>> x = toy_input('<think>.</think><answer>{"start_time": "00:00.50", "end_time": "00:00.50", '
    ...               '"description": "the square"}</answer>', m)
    >>> x.rollout.keyframes, x.truth.num_objects
    ((1,), 1)
    """
    om = np.asarray(object_masks, dtype=bool)
    truth = GroundTruth.from_masks(om, task=task)
    plan = parse_avs_answer(text) if task == "AVS" else parse_vos_answer(text, truth.num_frames)
    keyframes = tuple(plan.keyframes) if plan.ok else ()
    descriptions = tuple(plan.descriptions) if plan.ok else ()
    rollout = Rollout(text, plan, keyframes, descriptions,
                      {k: np.asarray(v) for k, v in (boxes or {}).items()}, masks)
    return RewardInput(rollout, truth, finished)


# ----------------------------------------------------------------------------- format


def format_ok(x: RewardInput, cfg: RewardConfig) -> bool:
    """The format check behind `format_reward` (and the strict gate)."""
    text = x.rollout.completion
    if not isinstance(text, str):
        return False
    if x.finished is None:
        return check_format(text, require_eos=cfg.strict_format)
    return check_format(text) and (bool(x.finished) or not cfg.strict_format)


def format_reward(x: RewardInput, cfg: RewardConfig) -> float:
    """1.0 for ``<think>…</think><answer>…</answer>`` (and, when strict, an EOS-terminated completion).

    >>> m = np.ones((1, 2, 4, 4), bool)
    >>> cfg = RewardConfig()
    >>> format_reward(toy_input("<think>a</think><answer>b</answer>", m, finished=True), cfg)
    1.0
    >>> format_reward(toy_input("<think>a</think><answer>b</answer>", m, finished=False), cfg)  # no EOS
    0.0
    >>> format_reward(toy_input("<answer>b</answer>", m), cfg)
    0.0
    """
    return 1.0 if format_ok(x, cfg) else 0.0


# ----------------------------------------------------------------------------- R_K


def _kept(plan: Plan) -> list:
    return [m for m in plan.moments if m.valid and m.last_frame >= m.first_frame >= 0]


def _frames(plan: Plan) -> tuple[list[int], int]:
    """All covered frame occurrences of the kept moments, and the number of unique frames."""
    occ = [f for m in _kept(plan) for f in m.frames]
    return occ, len(set(occ))


def keyframe_parse(x: RewardInput, cfg: RewardConfig) -> float:
    """Parsing credit (official ``cumulated_reward`` minus its mask ratio): ``c·(B + W + V)/B``.

    >>> m = np.ones((1, 8, 4, 4), bool)
    >>> good = '{"start_time": "00:01.00", "end_time": "00:01.00", "description": "x"}'
    >>> late = '{"start_time": "00:09.00", "end_time": "00:09.00", "description": "x"}'  # beyond 4 s
    >>> text = f"<think>.</think><answer>{good}{late}</answer>"
    >>> round(keyframe_parse(toy_input(text, m), RewardConfig()), 4)  # 0.2·(2 + 2 + 1) / 2
    0.5
    """
    plan = x.rollout.plan
    blocks = int(getattr(plan, "num_objects", 0) or 0)
    if blocks <= 0:
        return 0.0
    formed = sum(1 for m in plan.moments if m.issue not in _UNREADABLE)
    valid = len(_kept(plan))
    return cfg.parse_credit * (blocks + formed + valid) / blocks


def keyframe_presence(x: RewardInput, cfg: RewardConfig) -> float:
    """Per kept moment, the fraction of (target, frame) pairs where the target is visible; ÷ blocks.

    >>> m = np.zeros((1, 8, 4, 4), bool); m[0, 2] = True  # target visible on frame 2 only
    >>> one = lambda a, b: f'{{"start_time": "00:0{a}.00", "end_time": "00:0{b}.00", "description": "x"}}'
    >>> text = f"<think>.</think><answer>{one(1, 1)}{one(0, 0)}</answer>"  # frames 2 and 0
    >>> keyframe_presence(toy_input(text, m), RewardConfig())  # (1 + 0) / 2 blocks
    0.5
    """
    plan, truth = x.rollout.plan, x.truth
    blocks = int(getattr(plan, "num_objects", 0) or 0)
    if blocks <= 0 or truth.num_objects == 0:
        return 0.0
    present = truth.present
    total = 0.0
    for m in _kept(plan):
        clip = [truth.sampled[f] for f in m.frames if 0 <= f < len(truth.sampled)]
        if clip:
            total += float(present[:, clip].mean())
    return cfg.presence_credit * total / blocks


def keyframe_num(x: RewardInput, cfg: RewardConfig) -> float:
    """Count term R_num: ``0.4·U`` for ``U ≤ K0`` unique frames, then ``0.4·(2·K0 − 1 − U)``.

    >>> m = np.ones((1, 10, 4, 4), bool)
    >>> mom = lambda s: f'{{"start_time": "00:0{s}.00", "end_time": "00:0{s}.00", "description": "x"}}'
    >>> text = lambda n: "<think>.</think><answer>" + "".join(mom(s) for s in range(n)) + "</answer>"
    >>> [round(keyframe_num(toy_input(text(n), m), RewardConfig()), 2) for n in (1, 4, 5)]
    [0.4, 1.6, 0.8]
    """
    _, unique = _frames(x.rollout.plan)
    if unique == 0:
        return 0.0
    k0 = int(cfg.k0)
    return cfg.count_reward * (unique if unique <= k0 else 2 * k0 - 1 - unique)


def keyframe_diversity(x: RewardInput, cfg: RewardConfig) -> float:
    """R_diversity (official ``total_overlap_reward``): ``−0.2·(frames − 1)`` per moment, ``−0.5`` per repeat.

    >>> m = np.ones((1, 8, 4, 4), bool)
    >>> span = '{"start_time": "00:00.00", "end_time": "00:01.00", "description": "x"}'  # frames 0-2
    >>> dup = '{"start_time": "00:01.00", "end_time": "00:01.00", "description": "x"}'  # frame 2 again
    >>> round(keyframe_diversity(toy_input(f"<think>.</think><answer>{span}{dup}</answer>", m), RewardConfig()), 4)
    -0.9
    """
    plan = x.rollout.plan
    occ, unique = _frames(plan)
    length = sum(-cfg.segment_length_penalty * (len(m.frames) - 1) for m in _kept(plan))
    return length - cfg.overlap_penalty * (len(occ) - unique)


def keyframe_saliency(x: RewardInput, cfg: RewardConfig) -> float:
    """R_saliency: mean over the plan's keyframes of target area ÷ its max over System 1's frames.

    >>> m = np.zeros((1, 4, 10, 10), bool); m[0, 1, :5, :] = True; m[0, 3, :, :] = True
    >>> mom = lambda s: f'{{"start_time": "00:0{s}.50", "end_time": "00:0{s}.50", "description": "x"}}'
    >>> keyframe_saliency(toy_input(f"<think>.</think><answer>{mom(0)}{mom(1)}</answer>", m), RewardConfig())
    0.75
    """
    plan, truth = x.rollout.plan, x.truth
    if not plan.ok:
        return 0.0
    area = truth.area[list(truth.sampled)]
    peak = float(area.max()) if area.size else 0.0
    kf = [k for k in plan.keyframes if 0 <= k < len(area)]
    if peak <= 0 or not kf:
        return 0.0
    return float(area[kf].mean() / peak)


# ----------------------------------------------------------------------------- R_A


def _boxes_on(x: RewardInput, frame: int) -> np.ndarray:
    return valid_boxes(x.rollout.boxes.get(frame, np.zeros((0, 4)))) if isinstance(x.rollout.boxes, dict) \
        else np.zeros((0, 4))


def _keyframes(x: RewardInput) -> list[int]:
    plan = x.rollout.plan
    if not getattr(plan, "ok", False):
        return []
    return [int(k) for k in x.rollout.keyframes if 0 <= int(k) < x.truth.num_frames]


def alignment(x: RewardInput, cfg: RewardConfig) -> float:
    """R_A: Hungarian-matched box IoU per keyframe, mean over (target, keyframe) pairs with a GT box.

    >>> m = np.zeros((2, 2, 20, 20), bool); m[0, :, 0:5, 0:5] = True; m[1, :, 10:15, 10:15] = True
    >>> text = '<think>.</think><answer>{"start_time": "00:00.00", "end_time": "00:00.00", "description": "x"}</answer>'
    >>> boxes = {0: [[10, 10, 14, 14], [0, 0, 4, 4]]}  # both objects, in crossed order
    >>> alignment(toy_input(text, m, boxes=boxes), RewardConfig())
    1.0
    """
    kf = _keyframes(x)
    if not kf:
        return 0.0
    truth = x.truth
    n_obj = truth.num_objects
    if n_obj == 0:  # null expression (deviation: never in the official data): right iff nothing found
        return 1.0 if all(len(_boxes_on(x, k)) == 0 for k in kf) else 0.0
    ious: list[float] = []
    for k in kf:
        gt = truth.boxes[:, k]
        vis = np.isfinite(gt).all(axis=1)
        if not vis.any():
            continue
        pred = _boxes_on(x, k)[:n_obj]  # the official keeps the first obj_num boxes
        ious.extend(match_boxes(pred, gt[vis], plus_one=cfg.box_plus_one).tolist())
    return float(np.mean(ious)) if ious else 0.0


def alignment_surplus(x: RewardInput, cfg: RewardConfig) -> float:
    """Surplus-box penalty (official ``object_num_mismatch``): ``−0.5·Σ_k max(0, n_k − O) / O / K``.

    >>> m = np.zeros((1, 2, 20, 20), bool); m[0, :, 0:5, 0:5] = True
    >>> text = '<think>.</think><answer>{"start_time": "00:00.00", "end_time": "00:00.00", "description": "x"}</answer>'
    >>> alignment_surplus(toy_input(text, m, boxes={0: [[0, 0, 4, 4], [9, 9, 12, 12], [1, 1, 3, 3]]}), RewardConfig())
    -1.0
    """
    kf = _keyframes(x)
    if not kf:
        return 0.0
    n_obj = x.truth.num_objects
    excess = sum(max(0, len(_boxes_on(x, k)) - n_obj) for k in kf)
    return -cfg.surplus_penalty * excess / max(n_obj, 1) / len(kf)


# ----------------------------------------------------------------------------- R_G


def _as_mask(masks, shape: tuple[int, ...]) -> np.ndarray | None:
    try:
        arr = np.asarray(masks)
        if arr.dtype != bool:
            arr = np.asarray(arr, dtype=np.float64)
            arr = np.where(np.isfinite(arr), arr, 0.0) > 0.5
    except (TypeError, ValueError):
        return None
    return arr if arr.shape == tuple(shape) else None


def consistency(x: RewardInput, cfg: RewardConfig) -> float:
    """R_G: mean DAVIS J over frames between System 2's propagated masks and the targets' union.

    0 without keyframes, without masks, with masks of the wrong shape, or — for an expression
    with targets — when System 2 found no box on any keyframe (the official skips SAM2 then).

    >>> m = np.zeros((1, 4, 10, 10), bool); m[0, :2, :5, :] = True  # target in frames 0-1 only
    >>> text = '<think>.</think><answer>{"start_time": "00:00.00", "end_time": "00:00.00", "description": "x"}</answer>'
    >>> pred = m[0].copy(); pred[1] = False  # frame 1 missed
    >>> boxes = {0: [[0, 0, 9, 4]]}
    >>> consistency(toy_input(text, m, boxes=boxes, masks=pred), RewardConfig())  # J = 1, 0, 1, 1
    0.75
    >>> consistency(toy_input(text, m, boxes={}, masks=np.zeros((4, 10, 10), bool)), RewardConfig())
    0.0
    """
    kf = _keyframes(x)
    if not kf or x.rollout.masks is None:
        return 0.0
    if x.truth.num_objects > 0 and not any(len(_boxes_on(x, k)) for k in kf):
        return 0.0
    from omni_r1_lite.metrics import jaccard

    gt = x.truth.masks()
    pred = _as_mask(x.rollout.masks, gt.shape)
    if pred is None or gt.size == 0:
        return 0.0
    if cfg.rg_frames == "sampled":
        idx = [t for t in x.truth.sampled if 0 <= t < gt.shape[0]]
        pred, gt = pred[idx], gt[idx]
    elif cfg.rg_frames != "clip":
        raise ValueError(f"rg_frames must be 'clip' or 'sampled', got {cfg.rg_frames!r}")
    return float(jaccard(pred, gt).mean())


# ----------------------------------------------------------------------------- RefAVS


def refavs_iou(x: RewardInput, cfg: RewardConfig) -> float:
    """RefAVS: IoU of the first System-2 box on the grounded frame with the GT mask's box there.

    >>> m = np.zeros((1, 2, 20, 20), bool); m[0, 0, 0:10, 0:10] = True
    >>> x = toy_input("<think>.</think><answer>the red circle</answer>", m,
    ...               boxes={0: [[0, 0, 9, 4], [50, 50, 60, 60]]}, task="AVS")
    >>> refavs_iou(x, RewardConfig())  # the first box covers half of the target
    0.5
    """
    kf = _keyframes(x)
    if not kf:
        return 0.0
    gt_masks = x.truth.masks()
    values = []
    for k in kf:
        gt_box = boxes_from_masks(gt_masks[k])
        boxes = _boxes_on(x, k)
        if not np.isfinite(gt_box).all():  # nothing to find on this frame
            values.append(1.0 if len(boxes) == 0 else 0.0)
        else:
            values.append(box_iou(boxes[0], gt_box, cfg.box_plus_one) if len(boxes) else 0.0)
    return float(np.mean(values))


# ----------------------------------------------------------------------------- registry

REWARDS: dict[str, RewardFn] = {
    "format": format_reward,
    "k_parse": keyframe_parse,
    "k_presence": keyframe_presence,
    "k_num": keyframe_num,
    "k_diversity": keyframe_diversity,
    "k_saliency": keyframe_saliency,
    "r_a": alignment,
    "a_surplus": alignment_surplus,
    "r_g": consistency,
    "avs_iou": refavs_iou,
}
"""Every reward component by name (values unweighted; see the module docstring)."""


def get_reward(name: str) -> RewardFn:
    """The reward function called ``name``.

    >>> get_reward("r_a").__name__
    'alignment'
    """
    try:
        return REWARDS[name]
    except KeyError:
        raise KeyError(f"unknown reward {name!r}; choose one of {sorted(REWARDS)}") from None


def weight(name: str, cfg: RewardConfig) -> float:
    """The weight of component ``name`` in the total, from the config (official values by default).

    >>> weight("r_g", RewardConfig()), weight("k_saliency", RewardConfig()), weight("a_surplus", RewardConfig())
    (2.0, 0.0, 1.0)
    """
    table = {
        "format": cfg.format_weight,
        "k_parse": cfg.alpha_parse, "k_presence": cfg.alpha_parse,  # official: unweighted
        "k_num": cfg.alpha_k, "k_diversity": cfg.alpha_k,
        "k_saliency": cfg.alpha_k_ratio,
        "r_a": cfg.alpha_a,
        "a_surplus": 1.0,  # official: added unweighted; its scale is surplus_penalty
        "r_g": cfg.alpha_g,
        "avs_iou": cfg.alpha_avs,
    }
    if name not in table:
        raise KeyError(f"unknown reward {name!r}; choose one of {sorted(table)}")
    return float(table[name])


def safe_value(fn: RewardFn, x: RewardInput, cfg: RewardConfig) -> tuple[float, str | None]:
    """``fn(x, cfg)`` as a finite float, or ``(0.0, error)`` — the safety net of `score_group`."""
    try:
        v = float(fn(x, cfg))
    except Exception as e:  # a bug, never expected on model output: reported, not raised
        return 0.0, f"{getattr(fn, '__name__', fn)}: {type(e).__name__}: {e}"
    if not math.isfinite(v):
        return 0.0, f"{getattr(fn, '__name__', fn)}: non-finite value {v}"
    return v, None
