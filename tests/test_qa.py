"""Question answering: answer extraction, prompts, OmniSynth-QA's exact answers and balance, the QA
runner (resume, shards, stale results, bad media, both scorings), summaries and tables."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from omni_r1_lite.config import get_preset
from omni_r1_lite.data.omnisynth.config import IN_VIEW_PX
from omni_r1_lite.data.omnisynth.qa import ORDER_MARGIN_S, TIMING_OPTIONS, omnisynth_qa
from omni_r1_lite.data.qa import Question, QuestionError
from omni_r1_lite.data.sources import ensure_omnisynth
from omni_r1_lite.evaluation import StaleResultsError
from omni_r1_lite.evaluation.qa import QAEvaluator, bootstrap_interval, qa_table, summarize
from omni_r1_lite.systems.answering import extract_choice, qa_prompt_text

MC = Question("m", "mvbench", "t", "Which happens first?", ("the dog runs", "the cat jumps", "nothing", "rain"), "B")
YN = Question("y", "avhbench", "t", "Is the dog barking?", (), "yes")


@pytest.mark.parametrize("text, want", [
    ("B", "B"), ("b.", "B"), ("(C)", "C"), ("D)", "D"), ("The answer is A.", "A"), ("Answer: c", "C"),
    ("I think the best option is option D", "D"), ("<think>maybe A, maybe C</think>\n<answer>C</answer>", "C"),
    ("<think>A? no.</think> B. the cat jumps", "B"), ("the cat jumps", "B"), ("I'd say: the dog runs.", "A"),
    ("E", None), ("The answer is E", None), ("A or B", None), ("", None), ("<answer></answer>", None),
    ("???", None), ("x" * 100_000, None), ('{"start_time": "00:00.50", "description": "the red circle"}', None),
])
def test_multiple_choice_extraction(text, want):
    got, issue = extract_choice(text, MC)
    assert got == want
    assert (issue is None) == (want is not None)


@pytest.mark.parametrize("text, want", [
    ("Yes", "yes"), ("no.", "no"), ("NO", "no"), ("Yes, the dog is barking.", "yes"), ("The answer is no", "no"),
    ("<think>hmm, yes or no? the sound is a bark</think><answer>yes</answer>", "yes"), ("yes or no", None),
    ("maybe", None), ("", None), (None, None), ("nothing", None), ("<answer>not sure", None),
])
def test_yes_no_extraction(text, want):
    assert extract_choice(text, YN)[0] == want


def test_extraction_reads_the_last_answer_block_and_never_raises_on_junk():
    assert extract_choice("<answer>A</answer> then <answer>D</answer>", MC) == ("D", None)
    assert extract_choice("<answer>unfinished B", MC)[0] == "B"
    assert extract_choice("\x00\ufffd" * 1000, YN) == (None, "unreadable")
    assert extract_choice("E", MC) == (None, "not-an-option")


def test_prompts_with_and_without_thinking_and_subtitles():
    plain = qa_prompt_text(MC)
    assert plain.splitlines()[1:6] == ["Options:", "A. the dog runs", "B. the cat jumps", "C. nothing", "D. rain"]
    assert plain.endswith("directly.") and "<think>" not in plain
    think = qa_prompt_text(MC, think=True)
    assert "<think> </think>" in think and "single option letter" in think
    assert qa_prompt_text(YN, think=True).endswith("Put only yes or no inside <answer> </answer>.")
    subs = qa_prompt_text(Question("s", "videomme", "t", "Who talks?", ("a", "b"), "A", subtitles="Hello there."))
    assert subs.index("Hello there.") < subs.index("Who talks?")
    assert "Perception notes" in qa_prompt_text(YN, perception="0.0 s: red circle")


def test_question_schema_rejects_answers_outside_the_options():
    with pytest.raises(QuestionError, match="'C'"):
        Question("q", "mvbench", "t", "?", ("a", "b"), "C")
    with pytest.raises(QuestionError, match="yes"):
        Question("q", "avhbench", "t", "?", (), "Yes")
    with pytest.raises(QuestionError, match="no text"):
        Question("q", "avhbench", "t", "  ", (), "yes")


# ----------------------------------------------------------------------------- OmniSynth-QA


@pytest.fixture(scope="module")
def cfg():
    return get_preset("smoke")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("qa_data")


@pytest.fixture(scope="module")
def questions(cfg, data_dir):
    return omnisynth_qa(ensure_omnisynth(cfg, data_dir))


def test_omnisynth_qa_answers_are_what_the_clip_shows_and_plays(questions):
    assert {q.task for q in questions} >= {"object presence", "sound presence", "sound timing"}
    for q in questions:
        ann = q.meta["clip"].meta["annotation"]
        on_screen = {(o["colour"], o["shape"]) for o in ann["objects"]
                     if any(f_o["id"] == o["id"] and f_o["onscreen_area"] >= IN_VIEW_PX
                            for f in ann["frames"] for f_o in f["objects"])}
        in_clip = {(o["colour"], o["shape"]) for o in ann["objects"]}
        played = {f"{s['pitch']} {s['timbre']}" for s in ann["sounds"]}
        if q.task == "object presence":
            words = q.question.split()
            pair = (words[3], words[4])
            assert (pair in on_screen) == (q.answer == "yes") and (pair in in_clip) == (q.answer == "yes")
        elif q.task == "sound presence":
            sound = q.question.removeprefix("Is a ").removesuffix(" heard in the video?")
            assert (sound in played) == (q.answer == "yes")
        elif q.task == "sound order":
            first = {}
            for s in ann["sounds"]:
                k = f"{s['pitch']} {s['timbre']}"
                first[k] = min(first.get(k, 1e9), s["start"])
            order = sorted(first, key=first.get)
            assert q.answer_text == order[0] and first[order[1]] - first[order[0]] >= ORDER_MARGIN_S
        elif q.task == "sound timing":
            sound = q.question.removeprefix("When is the ").removesuffix(" heard?")
            half = ann["seconds_per_frame"] * ann["num_frames"] / 2
            spans = [(s["start"], s["end"]) for s in ann["sounds"] if f"{s['pitch']} {s['timbre']}" == sound]
            early, late = any(b <= half for _, b in spans), any(a >= half for a, _ in spans)
            assert q.answer_text == TIMING_OPTIONS[2 if early and late else (0 if early else 1)]
            assert sorted(q.options) == sorted(TIMING_OPTIONS)


def test_omnisynth_qa_is_balanced_and_deterministic(questions, cfg, data_dir):
    yn = Counter(q.answer for q in questions if q.format == "yes/no")
    assert yn["yes"] == yn["no"] > 0
    assert all(q.meta["absent"] == (q.answer == "no") for q in questions if q.format == "yes/no")
    for task in ("sound order", "sound timing"):
        by_n = Counter((len(q.options), q.answer) for q in questions if q.task == task)
        for n in {k[0] for k in by_n}:
            counts = [by_n.get((n, letter), 0) for letter in "ABCD"[:n]]
            assert max(counts) - min(counts) <= 1
    again = omnisynth_qa(ensure_omnisynth(cfg, data_dir))
    assert [(q.qid, q.question, q.options, q.answer) for q in again] == \
        [(q.qid, q.question, q.options, q.answer) for q in questions]
    assert len({q.qid for q in questions}) == len(questions)


def test_the_cpu_demo_set_has_at_least_400_questions_half_absent(tmp_path):
    cfg = get_preset("cpu-demo")
    qs = omnisynth_qa(ensure_omnisynth(cfg, Path("data") if Path("data/omnisynth").exists() else tmp_path))
    yn = [q for q in qs if q.format == "yes/no"]
    assert len(qs) >= 400 and sum(q.answer == "no" for q in yn) * 2 == len(yn)


# ----------------------------------------------------------------------------- the runner


def _strip(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.fixture(scope="module")
def reference(cfg, data_dir, questions, tmp_path_factory):
    run = tmp_path_factory.mktemp("qa_run")
    qs = questions[:10]
    gen = QAEvaluator(cfg, data_dir, run, "base", "omnisynth-qa", questions=qs, progress=False, batch_size=4)
    return run, qs, gen.run(rank=0, world_size=1)


def test_generate_records_every_question_and_counts_unreadable_as_wrong(reference):
    run, qs, res = reference
    assert res.path == run / "eval" / "base" / "qa-omnisynth-qa.jsonl"
    assert [r["sample_id"] for r in res.records] == [q.qid for q in qs]
    for r in res.records:
        assert r["correct"] == (r["prediction"] == r["answer"]) and r["error"] is None
        assert (r["prediction"] is None) == (r["issue"] is not None)
    s = res.summary()
    assert s["questions"] == 10 and s["unreadable"] == sum(r["prediction"] is None for r in res.records)
    meta = json.loads((run / "eval" / "base" / "qa-omnisynth-qa.meta.json").read_text())
    assert meta["inputs"]["benchmark"] == "omnisynth-qa" and meta["inputs"]["scoring"] == "generate"


def test_choice_scoring_always_answers_with_an_allowed_option(cfg, data_dir, questions, tmp_path):
    qs = [q for q in questions if q.format == "multiple-choice"][:3] + questions[:3]
    res = QAEvaluator(cfg, data_dir, tmp_path, "base", "omnisynth-qa", questions=qs, scoring="choice",
                      progress=False, batch_size=6).run(rank=0, world_size=1)
    assert res.path.name == "qa-omnisynth-qa-choice.jsonl"
    for q, r in zip(qs, res.records):
        allowed = q.letters or ("yes", "no")
        assert r["prediction"] in allowed and set(r["choice_logps"]) == set(allowed)
        assert r["prediction"] == max(r["choice_logps"], key=r["choice_logps"].get)
    # batching does not change the choice (prompts are left-padded, each scored on its own options)
    alone = QAEvaluator(cfg, data_dir, tmp_path / "alone", "base", "omnisynth-qa", questions=qs, scoring="choice",
                        progress=False, batch_size=1).run(rank=0, world_size=1)
    assert [r["prediction"] for r in alone.records] == [r["prediction"] for r in res.records]


def test_resume_after_a_truncated_line_and_shards_give_the_same_records(cfg, data_dir, reference, tmp_path):
    _, qs, ref = reference
    ev = QAEvaluator(cfg, data_dir, tmp_path, "base", "omnisynth-qa", questions=qs, progress=False, batch_size=4)
    ev.run(rank=0, world_size=1)
    path = tmp_path / "eval" / "base" / "qa-omnisynth-qa.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:6]) + lines[6][:20])  # killed while writing the 7th record
    calls = []
    again = QAEvaluator(cfg, data_dir, tmp_path, "base", "omnisynth-qa", questions=qs, progress=False,
                        callback=lambda r, d, t: calls.append(r["sample_id"]))
    assert _strip(again.run(rank=0, world_size=1).records) == _strip(ref.records)
    assert calls == [q.qid for q in qs[6:]]
    sharded = tmp_path / "sharded"
    for rank in (1, 0):
        QAEvaluator(cfg, data_dir, sharded, "base", "omnisynth-qa", questions=qs, progress=False).run(
            rank=rank, world_size=2)
    merged = QAEvaluator(cfg, data_dir, sharded, "base", "omnisynth-qa", questions=qs, progress=False).result()
    assert _strip(merged.records) == _strip(ref.records)
    assert not list((sharded / "eval" / "base").glob("*.rank*.jsonl"))


def test_other_settings_do_not_resume_stored_answers(cfg, data_dir, reference):
    run, qs, _ = reference
    with pytest.raises(StaleResultsError, match="qa-omnisynth-qa"):
        QAEvaluator(cfg, data_dir, run, "base", "omnisynth-qa", questions=qs, progress=False,
                    max_new_tokens=5).run(rank=0, world_size=1)
    think = QAEvaluator(cfg, data_dir, run, "base", "omnisynth-qa", questions=qs[:1], think=True, progress=False)
    assert think.name == "qa-omnisynth-qa-think" and think.max_new_tokens == cfg.grpo.max_completion_length


def test_a_question_whose_media_do_not_decode_is_an_error_row_and_wrong(cfg, data_dir, questions, tmp_path):
    import dataclasses
    import shutil

    clip = questions[0].meta["clip"]
    broken_dir = tmp_path / "broken"
    shutil.copytree(clip.frame_dir, broken_dir)
    (broken_dir / clip.frame_names[0]).write_bytes(b"not a jpeg")
    bad_clip = dataclasses.replace(clip, frame_dir=broken_dir)
    bad = dataclasses.replace(questions[0], qid="bad", meta={**questions[0].meta, "clip": bad_clip})
    qs = [questions[1], bad, questions[2]]
    res = QAEvaluator(cfg, data_dir, tmp_path, "base", "omnisynth-qa", questions=qs, scoring="choice",
                      progress=False).run(rank=0, world_size=1)
    rows = {r["sample_id"]: r for r in res.records}
    assert "broken" in rows["bad"]["error"] and rows["bad"]["correct"] is False
    assert rows[questions[1].qid]["error"] is None and rows[questions[2].qid]["error"] is None
    s = summarize(res.records)
    assert s["errors"] == 1 and s["questions"] == 3


def test_summary_intervals_and_tables():
    lo, hi = bootstrap_interval([1.0] * 30)
    assert lo == hi == 1.0
    recs = [{"sample_id": str(i), "task": "judge", "format": "yes/no", "answer": "no", "absent": True,
             "prediction": "yes" if i % 4 == 0 else "no", "correct": i % 4 != 0, "error": None} for i in range(40)]
    s = summarize(recs)
    assert s["yes_rate_absent"]["value"] == 0.25 and s["yes_rate_present"]["n"] == 0
    assert s["accuracy"]["low"] < 0.75 < s["accuracy"]["high"]
    md = qa_table({"grpo": s}, "avhbench")
    assert "| kit: grpo | 40 | 75.0 [" in md and "paper: AVS + VOS | 5302 | 71.9" in md
    assert "Omni-R1-7B | | 60.7 (short 73.0)" in qa_table({"grpo": s}, "videomme")


def test_cli_evaluates_a_qa_benchmark_and_refuses_what_cannot_answer(data_dir, tmp_path, capsys):
    from omni_r1_lite.cli import main

    args = ["evaluate", "--preset", "smoke", "--benchmark", "omnisynth-qa", "--method", "base", "--max-samples", "4",
            "--run-dir", str(tmp_path), "--data-dir", str(data_dir), "--scoring", "choice", "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "base qa-omnisynth-qa-choice: 4 questions" in out and "| kit: base | 4 |" in out
    assert len((tmp_path / "eval" / "base" / "qa-omnisynth-qa-choice.jsonl").read_text().splitlines()) == 4
    assert main(args[:6] + ["uniform"] + args[7:]) == 2
    assert "needs model methods" in capsys.readouterr().err
    missing = ["evaluate", "--preset", "smoke", "--benchmark", "avhbench", "--method", "base", "--run-dir",
               str(tmp_path), "--data-dir", str(tmp_path / "nothing-here"), "--no-progress"]
    assert main(missing) == 2
    assert "nothing-here" in capsys.readouterr().err


def test_real_benchmark_media_paths_image_audio_and_a_frame_folder(cfg, data_dir, tmp_path):
    """The non-OmniSynth media path (OmniBench: image + audio; MVBench frame-folder videos)."""
    import wave

    import numpy as np
    from PIL import Image

    img = tmp_path / "img.png"
    Image.fromarray(np.full((60, 80, 3), 120, np.uint8)).save(img)
    wav = tmp_path / "a.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.sin(np.arange(8000) / 5) * 8000).astype("<i2").tobytes())
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(6):
        Image.fromarray(np.full((48, 64, 3), 40 * i, np.uint8)).save(frames / f"{i:05d}.jpg")
    qs = [Question("ob", "omnibench", "sound", "What makes the sound?", ("a bell", "a dog"), "A", image=img, audio=wav),
          Question("mv", "mvbench", "action sequence", "What happens?", ("darker", "brighter", "same"), "B",
                   video=frames),
          Question("gone", "mvbench", "action sequence", "What happens?", ("a", "b"), "A", video=tmp_path / "nope")]
    res = QAEvaluator(cfg, data_dir, tmp_path, "base", "mvbench", questions=qs, scoring="choice",
                      progress=False).run(rank=0, world_size=1)
    rows = {r["sample_id"]: r for r in res.records}
    assert rows["ob"]["error"] is None and rows["ob"]["prediction"] in ("A", "B")
    assert rows["mv"]["error"] is None and rows["mv"]["prediction"] in ("A", "B", "C")
    assert "nope" in rows["gone"]["error"] and rows["gone"]["correct"] is False
    # the stored answers belong to these questions: another question list does not resume them
    with pytest.raises(StaleResultsError, match="questions"):
        QAEvaluator(cfg, data_dir, tmp_path, "base", "mvbench", questions=qs[:2], scoring="choice",
                    progress=False).run(rank=0, world_size=1)
