"""The reward registry: exact values, official numbers and deviations, caching, and no crash on junk."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omni_r1_lite.config import RewardConfig, describe, from_dict, get_preset, to_dict
from omni_r1_lite.data.keyframes import target_area
from omni_r1_lite.data.sources import load_samples
from omni_r1_lite.rewards import (
    AVS_SET,
    REWARD_SETS,
    REWARDS,
    GroundTruth,
    box_iou,
    boxes_from_masks,
    get_reward,
    get_reward_set,
    group_advantages,
    iou_matrix,
    length_bonus,
    match_boxes,
    score_completions,
    score_group,
    toy_input,
    weight,
)
from omni_r1_lite.rewards.examples import hand_made_completions, perturbed_group
from omni_r1_lite.rewards.figures import breakdown_figure, breakdown_table
from omni_r1_lite.systems.parsing import check_format
from omni_r1_lite.systems.pipeline import Pipeline, Rollout
from omni_r1_lite.systems.prompts import format_vos_answer
from omni_r1_lite.systems.standin import OmniSynthStandIn

CFG = RewardConfig()


def moment(start: str, end: str | None = None, desc: str = "the red circle") -> str:
    return json.dumps({"start_time": start, "end_time": end if end is not None else start, "description": desc})


def answer(*objs: str) -> str:
    return f"<think>ok</think>\n<answer>{''.join(objs)}</answer>"


def square_masks(t: int = 8, h: int = 20, w: int = 20, visible=None) -> np.ndarray:
    """``bool[1, t, h, w]``: a 5x5 square at rows 4-8, cols 0-4 (touching x = 0) on visible frames."""
    m = np.zeros((1, t, h, w), bool)
    for f in range(t) if visible is None else visible:
        m[0, f, 4:9, 0:5] = True
    return m


# ----------------------------------------------------------------------------- boxes


def test_box_iou_at_x0_is_the_true_iou_not_the_official_zero():
    # The official iou_framewise_object_matching returns 0 whenever gt_box[0] == 0 (`gt_box[0] > 0`).
    assert box_iou([0, 4, 4, 8], [0, 4, 4, 8]) == 1.0
    assert box_iou([0, 0, 9, 9], [0, 0, 4, 9]) == pytest.approx(0.5)
    m = square_masks()
    gt_box = boxes_from_masks(m[0, 0])
    assert gt_box.tolist() == [0.0, 4.0, 4.0, 8.0]
    text = answer(moment("00:00.50"))
    x = toy_input(text, m, boxes={1: [gt_box]})
    assert get_reward("r_a")(x, CFG) == 1.0


def test_box_iou_plus_one_convention_and_continuous_option():
    # inclusive pixels: [0, 0, 1, 1] is 2x2 = 4 px; [1, 1, 2, 2] shares 1 px -> 1 / 7
    assert box_iou([0, 0, 1, 1], [1, 1, 2, 2]) == pytest.approx(1 / 7)
    # continuous edges: the same numbers are two 1x1 squares touching at a corner -> 0
    assert box_iou([0, 0, 1, 1], [1, 1, 2, 2], plus_one=False) == 0.0
    assert box_iou([0, 0, 10, 10], [0, 0, 5, 10], plus_one=False) == pytest.approx(0.5)
    # a one-pixel box is a valid box with the +1 convention
    assert box_iou([3, 3, 3, 3], [3, 3, 3, 3]) == 1.0
    cfg = dataclasses.replace(CFG, box_plus_one=False)
    m = square_masks()
    x = toy_input(answer(moment("00:00.50")), m, boxes={1: [[0, 4, 4, 8]]})
    assert get_reward("r_a")(x, cfg) == 1.0  # identical boxes match in either convention


@pytest.mark.parametrize("bad", [[np.nan, 0, 5, 5], [0, 0, np.inf, 5], [5, 5, 0, 0], [0, 0, -3, 5]])
def test_box_iou_invalid_boxes_score_zero(bad):
    assert box_iou(bad, [0, 0, 5, 5]) == 0.0 and box_iou([0, 0, 5, 5], bad) == 0.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6) | st.sampled_from([np.nan, np.inf, -np.inf]), min_size=8, max_size=8))
def test_box_iou_is_bounded_and_symmetric(v):
    a, b = v[:4], v[4:]
    assert 0.0 <= box_iou(a, b) <= 1.0
    assert box_iou(a, b) == box_iou(b, a)


def test_hungarian_picks_the_optimal_pairing_where_greedy_fails():
    gt = np.array([[0, 0, 9, 9], [5, 0, 14, 9]], float)  # A, B
    pred = np.array([[2, 0, 11, 9], [0, 0, 4, 9]], float)  # P0 overlaps both (A best), P1 only A
    m = iou_matrix(gt, pred)
    best = max(m[0, p[0]] + m[1, p[1]] for p in itertools.permutations(range(2)))
    greedy_a = int(m[0].argmax())  # A takes its favourite P0, B is left with P1
    assert greedy_a == 0 and m[0, 0] + m[1, 1] < best
    got = match_boxes(pred, gt)
    assert got.sum() == pytest.approx(best)
    assert got.tolist() == pytest.approx([m[0, 1], m[1, 0]])  # A-P1, B-P0
    # and through R_A: two objects on one keyframe, the mean of the optimal matched IoUs
    masks = np.zeros((2, 2, 12, 20), bool)
    masks[0, :, 0:10, 0:10] = True
    masks[1, :, 0:10, 5:15] = True
    x = toy_input(answer(moment("00:00.00")), masks, boxes={0: pred})
    assert get_reward("r_a")(x, CFG) == pytest.approx(best / 2)


def test_hungarian_unmatched_targets_score_zero_and_only_first_O_boxes_count():
    masks = np.zeros((2, 2, 12, 20), bool)
    masks[0, :, 0:10, 0:5] = True
    masks[1, :, 0:10, 10:15] = True
    text = answer(moment("00:00.00"))
    one = toy_input(text, masks, boxes={0: [[0, 0, 4, 9]]})
    assert get_reward("r_a")(one, CFG) == 0.5  # object B has no box
    # a perfect box for B in third place is cut off (official: the first obj_num boxes are kept)
    late = toy_input(text, masks, boxes={0: [[0, 0, 4, 9], [30, 30, 40, 40], [10, 0, 14, 9]]})
    assert get_reward("r_a")(late, CFG) == 0.5
    assert get_reward("a_surplus")(late, CFG) == pytest.approx(-0.5 * 1 / 2 / 1)


def test_alignment_skips_keyframes_where_the_target_is_hidden():
    m = square_masks(visible=[0, 1])
    two = answer(moment("00:00.00"), moment("00:01.00"))  # frames 0 (visible) and 2 (hidden)
    x = toy_input(two, m, boxes={0: [[0, 4, 4, 8]], 2: []})
    assert get_reward("r_a")(x, CFG) == 1.0  # only the (object, frame 0) pair has a GT box
    hidden = toy_input(answer(moment("00:01.00")), m, boxes={2: [[0, 4, 4, 8]]})
    assert get_reward("r_a")(hidden, CFG) == 0.0  # no pair with a GT box
    assert get_reward("a_surplus")(hidden, CFG) == 0.0  # 1 box for 1 object is no surplus


# ----------------------------------------------------------------------------- R_K exact numbers

PRESENT = [1, 3]  # the target is visible on frames 1 and 3 of 8


def rk_text() -> str:
    return answer(
        moment("00:00.50"),  # frame 1, visible
        moment("00:01.00", "00:02.00"),  # frames 2-4: 3 frames -> -0.2 * 2
        moment("00:02.00"),  # frame 4 again -> one repeated frame, -0.5
        moment("00:03.00", "00:01.00"),  # reversed: readable, dropped
        moment("00:09.00"),  # beyond the 4-second timeline: readable, dropped
        '{"start_time": "soon", "end_time": "later", "description": "x"}',  # unreadable times
    )


def test_keyframe_terms_exact_numbers_with_reversed_and_duplicate_moments():
    m = square_masks(visible=PRESENT)
    x = toy_input(rk_text(), m)
    plan = x.rollout.plan
    assert plan.num_objects == 6 and plan.keyframes == (1, 2, 3, 4)
    assert {"reversed_times", "time_out_of_range", "bad_time", "duplicate_frames"} <= set(plan.issues)
    # B = 6 blocks, W = 5 readable moments, V = 3 kept: 0.2 * (6 + 5 + 3) / 6
    assert get_reward("k_parse")(x, CFG) == pytest.approx(0.2 * 14 / 6)
    # presence per kept moment: frame 1 -> 1, frames 2-4 -> 1/3, frame 4 -> 0; divided by 6 blocks
    assert get_reward("k_presence")(x, CFG) == pytest.approx((1 + 1 / 3 + 0) / 6)
    assert get_reward("k_num")(x, CFG) == pytest.approx(1.6)  # U = 4 unique frames
    assert get_reward("k_diversity")(x, CFG) == pytest.approx(-0.4 - 0.5)
    # saliency: keyframes 1-4, area 25 on frames 1 and 3, max 25 -> (1 + 0 + 1 + 0) / 4
    assert get_reward("k_saliency")(x, CFG) == pytest.approx(0.5)


def test_keyframe_terms_follow_the_config_values():
    m = square_masks(visible=PRESENT)
    cfg = dataclasses.replace(CFG, parse_credit=0.1, overlap_penalty=1.0, segment_length_penalty=0.0,
                              count_reward=1.0, k0=3)
    x = toy_input(rk_text(), m)
    assert get_reward("k_parse")(x, cfg) == pytest.approx(0.1 * 14 / 6)
    assert get_reward("k_diversity")(x, cfg) == pytest.approx(-1.0)
    assert get_reward("k_num")(x, cfg) == pytest.approx(2 * 3 - 1 - 4)  # U = 4 > K0 = 3


def test_a_frame_in_three_moments_counts_two_repeats_as_in_the_official_code():
    m = square_masks()
    x = toy_input(answer(moment("00:01.00"), moment("00:01.00"), moment("00:01.00")), m)
    assert get_reward("k_diversity")(x, CFG) == pytest.approx(-0.5 * 2)  # occurrences 3 - unique 1
    assert get_reward("k_num")(x, CFG) == pytest.approx(0.4)


def test_count_term_official_values():
    m = np.ones((1, 16, 4, 4), bool)
    got = []
    for u in range(1, 9):
        text = answer(*(moment(f"00:{s:02d}.00") for s in range(u)))  # frames 0, 2, 4, ...
        got.append(round(get_reward("k_num")(toy_input(text, m), CFG), 6))
    assert got == [0.4, 0.8, 1.2, 1.6, 0.8, 0.4, 0.0, -0.4]  # U * 0.4 up to 4, then (7 - U) * 0.4


def test_keyframe_parse_without_json_and_without_valid_moments():
    m = square_masks()
    assert get_reward("k_parse")(toy_input(answer("frame 3, the red circle"), m), CFG) == 0.0
    # one block, readable but out of range: 0.2 * (1 + 1 + 0) / 1, and no frame terms
    out = toy_input(answer(moment("00:30.00")), m)
    assert get_reward("k_parse")(out, CFG) == pytest.approx(0.4)
    assert [get_reward(n)(out, CFG) for n in ("k_presence", "k_num", "k_diversity", "k_saliency")] == [0] * 4


# ----------------------------------------------------------------------------- R_G, RefAVS, format


def test_consistency_is_davis_j_over_frames():
    from omni_r1_lite.metrics import jaccard

    m = square_masks(visible=[0, 1, 2, 3])
    pred = np.zeros((8, 20, 20), bool)
    pred[:2, 4:9, 0:5] = True
    pred[2, 4:9, 0:3] = True
    pred[6, 0:2, 0:2] = True  # a false positive where the target is absent
    x = toy_input(answer(moment("00:00.00")), m, boxes={0: [[0, 4, 4, 8]]}, masks=pred)
    expected = float(jaccard(pred, m[0]).mean())
    assert get_reward("r_g")(x, CFG) == pytest.approx(expected)
    assert expected == pytest.approx((1 + 1 + 0.6 + 0 + 1 + 1 + 0 + 1) / 8)


def test_consistency_sampled_frames_option():
    m = square_masks(t=8)
    pred = np.zeros((8, 20, 20), bool)
    pred[::2] = m[0, ::2]  # right on even frames, empty on odd ones
    truth = GroundTruth.from_masks(m, sampled=[0, 2, 4, 6])
    x = toy_input(answer(moment("00:00.00")), m, boxes={0: [[0, 4, 4, 8]]}, masks=pred)
    x = dataclasses.replace(x, truth=truth)
    assert get_reward("r_g")(x, CFG) == pytest.approx(0.5)
    assert get_reward("r_g")(x, dataclasses.replace(CFG, rg_frames="sampled")) == 1.0


def test_refavs_iou_first_box_and_null_frame():
    m = np.zeros((1, 2, 20, 20), bool)
    m[0, 0, 0:10, 0:10] = True
    good = toy_input("<think>.</think><answer>the dog</answer>", m, boxes={0: [[0, 0, 9, 9], [0, 0, 1, 1]]},
                     task="AVS")
    assert get_reward("avs_iou")(good, CFG) == 1.0
    second = toy_input("<think>.</think><answer>the dog</answer>", m, boxes={0: [[15, 15, 19, 19], [0, 0, 9, 9]]},
                       task="AVS")
    assert get_reward("avs_iou")(second, CFG) == 0.0  # only the first box counts
    empty = toy_input("<think>.</think><answer> </answer>", m, boxes={0: [[0, 0, 9, 9]]}, task="AVS")
    assert get_reward("avs_iou")(empty, CFG) == 0.0  # an empty answer scores 0
    null = np.zeros((1, 2, 20, 20), bool)
    nothing = toy_input("<think>.</think><answer>the dog</answer>", null, boxes={0: []}, task="AVS")
    assert get_reward("avs_iou")(nothing, CFG) == 1.0


def test_format_strict_gate_and_eos():
    m = square_masks()
    text = answer(moment("00:00.50"))
    ok = toy_input(text, m, boxes={1: [[0, 4, 4, 8]]}, masks=m[0], finished=True)
    cut = dataclasses.replace(ok, finished=False)
    [b_ok] = score_group(ok.truth, [ok.rollout], CFG, finished=[True])
    [b_cut] = score_group(ok.truth, [cut.rollout], CFG, finished=[False])
    assert b_ok.format_ok and not b_ok.gated and b_ok.total > 5
    assert not b_cut.format_ok and b_cut.gated and b_cut.total == 0.0
    assert b_cut.values["r_g"] == b_ok.values["r_g"]  # raw values kept, contributions zeroed
    assert all(v == 0.0 for v in b_cut.weighted.values())
    loose = dataclasses.replace(CFG, strict_format=False)
    [b_loose] = score_group(ok.truth, [cut.rollout], loose, finished=[False])
    assert b_loose.values["format"] == 1.0 and b_loose.total == pytest.approx(b_ok.total)
    # finished unknown: the strict check looks for EOS at the end of the text
    assert get_reward("format")(dataclasses.replace(ok, finished=None), CFG) == 0.0
    eos = toy_input(text + "<|im_end|>", m, finished=None)
    assert get_reward("format")(eos, CFG) == 1.0
    # a malformed completion is gated even if the parser recovers keyframes from it
    bad = toy_input(text.replace("</think>", ""), m, boxes={1: [[0, 4, 4, 8]]}, masks=m[0])
    assert bad.rollout.plan.ok
    [b_bad] = score_group(bad.truth, [bad.rollout], CFG, finished=[True])
    assert b_bad.total == 0.0 and b_bad.values["r_a"] == 1.0


# ----------------------------------------------------------------------------- sets, weights, totals


def test_reward_sets_include_and_exclude_components():
    assert set(REWARD_SETS) == {"R_K", "R_G", "R_K+R_A", "R_K+R_G", "R_K+R_A+R_G"}
    for name, comps in REWARD_SETS.items():
        assert comps[0] == "format" and set(comps) <= set(REWARDS)
        assert ("r_a" in comps) == ("R_A" in name) and ("r_g" in comps) == ("R_G" in name)
        assert ("k_num" in comps) == ("R_K" in name)
    m = square_masks()
    x = toy_input(answer(moment("00:00.50")), m, boxes={1: [[0, 4, 4, 8]]}, masks=m[0])
    for name in REWARD_SETS:
        [b] = score_group(x.truth, [x.rollout], CFG, finished=[True], reward_set=name)
        assert tuple(b.values) == REWARD_SETS[name]
    assert get_reward_set("R_K", task="AVS") == AVS_SET
    with pytest.raises(KeyError):
        get_reward_set("R_X")
    with pytest.raises(KeyError):
        get_reward("nope")


def test_total_is_the_weighted_sum_and_weights_come_from_config():
    m = square_masks(visible=PRESENT)
    pred = m[0].copy()
    pred[3] = False
    x = toy_input(rk_text(), m, boxes={1: [[0, 4, 4, 8]], 3: [[0, 4, 4, 8], [10, 10, 12, 12]]}, masks=pred)
    [b] = score_group(x.truth, [x.rollout], CFG, finished=[True])
    assert b.total == pytest.approx(sum(weight(k, CFG) * v for k, v in b.values.items()))
    # official combination: format + cumulated + α_k (frame + overlap) + α_k_ratio·ratio + α_a·iou + mismatch + α_g·sam
    v = b.values
    official = (v["format"] + v["k_parse"] + v["k_presence"] + 1.0 * (v["k_num"] + v["k_diversity"])
                + 0.0 * v["k_saliency"] + 1.0 * v["r_a"] + v["a_surplus"] + 2.0 * v["r_g"])
    assert b.total == pytest.approx(official)
    no_g = dataclasses.replace(CFG, alpha_g=0.0)
    [b2] = score_group(x.truth, [x.rollout], no_g, finished=[True])
    assert b.total - b2.total == pytest.approx(2.0 * v["r_g"]) and v["r_g"] > 0
    sal = dataclasses.replace(CFG, alpha_k_ratio=1.0, alpha_a=3.0, format_weight=0.5)
    [b3] = score_group(x.truth, [x.rollout], sal, finished=[True])
    assert b3.total - b.total == pytest.approx(v["k_saliency"] + 2.0 * v["r_a"] - 0.5)
    groups = b.by_group()
    assert set(groups) == {"format", "R_K", "R_A", "R_G"}
    assert sum(groups.values()) == pytest.approx(b.total)


def test_length_bonus_rules():
    cfg = dataclasses.replace(CFG, length_bonus=True)
    assert length_bonus([0.2, 0.3, 0.05], [320, 751, 500], cfg) == [1.0, 0.0, 0.0]
    assert length_bonus([0.2, 0.3], [320, 750], CFG) == [0.0, 0.0]  # off by default
    m = square_masks()
    x = toy_input(answer(moment("00:00.50")), m, boxes={1: [[0, 4, 4, 8]]}, masks=m[0])
    junk = toy_input("junk", m)
    rollouts = [x.rollout, x.rollout, junk.rollout]
    out = score_group(x.truth, rollouts, cfg, finished=[True] * 3, lengths=[400, 100, 400])
    assert [b.weighted["length_bonus"] for b in out] == [1.0, 0.0, 0.0]
    assert out[0].total - out[1].total == pytest.approx(1.0)


def test_group_advantages_match_torch_std():
    torch = pytest.importorskip("torch")
    r = [0.0, 1.0, 6.95, 4.45, 6.95, 0.0]
    t = torch.tensor(r, dtype=torch.float64)
    expected = ((t - t.mean()) / (t.std() + 1e-4)).numpy()  # torch.std is unbiased (ddof = 1)
    assert np.allclose(group_advantages(r), expected)
    assert np.allclose(group_advantages(r, scale="none"), (t - t.mean()).numpy())
    two = group_advantages([r, r[::-1]])
    assert two.shape == (2, 6) and np.allclose(two[0], expected)
    assert group_advantages([3.0]).tolist() == [0.0]
    assert group_advantages([2.0, 2.0]).tolist() == [0.0, 0.0]
    batch = group_advantages([[0, 1], [0, 3]], scale="batch")  # centred per group, one std over all
    assert np.allclose(batch, [[-0.5, 0.5], [-1.5, 1.5]] / (np.std([0, 1, 0, 3], ddof=1) + 1e-4))
    with pytest.raises(ValueError):
        group_advantages(r, scale="rank")


def test_config_fields_are_documented_and_round_trip():
    cfg = get_preset("smoke")
    assert from_dict(to_dict(cfg)) == cfg
    rows = {name: doc for name, _, doc in describe(cfg) if name.startswith("rewards.")}
    assert all(doc for doc in rows.values())
    r = cfg.rewards
    assert (r.alpha_k, r.alpha_k_ratio, r.alpha_a, r.alpha_g) == (1.0, 0.0, 1.0, 2.0)  # final script
    assert (r.k0, r.parse_credit, r.count_reward, r.overlap_penalty, r.segment_length_penalty) == (4, 0.2, 0.4, 0.5, 0.2)


# ----------------------------------------------------------------------------- OmniSynth + stand-in


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    cfg = get_preset("smoke")
    root = tmp_path_factory.mktemp("omnisynth-rewards")
    return cfg, {split: load_samples(cfg, root, split) for split in ("test_s", "test_n")}


class Counting:
    """A counting wrapper around a System 2: every request it receives is recorded."""

    def __init__(self, inner):
        self.inner = inner
        self.ground_requests: list = []
        self.segment_requests: list = []

    def ground(self, sample, frame, description):
        self.ground_requests.append((sample.sample_id, int(frame), description))
        return self.inner.ground(sample, frame, description)

    def segment(self, sample, prompts, frames=None):
        key = (sample.sample_id, tuple(sorted((int(k), np.asarray(v, np.float32).tobytes())
                                              for k, v in prompts.items())))
        self.segment_requests.append(key)
        return self.inner.segment(sample, prompts, frames=frames)


def _pipeline(cfg, detail=None):
    return Pipeline(detail or OmniSynthStandIn(), max_frames=cfg.system1.max_frames,
                    max_keyframes=cfg.system1.max_keyframes)


def _area(pipe, s):
    return target_area(s)[pipe.sampled_frames(s)]


def test_group_with_duplicates_never_repeats_a_system2_request(synth):
    cfg, splits = synth
    counting = Counting(OmniSynthStandIn())
    pipe = _pipeline(cfg, counting)
    s = next(x for x in splits["test_s"] if x.expression_type == "reasoning")
    made = hand_made_completions(s, _area(pipe, s))
    group = [made["oracle"][0], made["uniform"][0], made["oracle"][0], made["non-literal"][0],
             made["uniform"][0], made["duplicates"][0], "junk", made["oracle"][0]]
    rollouts, breakdowns = score_completions(pipe, s, group, cfg.rewards, finished=[True] * len(group))
    unique_ground = {(s.sample_id, k, d) for r in rollouts for k, d in zip(r.keyframes, r.descriptions)}
    assert len(counting.ground_requests) == len(set(counting.ground_requests)) == len(unique_ground)
    unique_segment = {tuple(sorted((k, np.asarray(v, np.float32).tobytes()) for k, v in r.boxes.items() if len(v)))
                      for r in rollouts}
    unique_segment.discard(())
    assert len(counting.segment_requests) == len(set(counting.segment_requests)) == len(unique_segment)
    assert pipe.stats["ground_calls"] == len(unique_ground) and pipe.stats["ground_hits"] > 0
    assert pipe.stats["segment_calls"] == len(unique_segment) and pipe.stats["segment_hits"] > 0
    # identical completions score identically; scoring itself never reaches System 2
    assert breakdowns[0] == breakdowns[2] == breakdowns[7]
    calls = (len(counting.ground_requests), len(counting.segment_requests))
    again = score_group(s, rollouts, cfg.rewards, [True] * len(group), sampled_frames=pipe.sampled_frames(s))
    assert again == breakdowns and (len(counting.ground_requests), len(counting.segment_requests)) == calls


def test_rewards_without_r_g_skip_segmentation(synth):
    cfg, splits = synth
    counting = Counting(OmniSynthStandIn())
    pipe = _pipeline(cfg, counting)
    s = splits["test_s"][0]
    made = hand_made_completions(s, _area(pipe, s))
    _, out = score_completions(pipe, s, [made["oracle"][0]], cfg.rewards, reward_set="R_K+R_A", finished=[True])
    assert counting.segment_requests == [] and "r_g" not in out[0].values and out[0].values["r_a"] > 0


def test_oracle_beats_uniform_beats_worst_and_literal_rewrite_matters(synth):
    cfg, splits = synth
    pipe = _pipeline(cfg)
    rows: dict[str, list] = {}
    for s in splits["test_s"]:
        made = hand_made_completions(s, _area(pipe, s))
        names = list(made)
        _, out = score_completions(pipe, s, [made[n][0] for n in names], cfg.rewards,
                                   finished=[made[n][1] for n in names])
        for n, b in zip(names, out):
            rows.setdefault(n, []).append((s, b))
    mean = {n: {k: np.mean([b.values.get(k, 0) for _, b in v]) for k in ("r_a", "r_g")} | {
        "total": np.mean([b.total for _, b in v])} for n, v in rows.items()}
    assert mean["oracle"]["r_a"] > 0.9 and mean["oracle"]["r_g"] > 0.8
    assert mean["oracle"]["total"] > mean["uniform"]["total"] > mean["worst"]["total"]
    assert mean["oracle"]["total"] > mean["non-literal"]["total"] and mean["oracle"]["total"] > mean["duplicates"]["total"]
    assert mean["no EOS"]["total"] == mean["malformed"]["total"] == 0.0
    # the stand-in grounds only literal descriptions: a non-literal expression gets the most visible
    # object, which is the target only by chance
    guessed = [b.values["r_g"] for s, b in rows["non-literal"] if s.expression_type != "referring"]
    assert guessed and np.mean(guessed) < 0.5 * mean["oracle"]["r_g"]
    # an oracle plan whose keyframes all show the target well is aligned exactly
    stand, exact = OmniSynthStandIn(), 0
    for s, b in rows["oracle"]:
        plan = pipe.plan(s, hand_made_completions(s, _area(pipe, s))["oracle"][0])
        kf = [pipe.sampled_frames(s)[k] for k in plan.keyframes]
        geo = stand.geometry(s)
        if all(geo.visibility[o, k] >= stand.min_ground_visibility for o in s.object_ids for k in kf):
            assert b.values["r_a"] == 1.0
            exact += 1
    assert exact > 0


def test_ground_truth_from_annotation_matches_the_masks(synth):
    _, splits = synth
    for s in splits["test_s"]:
        if len(s.object_ids) != 1:
            continue
        from_ann = GroundTruth.from_sample(s)
        from_masks = GroundTruth.from_masks(s.load_object_masks())
        assert np.array_equal(from_ann.boxes, from_masks.boxes, equal_nan=True)
        assert np.array_equal(from_ann.area, from_masks.area)
    multi = next(s for s in splits["test_s"] if len(s.object_ids) > 1)
    gt = GroundTruth.from_sample(multi)
    assert gt.num_objects == len(multi.object_ids) and multi.load_object_masks().shape[0] == 1
    union = boxes_from_masks(multi.load_masks())
    for t in np.flatnonzero(gt.present.any(axis=0)):
        assert union[t, 0] == np.nanmin(gt.boxes[:, t, 0]) and union[t, 2] == np.nanmax(gt.boxes[:, t, 2])


def test_null_expression_nothing_found_is_right(synth):
    cfg, splits = synth
    pipe = _pipeline(cfg)
    s = splits["test_n"][0]
    area = _area(pipe, s)
    assert GroundTruth.from_sample(s).num_objects == 0 and area.sum() == 0
    text = format_vos_answer([0, 2, 4, 6], s.meta["literal"])  # the absent object: nothing is found
    _, [b] = score_completions(pipe, s, [text], cfg.rewards, finished=[True])
    assert b.values["r_a"] == 1.0 and b.values["r_g"] == 1.0 and b.values["a_surplus"] == 0.0
    assert b.values["k_presence"] == 0.0 and b.values["k_saliency"] == 0.0


def test_avs_samples_use_the_refavs_reward(synth, tmp_path):
    cfg, _ = synth
    s = next(x for x in load_samples(cfg, tmp_path, "test_s", task="AVS")
             if x.expression_type != "referring" and GroundTruth.from_sample(x).present[:, 0].all())
    pipe = _pipeline(cfg)
    literal = f"<think>.</think><answer>{s.meta['literal']}</answer>"
    original = f"<think>.</think><answer>{s.expression}</answer>"
    _, out = score_completions(pipe, s, [literal, original, "<think>.</think><answer></answer>"], cfg.rewards,
                               finished=[True] * 3)
    assert all(tuple(b.values) == AVS_SET for b in out)
    assert out[0].values["avs_iou"] > 0.5
    assert out[1].values["avs_iou"] == 0.0 and out[2].values["avs_iou"] == 0.0


def test_score_group_checks_the_sampled_frames(synth):
    cfg, splits = synth
    pipe = Pipeline(OmniSynthStandIn(), max_frames=4)
    s = splits["test_s"][0]
    rollouts = pipe.run(s, [format_vos_answer([1, 3], s.meta["literal"])])
    with pytest.raises(ValueError, match="sampled_frames"):
        score_group(s, rollouts, cfg.rewards, [True])  # default: every clip frame, but N = 4
    out = score_group(s, rollouts, cfg.rewards, [True], sampled_frames=pipe.sampled_frames(s))
    assert out[0].values["k_num"] == pytest.approx(0.8)


# ----------------------------------------------------------------------------- junk and broken System 2

JUNK = [
    "",
    "   ",
    "no tags at all",
    "<think>only thinking",
    "<think>x</think><answer></answer>",
    "<think>x</think><answer>   </answer>",
    "<think>x</think><answer>frame 3, the red circle</answer>",
    "<answer>" + moment("00:01.00") + "</answer>",
    answer(moment("00:99.00")),
    answer(moment("99:00.00", "00:00.00")),
    answer(*(moment(f"00:0{s}.{f}0") for s in range(4) for f in range(0, 10, 3))),  # too many moments
    answer(moment("00:00.00", "00:03.50")),  # one moment over every frame
    answer('{"start_time": "00:01.00", "end_time": "00:01.00"}'),  # no description
    answer('{"start_time": NaN, "end_time": Infinity, "description": 1e999}'),
    answer('{"start_time": "00:01.00", "end_time": "00:01.00", "description": "' + "x" * 5000 + '"}'),
    answer("{" * 200 + "}" * 3),
    answer("[" + ",".join([moment("00:01.00")] * 50) + "]"),
    answer(moment("00:01.00", desc="the red circle and the blue square and all the stars and triangles")),
    "<think>x</think><answer>" + moment("00:01.00") + "</answer><think>again</think>",
    "\x00\udcff<think>\u202e</think><answer>{\"start_time\": \"-1:00.00\"}</answer>",
]


def _assert_sane(out):
    for b in out:
        assert math.isfinite(b.total) and not b.errors
        assert all(math.isfinite(v) for v in b.values.values())


def test_junk_completions_never_raise_and_score_zero_when_unformatted(synth):
    cfg, splits = synth
    pipe = _pipeline(cfg)
    for s in splits["test_s"][:3] + splits["test_n"][:1]:
        _, out = score_completions(pipe, s, JUNK, cfg.rewards, finished=[True] * len(JUNK))
        _assert_sane(out)
        for text, b in zip(JUNK, out):
            assert b.format_ok == check_format(text)
            if not b.format_ok:
                assert b.total == 0.0
        loose = dataclasses.replace(cfg.rewards, strict_format=False)
        _, out = score_completions(pipe, s, JUNK, loose, finished=[False] * len(JUNK))
        _assert_sane(out)


class Broken:
    """A System 2 gone wrong: NaN/inf boxes, surplus boxes, and masks of the wrong kind."""

    def __init__(self, mode):
        self.mode = mode

    def ground(self, sample, frame, description):
        return np.array([[np.nan, 1, 5, 5], [0, 0, np.inf, 3], [1e30, 1e30, -1e30, 2], [2, 2, 9, 9],
                         [2, 2, 9, 9]], np.float32)

    def segment(self, sample, prompts, frames=None):
        t = sample.num_frames
        if self.mode == "nan":
            return np.full((t, 168, 224), np.nan)
        if self.mode == "shape":
            return np.zeros((t + 1, 3, 3), bool)
        return np.ones((t, 168, 224), bool)


@pytest.mark.parametrize("mode", ["nan", "shape", "full"])
def test_broken_system2_outputs_give_finite_rewards(synth, mode):
    cfg, splits = synth
    pipe = _pipeline(cfg, Broken(mode))
    s = splits["test_s"][0]
    made = hand_made_completions(s, _area(pipe, s))
    _, out = score_completions(pipe, s, [t for t, _ in made.values()], cfg.rewards,
                               finished=[f for _, f in made.values()])
    _assert_sane(out)
    oracle = out[0]
    assert oracle.values["a_surplus"] < 0  # 2 finite boxes for 1 object
    if mode == "shape":
        assert oracle.values["r_g"] == 0.0


def test_nan_masks_and_junk_boxes_in_a_hand_built_rollout():
    m = square_masks()
    plan_text = answer(moment("00:00.50"))
    x = toy_input(plan_text, m, boxes={1: "junk", 5: [[1, 2]]}, masks=np.full((8, 20, 20), np.nan))
    [b] = score_group(x.truth, [x.rollout], CFG, finished=[True])
    assert not b.errors and math.isfinite(b.total) and b.values["r_a"] == 0.0 and b.values["r_g"] == 0.0
    r = Rollout("x", x.rollout.plan, (1,), ("d",), None, None)  # boxes not even a dict
    [b] = score_group(x.truth, [r], CFG, finished=[True])
    assert not b.errors and math.isfinite(b.total)


PIECES = st.sampled_from(["<think>", "</think>", "<answer>", "</answer>", "{", "}", "[", "]", '"start_time": ',
                          '"end_time": ', '"description": ', '"00:01.50"', '"the red circle"', ",", ":",
                          "\n", "<|im_end|>", "NaN", "1e400", "-"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(max_size=80) | st.lists(PIECES | st.text(max_size=5), max_size=25).map("".join),
                      min_size=1, max_size=4),
       finished=st.booleans(), strict=st.booleans())
def test_hypothesis_junk_groups(synth, texts, finished, strict):
    cfg, splits = synth
    pipe = _pipeline(cfg)
    rcfg = dataclasses.replace(cfg.rewards, strict_format=strict, length_bonus=True)
    _, out = score_completions(pipe, splits["test_s"][1], texts, rcfg, finished=[finished] * len(texts),
                               lengths=[len(t) for t in texts])
    _assert_sane(out)
    adv = group_advantages([b.total for b in out])
    assert np.isfinite(adv).all()


# ----------------------------------------------------------------------------- examples and figures


def test_perturbed_group_is_seeded_and_mixed(synth):
    cfg, splits = synth
    pipe = _pipeline(cfg)
    s = next(x for x in splits["test_s"] if x.expression_type == "reasoning")
    a = perturbed_group(s, _area(pipe, s), g=8, seed=3)
    assert a == perturbed_group(s, _area(pipe, s), g=8, seed=3)
    assert a != perturbed_group(s, _area(pipe, s), g=8, seed=4)
    _, out = score_completions(pipe, s, [t for _, t, _ in a], cfg.rewards, finished=[f for *_, f in a])
    totals = [b.total for b in out]
    for (label, _, _), b in zip(a, out):
        if label == "oracle":
            assert b.total == max(totals)
    fig = breakdown_figure([lab for lab, _, _ in a], out, advantages=group_advantages(totals))
    assert len(fig.axes) == 1
    table = breakdown_table("group", [lab for lab, _, _ in a], out, extra={"A": group_advantages(totals)})
    assert table.columns == ["rollout", "format", "R_K", "R_A", "R_G", "total", "A"]


def test_sampling_from_a_trained_checkpoint(synth, tmp_path, tiny_thinker):
    pytest.importorskip("peft")
    from peft import LoraConfig, get_peft_model

    from omni_r1_lite.rewards.examples import sample_from_checkpoint, trained_checkpoint

    cfg, splits = synth
    cfg = dataclasses.replace(cfg, system1=dataclasses.replace(cfg.system1, use_perception=False))
    run = tmp_path / "run"
    assert trained_checkpoint(run) is None
    model, processor = tiny_thinker
    model.save_pretrained(run / "sft")
    processor.save_pretrained(run / "sft")
    assert trained_checkpoint(run) == run / "sft"
    peft_model = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    peft_model.save_pretrained(run / "grpo" / "adapter")
    assert trained_checkpoint(run) == run / "grpo" / "adapter"
    s = splits["test_s"][0]
    out = sample_from_checkpoint(trained_checkpoint(run), cfg, tmp_path, s, g=2, max_new_tokens=4)
    assert len(out) == 2 and all(isinstance(t, str) and n <= 5 for _, t, _, n in out)
    pipe = _pipeline(cfg)
    _, scored = score_completions(pipe, s, [t for _, t, _, _ in out], cfg.rewards, finished=[f for *_, f, _ in out],
                                  lengths=[n for *_, n in out])
    _assert_sane(scored)


def test_fuzz_benchmark_counts_exceptions_and_non_finite_values(monkeypatch, capsys):
    """benchmarks/fuzz.py: a small clean run reports 0/0 on its JSON last line; a reward that raises
    and one that returns NaN are counted, not hidden by the safety net."""
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import fuzz

    clean = fuzz.main(["--n", "60", "--long-every", "20", "--long-chars", "5000"])
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last == json.loads(json.dumps(clean))
    assert last["completions"] == 60 and last["exceptions"] == 0 and last["non_finite"] == 0
    assert last["longest_chars"] == 5000 and last["max_ms"] >= last["p99_ms"] >= last["p50_ms"] > 0

    def broken(x, cfg):
        raise ZeroDivisionError("a bug")

    monkeypatch.setitem(fuzz.REWARDS, "broken", broken)
    monkeypatch.setitem(fuzz.REWARDS, "nan", lambda x, cfg: float("nan"))
    bad = fuzz.fuzz(n=10, long_every=0)
    assert bad["exceptions"] >= 30 and bad["non_finite"] >= 30 and not bad["targets_met"]  # 3 samples each
