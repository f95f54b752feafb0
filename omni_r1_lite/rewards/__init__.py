"""Omni-R1's hierarchical rewards: pure functions in a registry, weights from `RewardConfig`.

Data flows one way: the pipeline turns G completions into rollouts (System 2 reached only through
its caches, so a group never repeats a System-2 request), `score_group` scores them against the
sample's `GroundTruth`, and `group_advantages` turns the totals into GRPO advantages.

==========================  ==================================================================
`REWARDS`, `get_reward`     the components by name: ``format``, R_K (``k_parse``, ``k_presence``,
                            ``k_num``, ``k_diversity``, ``k_saliency``), R_A (``r_a``,
                            ``a_surplus``), R_G (``r_g``), RefAVS (``avs_iou``) — `functions`
`REWARD_SETS`               the paper's ablation rows ``R_K`` … ``R_K+R_A+R_G`` — `group`
`score_group`               per-component values, weighted total, strict format gate, length bonus
`score_completions`         pipeline + `score_group` in one call
`group_advantages`          ``(r − mean) / (std + 1e-4)``, sample std as ``torch.std``
`GroundTruth`               target boxes, areas and union masks of a sample — `truth`
`box_iou`, `match_boxes`    "+1"-pixel IoU (no x = 0 bug) and Hungarian matching — `boxes`
==========================  ==================================================================

Formulas, official values and every deviation: `omni_r1_lite.rewards.functions` (per component)
and `omni_r1_lite.rewards.group` (sets, total, gate, length bonus, advantages).

>>> import numpy as np
>>> from omni_r1_lite.config import RewardConfig
>>> m = np.zeros((1, 4, 16, 16), bool); m[0, :, 4:8, 4:8] = True
>>> text = ('<think>the square</think><answer>{"start_time": "00:00.50", "end_time": "00:00.50", '
...         '"description": "the square"}</answer>')
>>> x = toy_input(text, m, boxes={1: [[4, 4, 7, 7]]}, masks=m[0])
>>> [b.total for b in score_group(x.truth, [x.rollout], RewardConfig(), finished=[True])]  # 1 + 1.6 + 0.4 + 1 + 2
[6.0]
"""

from omni_r1_lite.rewards.boxes import box_iou, boxes_from_masks, iou_matrix, match_boxes, valid_boxes
from omni_r1_lite.rewards.functions import REWARDS, RewardFn, RewardInput, get_reward, toy_input, weight
from omni_r1_lite.rewards.group import (
    AVS_SET,
    COMPONENT_GROUP,
    REWARD_SETS,
    RewardBreakdown,
    get_reward_set,
    group_advantages,
    length_bonus,
    score_completions,
    score_group,
)
from omni_r1_lite.rewards.truth import GroundTruth

__all__ = [
    "AVS_SET",
    "COMPONENT_GROUP",
    "REWARDS",
    "REWARD_SETS",
    "GroundTruth",
    "RewardBreakdown",
    "RewardFn",
    "RewardInput",
    "box_iou",
    "boxes_from_masks",
    "get_reward",
    "get_reward_set",
    "group_advantages",
    "iou_matrix",
    "length_bonus",
    "match_boxes",
    "score_completions",
    "score_group",
    "toy_input",
    "valid_boxes",
    "weight",
]
