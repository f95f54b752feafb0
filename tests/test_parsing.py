"""The System-1 answer parser and the grounding-box parser: never raise, documented rules hold."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omni_r1_lite.systems.parsing import (
    ISSUES,
    Plan,
    check_format,
    extract_answer,
    parse_avs_answer,
    parse_boxes,
    parse_vos_answer,
)
from omni_r1_lite.systems.prompts import format_vos_answer, index_to_timestamp

N = 10  # sampled frames: a 5-second virtual video


def moment(start: str, end: str | None = None, desc: str = "the red circle") -> str:
    return json.dumps(
        {"start_time": start, "end_time": end if end is not None else start, "description": desc}
    )


def answer(*objs: str, think: str = "ok") -> str:
    return f"<think>{think}</think>\n<answer>{''.join(objs)}</answer>"


# ----------------------------------------------------------------------------- properties

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-100, 100) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["start_time", "end_time", "description", "bbox_2d", "x", "START_TIME"])
            | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
TIMES = st.one_of(
    st.builds(
        lambda m, s, f: f"{m:02d}:{s:02d}.{f:02d}", st.integers(0, 2), st.integers(0, 70), st.integers(0, 99)
    ),
    st.floats(-5, 20),
    st.integers(-3, 30),
    st.text(max_size=8),
    st.none(),
)
MOMENTS = st.lists(
    st.fixed_dictionaries(
        {"start_time": TIMES, "end_time": TIMES, "description": st.none() | st.text(max_size=20)}
    ),
    max_size=8,
)
PIECES = st.sampled_from(
    ["<think>", "</think>", "<answer>", "</answer>", "{", "}", '"', ",", "\n", "<|im_end|>", "'"]
)


def _check_plan(plan: Plan, num_frames: int, k: int) -> None:
    assert isinstance(plan, Plan)
    assert "parser_error" not in plan.issues
    assert set(plan.issues) <= set(ISSUES)
    assert list(plan.issues) == sorted(set(plan.issues))
    assert list(plan.keyframes) == sorted(set(plan.keyframes))
    assert len(plan.keyframes) <= k
    assert all(0 <= f < num_frames for f in plan.keyframes)
    assert len(plan.descriptions) == len(plan.keyframes)
    assert all(isinstance(d, str) and d.strip() for d in plan.descriptions)
    assert plan.ok == bool(plan.keyframes)
    for m in plan.moments:
        if m.valid:
            assert 0 <= m.first_frame <= m.last_frame < num_frames


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(max_size=300) | st.lists(PIECES | st.text(max_size=6), max_size=40).map("".join),
    num_frames=st.integers(-2, 30),
    k=st.integers(0, 6),
)
def test_vos_parser_never_raises_on_text(text, num_frames, k):
    plan = parse_vos_answer(text, num_frames, max_keyframes=k)
    if num_frames > 0 and k > 0:
        _check_plan(plan, num_frames, k)
    else:
        assert not plan.ok


@settings(max_examples=300, deadline=None)
@given(
    value=JSONISH,
    moments=MOMENTS,
    num_frames=st.integers(1, 24),
    k=st.integers(1, 6),
    wrap=st.sampled_from(["list", "concat", "nested", "raw"]),
)
def test_vos_parser_invariants_on_jsonish_answers(value, moments, num_frames, k, wrap):
    try:
        extra = json.dumps(value)
    except ValueError:
        extra = "{}"
    if wrap == "list":
        body = json.dumps(moments)
    elif wrap == "concat":
        body = "\n".join(json.dumps(m) for m in moments)
    elif wrap == "nested":
        body = json.dumps({"moments": moments, "other": value})
    else:
        body = extra + "".join(json.dumps(m) for m in moments)
    plan = parse_vos_answer(answer(body), num_frames, max_keyframes=k)
    _check_plan(plan, num_frames, k)


@settings(max_examples=200, deadline=None)
@given(frames=st.lists(st.integers(0, 23), min_size=1, max_size=8), num_frames=st.integers(1, 24))
def test_canonical_answers_round_trip(frames, num_frames):
    frames = [f % num_frames for f in frames]
    descs = [f"object {f}" for f in frames]
    plan = parse_vos_answer(format_vos_answer(frames, descs, think="why"), num_frames)
    expected = sorted(set(frames))[:4]
    assert plan.ok and list(plan.keyframes) == expected
    first = {}
    for f, d in zip(frames, descs):
        first.setdefault(f, d)
    assert list(plan.descriptions) == [first[f] for f in expected]
    assert check_format(format_vos_answer(frames, descs, think="why"))


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200) | st.lists(PIECES | st.text(max_size=6), max_size=30).map("".join))
def test_avs_parser_and_format_never_raise(text):
    plan = parse_avs_answer(text)
    assert "parser_error" not in plan.issues
    assert plan.ok == bool(plan.keyframes) == bool(plan.descriptions)
    assert isinstance(check_format(text), bool) and isinstance(check_format(text, require_eos=True), bool)


@settings(max_examples=300, deadline=None)
@given(value=JSONISH, text=st.text(max_size=100), max_boxes=st.none() | st.integers(-1, 4))
def test_parse_boxes_never_raises(value, text, max_boxes):
    try:
        body = json.dumps(value)
    except ValueError:
        body = "[]"
    for candidate in (body, text, f"```json\n{body}\n```{text}", text + '"bbox_2d": [1, 2'):
        boxes = parse_boxes(candidate, max_boxes=max_boxes)
        assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 4
        assert np.isfinite(boxes).all()
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
        if max_boxes is not None:
            assert len(boxes) <= max(max_boxes, 0)


# ----------------------------------------------------------------------------- documented cases


def test_official_style_answer():
    text = answer(moment("00:00.50"), moment("00:02.00", desc="on the left"), moment("00:04.50"))
    plan = parse_vos_answer(text, N)
    assert plan.ok and plan.keyframes == (1, 4, 9) and plan.issues == ()
    assert plan.descriptions == ("the red circle", "on the left", "the red circle")
    assert plan.num_objects == 3 and plan.answer is not None


def test_empty_and_missing_answer():
    assert parse_vos_answer("", N).issues == ("empty_output",)
    assert parse_vos_answer("   \n", N).issues == ("empty_output",)
    plan = parse_vos_answer("<think>x</think><answer>  </answer>", N)
    assert not plan.ok and "empty_answer" in plan.issues


def test_missing_tags_read_after_think():
    plan = parse_vos_answer("<think>" + moment("00:01.00") + "</think>" + moment("00:03.00"), N)
    assert plan.keyframes == (6,) and "missing_answer_tags" in plan.issues  # the think part is not read
    plan = parse_vos_answer(moment("00:01.00"), N)
    assert plan.keyframes == (2,) and plan.issues == ("missing_answer_tags",)


def test_unclosed_answer_and_text_after():
    plan = parse_vos_answer("<think>a</think><answer>" + moment("00:01.00") + "<|im_end|>", N)
    assert plan.keyframes == (2,) and "unclosed_answer" in plan.issues
    plan = parse_vos_answer(answer(moment("00:01.00")) + moment("00:03.00") + " trailing", N)
    assert plan.keyframes == (2,) and "text_after_answer" in plan.issues
    assert "text_after_answer" not in parse_vos_answer(answer(moment("00:01.00")) + "<|im_end|>\n", N).issues


def test_malformed_json_is_skipped_and_valid_blocks_kept():
    plan = parse_vos_answer(answer('{"start_time": "00:01.00", "end_', moment("00:02.00")), N)
    assert plan.keyframes == (4,) and "malformed_json" in plan.issues
    assert plan.num_objects == 2  # one readable moment + one unreadable block
    plan = parse_vos_answer(answer("{this is not json}"), N)
    assert not plan.ok and {"malformed_json", "no_json", "no_valid_moment"} <= set(plan.issues)


def test_nested_braces_which_the_official_regex_breaks_on():
    nested = json.dumps(
        {
            "start_time": "00:01.00",
            "end_time": "00:01.00",
            "description": "a {curly} hat",
            "extra": {"k": {"j": 1}},
        }
    )
    plan = parse_vos_answer(answer(nested, moment("00:03.00")), N)
    assert plan.keyframes == (2, 6) and plan.descriptions[0] == "a {curly} hat"
    wrapped = json.dumps({"moments": [json.loads(moment("00:00.00")), json.loads(moment("00:04.00"))]})
    assert parse_vos_answer(answer(wrapped), N).keyframes == (0, 8)
    as_list = json.dumps([json.loads(moment("00:01.50")), json.loads(moment("00:02.50"))])
    assert parse_vos_answer(answer(as_list), N).keyframes == (3, 5)


def test_lenient_json_single_quotes_trailing_commas_bare_keys():
    plan = parse_vos_answer(
        answer("{'start_time': '00:01.00', 'end_time': '00:01.00', 'description': 'x'}"), N
    )
    assert plan.keyframes == (2,) and "json_repaired" in plan.issues
    plan = parse_vos_answer(
        answer('{"start_time": "00:02.00", "end_time": "00:02.00", "description": "x",}'), N
    )
    assert plan.keyframes == (4,) and "json_repaired" in plan.issues
    plan = parse_vos_answer(answer('{start_time: "00:03.00", end_time: "00:03.00", description: "x"}'), N)
    assert plan.keyframes == (6,)


def test_time_formats():
    assert parse_vos_answer(answer(moment("00:01.5")), N).keyframes == (3,)  # decimal fraction, not 1.05 s
    assert parse_vos_answer(answer(moment("00:01")), N).keyframes == (2,)
    assert parse_vos_answer(answer(moment("00:00:02.00")), N).keyframes == (4,)
    plan = parse_vos_answer(answer(json.dumps({"start_time": 1.5, "end_time": "2", "description": "x"})), N)
    assert plan.keyframes == (3, 4) and "nonstandard_time" in plan.issues
    for bad in ("soon", "-00:01.00", "1:2:3:4", True):
        plan = parse_vos_answer(
            answer(json.dumps({"start_time": bad, "end_time": "00:01.00", "description": "x"})), N
        )
        assert not plan.ok and "bad_time" in plan.issues, bad
    plan = parse_vos_answer(answer('{"end_time": "00:01.00", "description": "x"}'), N)
    assert not plan.ok and "missing_time" in plan.issues


def test_out_of_range_dropped_and_timeline_end_clipped():
    plan = parse_vos_answer(answer(moment("00:05.50"), moment("00:01.00")), N)  # N/2 = 5 s
    assert plan.keyframes == (2,) and "time_out_of_range" in plan.issues
    assert plan.moments[0].issue == "time_out_of_range" and plan.moments[0].frames == range(0)
    plan = parse_vos_answer(answer(moment("00:05.00")), N)  # exactly the end: frame int(10) -> clipped to 9
    assert plan.keyframes == (9,) and plan.issues == ()


def test_reversed_times_dropped():
    plan = parse_vos_answer(answer(moment("00:03.00", "00:01.00"), moment("00:02.00")), N)
    assert plan.keyframes == (4,) and "reversed_times" in plan.issues


def test_duplicates_counted_once():
    plan = parse_vos_answer(answer(moment("00:01.00", desc="first"), moment("00:01.00", desc="second")), N)
    assert plan.keyframes == (2,) and plan.descriptions == ("first",) and "duplicate_frames" in plan.issues
    plan = parse_vos_answer(
        answer(moment("00:01.00", "00:02.00", desc="span"), moment("00:01.50", desc="pt")), N
    )
    assert plan.keyframes == (2, 3, 4) and plan.descriptions == ("span", "span", "span")


def test_too_many_moments_keep_first_k_in_time_order():
    objs = [moment(index_to_timestamp(i), desc=f"d{i}") for i in (9, 1, 7, 3, 5, 0)]
    plan = parse_vos_answer(answer(*objs), N)
    assert plan.keyframes == (0, 1, 3, 5) and plan.descriptions == ("d0", "d1", "d3", "d5")
    assert "too_many_keyframes" in plan.issues
    plan = parse_vos_answer(answer(moment("00:00.00", "00:04.50", desc="all")), N, max_keyframes=4)
    assert plan.keyframes == (0, 1, 2, 3) and "too_many_keyframes" in plan.issues
    assert parse_vos_answer(answer(*objs), N, max_keyframes=2).keyframes == (0, 1)


def test_missing_description_dropped_and_long_ones_cut():
    objs = [
        '{"start_time": "00:01.00", "end_time": "00:01.00"}',
        moment("00:02.00", desc="  "),
        json.dumps({"start_time": "00:03.00", "end_time": "00:03.00", "description": 7}),
        moment("00:04.00"),
    ]
    plan = parse_vos_answer(answer(*objs), N)
    assert plan.keyframes == (8,) and "missing_description" in plan.issues
    assert [m.issue for m in plan.moments] == ["missing_description"] * 3 + [None]
    plan = parse_vos_answer(answer(moment("00:01.00", desc="  a \n  b " + "x" * 400)), N)
    assert plan.descriptions[0].startswith("a b x") and len(plan.descriptions[0]) <= 300
    assert "description_truncated" in plan.issues


def test_case_insensitive_keys():
    plan = parse_vos_answer(
        answer('{"Start_Time": "00:01.00", "END_TIME": "00:01.00", "Description": "x"}'), N
    )
    assert plan.keyframes == (2,)


def test_extract_answer():
    assert extract_answer("<think>a</think><answer>b</answer>") == ("b", ())
    assert extract_answer(None) == (None, ("empty_output",))
    assert extract_answer("<answer>b") == ("b", ("unclosed_answer",))


@pytest.mark.parametrize(
    ("text", "require_eos", "expected"),
    [
        ("<think>a</think><answer>b</answer>", False, True),
        ("<think>a</think>\n\n<answer>b</answer>", False, True),
        ("  <think>a</think><answer>b</answer>\n", False, True),
        ("<think></think><answer></answer>", False, True),
        ("<think>a</think><answer>b</answer><|im_end|>", True, True),
        ("<think>a</think><answer>b</answer><|im_end|><|endoftext|><|endoftext|>", True, True),
        ("<think>a</think><answer>b</answer>", True, False),
        ("<answer>b</answer>", False, False),
        ("<think>a</think>", False, False),
        ("<think>a</think>x<answer>b</answer>", False, False),
        ("<think>a</think><answer>b</answer>c", False, False),
        ("<think>a</think><answer>b</answer><answer>c</answer>", False, False),
        ("<think>a<think>b</think><answer>c</answer>", False, False),
        ("<think>a</think><answer>b<think>c</answer>", False, False),
        ("<think>a</think><answer>b", False, False),
        ("", False, False),
    ],
)
def test_check_format(text, require_eos, expected):
    assert check_format(text, require_eos=require_eos) is expected


def test_avs_answers():
    plan = parse_avs_answer("<think>the bark</think><answer>the brown dog on the left</answer>")
    assert plan.ok and plan.keyframes == (0,) and plan.descriptions == ("the brown dog on the left",)
    assert parse_avs_answer('<think>x</think><answer>{"description": "the piano"}</answer>').descriptions == (
        "the piano",
    )
    assert parse_avs_answer("<think>x</think><answer>[the violin]</answer>", frame_index=3).keyframes == (3,)
    assert not parse_avs_answer("").ok
    plan = parse_avs_answer("the guitar")
    assert plan.ok and "missing_answer_tags" in plan.issues


def test_parse_boxes_cases():
    qwen = '```json\n[\n  {"bbox_2d": [10, 20, 110, 220], "label": "dog"},\n  {"bbox_2d": [5, 5, 50, 50]}\n]\n```'
    np.testing.assert_array_equal(parse_boxes(qwen), [[10, 20, 110, 220], [5, 5, 50, 50]])
    np.testing.assert_array_equal(parse_boxes(qwen, max_boxes=1), [[10, 20, 110, 220]])
    assert parse_boxes(qwen, max_boxes=0).shape == (0, 4)
    swapped = parse_boxes('{"bbox_2d": [110, 220, 10, 20]}')
    np.testing.assert_array_equal(swapped, [[10, 20, 110, 220]])
    invalid = '[{"bbox_2d": [1, 2, 3]}, {"bbox_2d": [5, 5, 5, 9]}, {"bbox_2d": ["a", 1, 2, 3]}, {"bbox_2d": [1, 2, 8, 9]}]'
    np.testing.assert_array_equal(parse_boxes(invalid), [[1, 2, 8, 9]])
    assert parse_boxes('[{"bbox_2d": [-1, -1, -1, -1]}]').shape == (0, 4)
    assert parse_boxes('{"bbox_2d": [1, 2, NaN, 9]}').shape == (0, 4)
    truncated = '[{"bbox_2d": [12, 14, 40, 44], "label": "a"}, {"bbox_2d": [1, 2, 3'
    np.testing.assert_array_equal(parse_boxes(truncated), [[12, 14, 40, 44]])
    np.testing.assert_array_equal(parse_boxes('"bbox_2d": [3, 4, 9, 10], "label": "cut'), [[3, 4, 9, 10]])
    np.testing.assert_array_equal(parse_boxes("The box is [3, 4, 9.5, 10]."), [[3, 4, 9.5, 10]])
    vr = '<think>see [0, 0, 1, 1]</think><answer>[{"bbox_2d": [10,100,200,210], "point_2d": [30,110]}]</answer>'
    np.testing.assert_array_equal(parse_boxes(vr), [[10, 100, 200, 210]])
    nested = '{"objects": [{"name": "cat", "bbox_2d": [1, 1, 4, 4]}], "meta": {"bbox": [2, 2, 6, 6]}}'
    np.testing.assert_array_equal(parse_boxes(nested), [[1, 1, 4, 4], [2, 2, 6, 6]])
    assert parse_boxes(None).shape == (0, 4)


_MOMENT = '{"start_time": "00:01.00", "end_time": "00:01.00", "description": "the red circle"}'


def test_a_time_too_long_for_a_float_drops_only_its_moment():
    """A 400-digit integer time used to overflow float() and lose the whole plan (parser_error)."""
    from omni_r1_lite.systems.parsing import parse_time, parse_vos_answer

    huge = '{"start_time": ' + "9" * 400 + ', "end_time": "00:01.00", "description": "x"}'
    plan = parse_vos_answer(f"<think>t</think><answer>{huge}{_MOMENT}</answer>", num_frames=10)
    assert plan.ok and plan.keyframes == (2,) and "bad_time" in plan.issues and "parser_error" not in plan.issues
    assert parse_time(10**400) == (None, "bad_time") and parse_time(1e300) == (None, "bad_time")
    assert parse_time(12)[0] == 12


def test_a_moment_after_many_empty_blocks_is_read():
    """Blocks without a ':' are decided without parsing and do not use up the parse budget."""
    from omni_r1_lite.systems.parsing import json_blocks, parse_vos_answer

    plan = parse_vos_answer("<think>t</think><answer>" + "{}" * 600 + "{ } {oops}" + _MOMENT + "</answer>",
                            num_frames=10)
    assert plan.ok and plan.keyframes == (2,) and plan.descriptions == ("the red circle",)
    from omni_r1_lite.systems.parsing import _scan_blocks

    text = "{} {\f} {oops} {1, 2} " + _MOMENT
    blocks, bad = json_blocks(text)
    assert [v for _, v, _ in blocks] == [json.loads(_MOMENT)] and bad == 2  # as the parsers say
    _, (empty_starts, empty_repaired), _, _ = _scan_blocks(text)
    assert empty_starts.tolist() == [0, 3] and empty_repaired.tolist() == [False, True]


def test_json_blocks_agrees_with_parsing_every_colon_free_block():
    """The shortcut for blocks without ':' gives what parsing them would (random brace soup)."""
    import random

    from omni_r1_lite.systems.parsing import _scan_blocks, loads_lenient

    rng = random.Random(0)
    for _ in range(300):
        text = "".join(rng.choice("{} \t\n\x0cab,[]1'\"") for _ in range(rng.randint(1, 40)))
        blocks, (empty_starts, empty_repaired), _, _ = _scan_blocks(text)
        blocks = blocks + [(s, {}, r) for s, r in zip(empty_starts.tolist(), empty_repaired.tolist())]
        for start, value, repaired in blocks:
            depth, end = 0, None
            for i in range(start, len(text)):
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                if depth == 0:
                    end = i
                    break
            if end is not None and ":" not in text[start:end + 1] and '"' not in text[start:end + 1]:
                assert loads_lenient(text[start:end + 1]) == (value, repaired), repr(text)


def test_stripping_many_end_tokens_keeps_the_text():
    from omni_r1_lite.systems.parsing import _strip_special_tail, extract_answer

    assert _strip_special_tail("abc " + "<|im_end|>\n" * 50000 + "<|endoftext|>") == "abc"
    assert _strip_special_tail("<|im_end|>") == "" and _strip_special_tail("x<|im_end") == "x<|im_end"
    assert extract_answer("<answer>a</answer>" + "<|im_end|>" * 1000) == ("a", ())


def _stack_pairs(text: str, string_aware: bool) -> tuple[list[tuple[int, int]], list[int]]:
    """Brace pairs by a plain character loop with a stack (the oracle for the vectorised scan)."""
    stack: list[int] = []
    pairs: list[tuple[int, int]] = []
    in_str = escaped = False
    for i, ch in enumerate(text):
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch == '"' and string_aware:
            in_str = True
        elif ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            pairs.append((stack.pop(), i))
    return pairs, stack


def _oracle_blocks(text: str) -> tuple[list, int]:
    """json_blocks written the slow, obvious way: every candidate parsed, containment by scans."""
    from omni_r1_lite.systems.parsing import loads_lenient

    aware, _ = _stack_pairs(text, True)
    blind, unclosed = _stack_pairs(text, False)
    accepted, failed = [], []
    for s, e in sorted(set(aware) | set(blind), key=lambda p: (p[0], -p[1])):
        if any(a <= s and e <= b for a, b, _, _ in accepted):
            continue
        result = loads_lenient(text[s:e + 1])
        if result is None:
            failed.append((s, e))
        else:
            accepted.append((s, e, *result))
    bad = sum(1 for i, (s, e) in enumerate(failed)
              if not any(a <= s and e <= b for a, b in failed[:i])
              and not any(s <= a and b <= e for a, b, _, _ in accepted))
    bad += sum(1 for i in unclosed if not any(a <= i <= b for a, b, _, _ in accepted))
    return [(s, v, r) for s, e, v, r in accepted if not (v == {} and ":" not in text[s:e + 1])], bad


_SOUP = ['{', '}', '"', '\\', '\\\\', '\\"', ':', ',', '"a"', "'a'", ' ', '\x0c', '[', ']', '1', 'x', 'true',
         '{}', '{ }', '"description": ', '"start_time": "00:00.50"', _MOMENT]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_SOUP), min_size=1, max_size=40))
def test_vectorised_scan_equals_a_stack_scanner(pieces):
    """The array-based brace matching, string mask and block decisions give what a character loop
    with a stack and a parse of every candidate gives (escapes, unbalanced quotes, nesting)."""
    from omni_r1_lite.systems.parsing import json_blocks

    text = "".join(pieces)
    assert json_blocks(text) == _oracle_blocks(text), repr(text)


def test_a_block_nested_too_deep_is_unreadable_by_a_direct_count(monkeypatch):
    """`_too_deep` (range maxima) against counting each block's depth directly."""
    import random

    from omni_r1_lite.systems import parsing

    monkeypatch.setattr(parsing, "_MAX_DEPTH", 2)
    rng = random.Random(1)
    for _ in range(200):
        text = "".join(rng.choice("{{}}x") for _ in range(rng.randint(1, 30)))
        pairs, _ = _stack_pairs(text, False)
        pos = np.array([i for i, c in enumerate(text) if c in "{}"], dtype=np.int64)
        opens = np.array([text[i] == "{" for i in pos.tolist()], dtype=bool)
        starts = np.array([s for s, _ in pairs], dtype=np.int64)
        ends = np.array([e for _, e in pairs], dtype=np.int64)
        got = parsing._too_deep(pos, opens, starts, ends).tolist()

        def depth(s, e, text=text):
            level = peak = 0
            for c in text[s:e + 1]:
                level += {"{": 1, "}": -1}.get(c, 0)
                peak = max(peak, level)
            return peak

        assert got == [depth(s, e) > 2 for s, e in pairs], text
    deep = '{"a": ' * 600 + "1" + "}" * 600
    plan = parsing.parse_vos_answer(f"<answer>{deep}{_MOMENT}</answer>", num_frames=10)
    assert plan.ok and plan.keyframes == (2,)  # the deep block is skipped, not parsed 256 times


