"""The QA benchmark loaders on trees in each benchmark's published layout (tests/qa_layouts.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import qa_layouts as L

from omni_r1_lite.data.download import OPT_IN_GROUPS, load_manifest, main, select_items
from omni_r1_lite.data.media import MissingMediaError
from omni_r1_lite.data.qa import QuestionError
from omni_r1_lite.data.qa_benchmarks import (
    AVHBENCH_JUDGE_TASKS,
    MVBENCH_TASKS,
    find_qa_root,
    load_avhbench,
    load_mvbench,
    load_omnibench,
    load_qa_benchmark,
    load_videomme,
    omnibench_from_parquet,
    read_srt_text,
    strip_option_letter,
)
from omni_r1_lite.data.schema import DataError

# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize("text, letter, want", [
    ("A. Two apples.", "A", "Two apples."),
    ("(C) a dog", None, "a dog"),
    ("D) none", "D", "none"),
    ("B: yes", None, "yes"),
    ("A cat sits.", None, "A cat sits."),        # a capital is not a letter prefix
    ("B. C. Smith", "B", "C. Smith"),
    ("C. Smith", "B", "C. Smith"),               # option B starting with an initial keeps it
    ("A.", "A", "A."),                            # nothing after the prefix: kept as is
])
def test_strip_option_letter(text, letter, want):
    assert strip_option_letter(text, letter) == want


def test_read_srt_drops_numbers_times_and_font_tags(tmp_path):
    p = tmp_path / "v.srt"
    p.write_text(L.SRT.replace("\n", "\r\n"))  # Windows line ends, as some releases have
    assert read_srt_text(p) == "Welcome back to the kitchen.\nToday: three apples."


# --------------------------------------------------------------------------- AVHBench


def test_avhbench_judge_subset(tmp_path):
    want = L.avhbench_tree(tmp_path / "avh")
    qs = load_avhbench(tmp_path / "avh")
    assert len(qs) == want["judge"] and qs.info["dropped_caption_rows"] == want["captions"]
    assert qs.info["tasks"] == want["tasks"] and set(qs.info["tasks"]) == set(AVHBENCH_JUDGE_TASKS)
    assert {q.answer for q in qs} == {"yes", "no"} and all(q.options == () for q in qs)
    assert [q.meta["label"] for q in qs[:2]] == ["Yes", "No"]          # the raw capitalised label is kept
    q = qs[0]
    assert q.qid == "00191#1" and q.video == tmp_path / "avh" / "videos" / "00191.mp4" and q.audio == q.video
    swap = [q for q in qs if q.meta["video_id"] == "00006_swap" and q.task == "AV Matching"]
    assert swap[0].answer == "no" and swap[0].video.name == "00006_swap.mp4"
    assert len({q.qid for q in qs}) == len(qs)


def test_avhbench_missing_video_strict_and_not(tmp_path):
    L.avhbench_tree(tmp_path, missing_video=True)
    with pytest.raises(MissingMediaError) as e:
        load_avhbench(tmp_path)
    assert "QA.json row 8" in str(e.value) and "00404.mp4" in str(e.value)
    qs = load_avhbench(tmp_path, strict=False)
    assert len(qs) == 6 and len(qs.skipped) == 1
    ident, reason = qs.skipped[0]
    assert "row 8" in ident and "video not found" in reason and "00404.mp4" in reason


def test_avhbench_bad_label_names_row(tmp_path):
    L.avhbench_tree(tmp_path, bad_label=True)
    with pytest.raises(QuestionError, match=r"QA\.json row 8.*'Maybe'"):
        load_avhbench(tmp_path)
    assert len(load_avhbench(tmp_path, strict=False).skipped) == 1


def test_avhbench_v0_layout_inside_archive_folder(tmp_path):
    want = L.avhbench_v0_tree(tmp_path / "avhbench")
    assert find_qa_root("avhbench", tmp_path) == want["root"]
    qs = load_qa_benchmark("avhbench", tmp_path / "avhbench")
    assert len(qs) == want["judge"] and qs[0].video == want["root"] / "video" / "00159.mp4"


def test_avhbench_missing_index_raises(tmp_path):
    with pytest.raises(MissingMediaError, match="QA.json"):
        load_avhbench(tmp_path)


# --------------------------------------------------------------------------- OmniBench


def test_omnibench_answers_and_options(tmp_path):
    want = L.omnibench_tree(tmp_path)
    qs = load_omnibench(tmp_path)
    assert [q.answer for q in qs] == want["answers"] and [q.task for q in qs] == want["tasks"]
    assert all(len(q.options) == 4 for q in qs)
    assert qs[2].options == ("Joyful", "Melancholy", "Angry", "Calm")  # split from the one-string form
    assert qs[1].answer_text == "Three times"
    assert qs[0].audio == tmp_path / "mm_data" / "audio" / "2_009_four_people.mp3"
    assert qs[1].audio.name == "6-0044.mp4.mp3.mp3.mp3" and qs[1].image.name == "6-0044.jpg"
    assert [q.qid for q in qs] == ["0", "1", "2"] and qs[0].meta["audio_type"] == "speech"
    assert qs[0].video is None


def test_omnibench_missing_media_and_malformed_rows(tmp_path):
    L.omnibench_tree(tmp_path, missing_image=True, malformed=True)
    with pytest.raises(MissingMediaError, match=r"jsonl line 4.*gone\.png"):
        load_omnibench(tmp_path)
    qs = load_omnibench(tmp_path, strict=False)
    assert len(qs) == 3
    reasons = dict(qs.skipped)
    assert len(reasons) == 3
    assert any("image file not found" in r for r in reasons.values())
    assert any("unparseable line" in r for r in reasons.values())
    assert any("'Nobody knows.' is not one of the options" in r for r in reasons.values())
    assert all("batch-5_1142_20240817.jsonl line" in i for i in reasons)


def test_omnibench_from_hf_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    src = L.omnibench_parquet(tmp_path / "hf" / "data" / "train-00000-of-00001.parquet")
    with pytest.raises(MissingMediaError, match="omnibench_from_parquet"):
        load_omnibench(tmp_path / "hf")
    out = omnibench_from_parquet(tmp_path / "hf", tmp_path / "omnibench")
    qs = load_omnibench(out)
    assert [q.answer for q in qs] == ["C", "C"]
    assert qs[0].audio.read_bytes() == L.FAKE_MP3 and qs[0].image.read_bytes()[:4] == b"\x89PNG"
    row = json.loads((out / "dataset" / "batch-5_1142_20240817.jsonl").read_text().splitlines()[0])
    assert "audio" not in row and "image" not in row and src.is_file()


def test_omnibench_missing_index_raises(tmp_path):
    with pytest.raises(MissingMediaError, match="batch-5_1142_20240817.jsonl"):
        load_omnibench(tmp_path)


# --------------------------------------------------------------------------- VideoMME


def test_videomme_rows_letters_and_durations(tmp_path):
    pytest.importorskip("pyarrow")
    want = L.videomme_tree(tmp_path)
    qs = load_videomme(tmp_path)
    assert [q.qid for q in qs] == want["qids"] and [q.answer for q in qs] == want["answers"]
    assert qs[0].options == ("Two apples.", "Three apples.", "Four apples.", "None.")  # "A. " stripped
    assert qs[0].task == "Counting Problem" and qs[0].meta["duration"] == "short"
    assert [q.video.name for q in qs] == ["fFjv93ACGo8.mp4"] * 2 + ["nosubs00001.MP4", "longvid0001.mkv"]
    assert all(q.subtitles is None for q in qs) and "videos_without_subtitles" not in qs.info
    short = load_videomme(tmp_path, durations=("short",))
    assert len(short) == 3 and {q.meta["duration"] for q in short} == {"short"}
    assert [q.qid for q in load_videomme(tmp_path, durations="long")] == ["601-1"]
    with pytest.raises(ValueError, match="tiny"):
        load_videomme(tmp_path, durations=("tiny",))


def test_videomme_subtitles(tmp_path):
    pytest.importorskip("pyarrow")
    want = L.videomme_tree(tmp_path)
    qs = load_videomme(tmp_path, subtitles=True)
    assert qs[0].subtitles == want["subtitle"] and qs[1].subtitles == want["subtitle"]
    assert qs[2].subtitles is None                     # no .srt for this video: no subtitles
    assert qs[3].subtitles == "Bees everywhere."
    assert qs.info["videos_without_subtitles"] == 1


def test_videomme_missing_video_and_bad_answer(tmp_path):
    pytest.importorskip("pyarrow")
    L.videomme_tree(tmp_path, missing_video=True, bad_answer=True)
    with pytest.raises(MissingMediaError, match=r"parquet row 4.*gone0000001\.mp4"):
        load_videomme(tmp_path)
    qs = load_videomme(tmp_path, strict=False)
    assert len(qs) == 4 and len(qs.skipped) == 2
    assert "video not found" in qs.skipped[0][1] and "'E' is not one of the options" in qs.skipped[1][1]
    assert len(load_videomme(tmp_path, durations=("long",))) == 1  # filtered rows are not checked


def test_videomme_missing_index_raises(tmp_path):
    with pytest.raises(MissingMediaError, match="test-00000-of-00001.parquet"):
        load_videomme(tmp_path)


# --------------------------------------------------------------------------- MVBench


def test_mvbench_tasks_letters_and_bounds(tmp_path):
    want = L.mvbench_tree(tmp_path)
    tasks = ["Action Sequence", "object_existence", "Episodic Reasoning"]
    qs = load_mvbench(tmp_path, tasks=tasks)
    got: dict[str, list[str]] = {}
    for q in qs:
        got.setdefault(q.task, []).append(q.answer)
    assert got == want["answers"]
    a = qs[0]
    assert a.options == ("Ate the medicine.", "Tidied up the blanket.", "Put down the cup/glass/bottle.")
    assert a.answer_text == "Put down the cup/glass/bottle." and a.meta["bound"] == (11.1, 19.6)
    assert a.video == tmp_path / "video" / "star" / "Charades_v1_480" / "ZS9XR.mp4" and a.qid == "action_sequence/0"
    ex = [q for q in qs if q.task == "Object Existence"][0]
    assert ex.meta["bound"] is None and ex.options == ("not sure", "yes", "no")
    ep = [q for q in qs if q.task == "Episodic Reasoning"][0]
    assert ep.video.is_dir() and ep.meta["data_type"] == "frame" and ep.meta["fps"] == 3
    assert len(ep.options) == 5 and ep.meta["bound"] == (1.0, 4.0)
    assert qs.info["per_task"] == {"Action Sequence": 2, "Object Existence": 1, "Episodic Reasoning": 1}


def test_mvbench_task_names_are_the_benchmarks(tmp_path):
    assert len(MVBENCH_TASKS) == 20
    assert {"Action Sequence", "Fine-grained Pose", "Counterfactual Inference", "Egocentric Navigation"} <= set(
        MVBENCH_TASKS)
    with pytest.raises(ValueError, match="no_such_task"):
        load_mvbench(tmp_path, tasks=["no_such_task"])


def test_mvbench_all_tasks_needs_every_json(tmp_path):
    L.mvbench_tree(tmp_path)
    with pytest.raises(MissingMediaError, match=r"json/action_prediction\.json"):
        load_mvbench(tmp_path)


def test_mvbench_precut_layout_has_no_bound(tmp_path):
    L.mvbench_tree(tmp_path, lmms_layout=True)
    qs = load_mvbench(tmp_path, tasks="action_sequence")
    assert qs[0].meta["folder"] == "star/Charades_segment" and qs[0].meta["bound"] is None


def test_mvbench_missing_video_and_bad_answer(tmp_path):
    L.mvbench_tree(tmp_path, missing_video=True, bad_answer=True)
    with pytest.raises(MissingMediaError, match=r"object_existence\.json row 1.*video_99999\.mp4"):
        load_mvbench(tmp_path, tasks=["Object Existence"])
    qs = load_mvbench(tmp_path, tasks=["Object Existence"], strict=False)
    assert len(qs) == 1 and [i.rsplit(" ", 1)[-1] for i, _ in qs.skipped] == ["1", "2"]
    assert "'perhaps' is not one of the options" in qs.skipped[1][1]


# --------------------------------------------------------------------------- roots and dispatch


def test_find_qa_root_nesting_and_errors(tmp_path, monkeypatch):
    L.mvbench_tree(tmp_path / "mvbench" / "MVBench")          # one extra level, as an archive has
    L.omnibench_tree(tmp_path / "omnibench")
    assert find_qa_root("mvbench", tmp_path) == tmp_path / "mvbench" / "MVBench"
    assert find_qa_root("omnibench", tmp_path) == tmp_path / "omnibench"
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    assert find_qa_root("omnibench") == tmp_path / "omnibench"
    L.avhbench_tree(tmp_path / "avhbench" / "a" / "b")        # two levels: not found
    with pytest.raises(DataError, match="avhbench"):
        find_qa_root("avhbench", tmp_path)
    with pytest.raises(ValueError, match="unknown QA benchmark"):
        find_qa_root("nextqa", tmp_path)


def test_load_qa_benchmark_dispatch(tmp_path, monkeypatch):
    L.mvbench_tree(tmp_path / "mvbench" / "MVBench")
    qs = load_qa_benchmark("mvbench", tmp_path / "mvbench", tasks=["Object Existence"])
    assert len(qs) == 1 and qs[0].benchmark == "mvbench"
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    assert len(load_qa_benchmark("MVBench", None, tasks="object_existence")) == 1
    L.avhbench_tree(tmp_path / "avh")
    assert len(load_qa_benchmark("avhbench", tmp_path / "avh")) == 6


# --------------------------------------------------------------------------- manifest


QA_ITEMS = ("avhbench", "omnibench", "videomme", "mvbench")


def test_manifest_entries_present_and_opt_in():
    items = {i.name: i for i in load_manifest()}
    for name in QA_ITEMS:
        it = items[name]
        assert it.group == "qa-benchmarks" and it.sha256 is None and it.extra.get("loader", "").find(name) >= 0
        assert it.extra.get("source") and it.description
    assert items["avhbench"].manual and "drive.google.com" in items["avhbench"].instructions
    assert {items[n].hf_repo for n in ("omnibench", "videomme", "mvbench")} == {
        "m-a-p/OmniBench", "lmms-lab/Video-MME", "OpenGVLab/MVBench"}
    assert all(items[n].extra["hf_repo_type"] == "dataset" for n in ("omnibench", "videomme", "mvbench"))
    assert "HF_TOKEN" in items["videomme"].description and "HF_TOKEN" in items["mvbench"].description
    every = list(items.values())
    assert "qa-benchmarks" in OPT_IN_GROUPS
    for only, with_models in ((None, False), (None, True), (["all"], True)):
        assert not set(QA_ITEMS) & {i.name for i in select_items(every, only, with_models)}
    assert {i.name for i in select_items(every, ["qa-benchmarks"], False)} == set(QA_ITEMS)
    assert [i.name for i in select_items(every, ["videomme"], False)] == ["videomme"]
    assert "videomme" in {i.name for i in select_items(every, ["all", "videomme"], False)}


def test_dry_run_of_a_dataset_snapshot(tmp_path, capsys):
    import io

    out = io.StringIO()
    assert main(["--dry-run", "--only", "videomme", "--data-dir", str(tmp_path)], out=out) == 0
    text = out.getvalue()
    assert f"hf download lmms-lab/Video-MME --repo-type dataset --local-dir {tmp_path / 'videomme'}" in text
    out = io.StringIO()
    assert main(["--dry-run", "--data-dir", str(tmp_path)], out=out) == 0
    assert "Video-MME" not in out.getvalue() and "avhbench" not in out.getvalue()
    assert not Path(tmp_path / "videomme").exists()
