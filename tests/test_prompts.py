"""System-1/System-2 prompts and the 2 fps virtual timeline."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omni_r1_lite.systems import prompts as P
from omni_r1_lite.systems.parsing import parse_time, parse_vos_answer


@given(index=st.integers(0, 500), extra=st.integers(1, 400))
def test_timeline_round_trip(index, extra):
    num_frames = index + extra
    seconds = float(parse_time(P.index_to_timestamp(index))[0])
    assert seconds == index / 2
    assert P.seconds_to_index(seconds, num_frames) == index
    assert P.seconds_to_index(seconds + 0.49, num_frames) == index  # int(t * 2) truncates
    assert P.seconds_to_index(1e6, num_frames) == num_frames - 1
    assert P.seconds_to_index(-3, num_frames) == 0


@given(total=st.integers(1, 2000), n=st.integers(1, 30))
def test_sample_frame_indices(total, n):
    idx = P.sample_frame_indices(total, n)
    assert idx == sorted(set(idx)) and len(idx) == min(total, n)
    assert idx[0] == 0 and (idx[-1] == total - 1 or n == 1)
    assert P.sample_frame_indices(0, n) == []


def test_format_timestamp_and_moment():
    assert P.format_timestamp(0) == "00:00.00" and P.format_timestamp(11.5) == "00:11.50"
    assert P.format_timestamp(75.25) == "01:15.25"
    m = json.loads(P.format_moment(7, "the dog"))
    assert m == {"start_time": "00:03.50", "end_time": "00:03.50", "description": "the dog"}


def _examples(text: str) -> list[dict]:
    body = text.split("<answer>")[-1].split("</answer>")[0]
    return [json.loads(line) for line in body.strip().splitlines()]


def test_forcing_template():
    text = P.vos_prompt_text("the man who sits down last", num_frames=10, seed=7)
    assert text.startswith("Given a 5.0-second video and the instruction [the man who sits down last]")
    assert "about 4 moments" in text and "<think>" in text and "<answer>" in text
    ex = _examples(text)
    assert len(ex) == 4
    assert all(e["start_time"] == e["end_time"] for e in ex)
    assert all(0 <= P.seconds_to_index(float(parse_time(e["start_time"])[0]), 10) < 10 for e in ex)
    # the example answer itself parses as a valid plan on the same timeline
    assert parse_vos_answer(text[text.rindex("<answer>") :], 10).ok
    # randomised per sample, deterministic per seed
    assert P.vos_prompt_text("x", 10, seed=7) == P.vos_prompt_text("x", 10, seed=7)
    assert (
        len({tuple(e["start_time"] for e in _examples(P.vos_prompt_text("x", 24, seed=s))) for s in range(8)})
        > 1
    )
    assert "Given a 4.5-second video" in P.vos_prompt_text("x", 9)


def test_no_hint_and_compact_templates():
    no_hint = P.vos_prompt_text("the cat", 8, template="no_hint")
    assert '"start_time"' in no_hint and "{" not in no_hint and "between 1 and 4 moments" in no_hint
    compact = P.vos_prompt_text("the cat", 8, seed=1, template="compact")
    assert len(compact) < len(P.vos_prompt_text("the cat", 8)) / 2
    assert "[the cat]" in compact and compact.count('"start_time"') == 1
    with pytest.raises(ValueError):
        P.vos_prompt_text("x", 8, template="nope")
    with pytest.raises(ValueError):
        P.vos_prompt_text("x", 0)


def test_avs_template_and_messages():
    msgs = P.build_system1_messages("AVS", "the  instrument\nplaying first", audio_seconds=4)
    assert len(msgs) == 1 and msgs[0]["role"] == "user"
    parts = msgs[0]["content"]
    assert [p["type"] for p in parts] == ["audio", "image", "text"]
    text = parts[2]["text"]
    assert text.startswith("Given 4.0 seconds of audio") and "[the instrument playing first]" in text
    assert "<answer>" in text and "Perception" not in text
    assert "10.0 seconds" in P.build_system1_messages("AVS", "x")[0]["content"][2]["text"]
    assert P.build_system1_messages("AVS", "x", template="compact")[0]["content"][2]["text"].startswith(
        "10.0 seconds"
    )


def test_vos_messages_and_perception_track():
    msgs = P.build_system1_messages(
        "VOS", "the dog", num_frames=6, seed=2, perception="frame 0: brown dog, left"
    )
    parts = msgs[0]["content"]
    assert [p["type"] for p in parts] == ["video", "text"]
    assert parts[1]["text"].endswith(P.PERCEPTION_HEADER + "frame 0: brown dog, left")
    assert (
        "Perception" not in P.build_system1_messages("VOS", "the dog", num_frames=6)[0]["content"][1]["text"]
    )
    assert (
        "Perception"
        not in P.build_system1_messages("VOS", "d", num_frames=6, perception="  ")[0]["content"][1]["text"]
    )
    with pytest.raises(ValueError):
        P.build_system1_messages("VOS", "the dog")
    with pytest.raises(ValueError):
        P.build_system1_messages("ASR", "x", num_frames=3)


def test_grounding_prompts():
    msgs = P.build_grounding_messages("The Red Circle.")
    assert [p["type"] for p in msgs[0]["content"]] == ["image", "text"]
    text = msgs[0]["content"][1]["text"]
    assert "'the red circle'" in text and "JSON" in text and "bbox_2d" in text
    refavs = P.grounding_prompt_text("the piano", style="refavs")
    assert refavs == "Find the bounding box of 'the piano' and output it in JSON format."
    with pytest.raises(ValueError):
        P.grounding_prompt_text("x", style="other")


def test_answers_and_corpus():
    text = P.format_vos_answer([0, 3], ["a", "b"], think="t")
    assert re.fullmatch(r"<think>t</think>\n<answer>\{.*\}\n\{.*\}</answer>", text)
    with pytest.raises(ValueError):
        P.format_vos_answer([0, 3], ["a"])
    assert P.format_avs_answer("the dog") == "<think></think>\n<answer>the dog</answer>"
    corpus = P.tokenizer_corpus(seed=0, repeats=3)
    assert corpus == P.tokenizer_corpus(seed=0, repeats=3) and corpus != P.tokenizer_corpus(seed=1, repeats=3)
    assert any('"bbox_2d"' in s for s in corpus) and any("<think>" in s for s in corpus)