def test_reading_stops_at_256_moments_and_256_boxes():
    from omni_r1_lite.systems.parsing import parse_boxes, parse_vos_answer

    plan = parse_vos_answer('<answer>{"moments": [' + ", ".join([_MOMENT] * 300) + "]}</answer>", num_frames=10)
    assert len(plan.moments) == 256 and "too_many_moments" in plan.issues and plan.keyframes == (2,)
    few = parse_vos_answer("<answer>[" + ", ".join([_MOMENT] * 20) + "]</answer>", num_frames=10)
    assert len(few.moments) == 20 and not {"too_many_moments", "too_many_blocks"} & set(few.issues)
    many = parse_vos_answer("<answer>" + '{"a": 1}' * 256 + _MOMENT + "</answer>", num_frames=10)
    assert not many.ok and "too_many_blocks" in many.issues  # the 257th block is not read, and it says so
    assert parse_boxes("[1, 2, 3, 4] " * 300).shape == (256, 4)
    assert parse_boxes("[1, 1, 1, 1] " * 300 + "[1, 2, 3, 4]").shape == (0, 4)  # only 256 candidates are read


def test_a_box_with_no_area_in_float32_is_dropped():
    """[0, 0, 1, 2.7e-148] has area in float64 and none once returned as float32 (hypothesis found it)."""
    from omni_r1_lite.systems.parsing import parse_boxes

    assert parse_boxes('{"bbox_2d": [0, 0, 1, 2.71644726247689e-148]}').shape == (0, 4)
    assert parse_boxes('{"bbox_2d": [0, 0, 1, 1e-3]}').shape == (1, 4)
