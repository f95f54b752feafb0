"""Tiny trees of the four QA benchmarks in their published layouts, written the way each benchmark's
own reading / evaluation code reads them, with the awkward cases the real releases have. Media are
a few bytes written directly (PIL for images, the ``wave`` module for audio, plain bytes standing
in for mp4 / mp3 files: listing never decodes them); nothing here uses the kit's own writers.

Each writer returns a dict of what the loader should find, so tests compare against the fixture.
"""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path

from PIL import Image

FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16  # an mp4 header's first box; never decoded
FAKE_MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb" * 8


def _bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _png(path: Path, colour=(200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), colour).save(path)
    return path


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 120, 0)).save(buf, format="PNG")
    return buf.getvalue()


def _wav(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 160)
    return path


# --------------------------------------------------------------------------- AVHBench


def avhbench_tree(root: Path, *, missing_video: bool = False, bad_label: bool = False) -> dict:
    """The current AVHBench release (``kaist-ami/AVHBench`` README.md, commit d44bcb0): one
    ``QA.json`` list of ``{"video_id", "task", "text", "label"}`` and ``videos/<video_id>.mp4``
    (third-party harnesses that read it, e.g. ``--qa-json .../QA.json --video-dir .../videos``, join
    ``video_id + ".mp4"``). Labels are capitalised ``"Yes"`` / ``"No"``; every video has an
    ``AV Captioning`` row whose label is a caption (not a judge question). ``missing_video``: a row
    of video ``00404`` whose mp4 is absent; ``bad_label``: a judge row labelled ``"Maybe"``."""
    rows = []
    for vid in ("00191", "00006_swap"):
        rows += [
            {"video_id": vid, "task": "Video-driven Audio Hallucination",
             "text": "Is the sleeping man making sound in the audio?", "label": "Yes"},
            {"video_id": vid, "task": "Audio-driven Video Hallucination",
             "text": "Is the person walking visible in the video?", "label": "No"},
            {"video_id": vid, "task": "AV Matching",
             "text": "Are the contexts of audio and visual content matching?", "label": "No" if "swap" in vid else "Yes"},
            {"video_id": vid, "task": "AV Captioning", "text": "Describe what you see and hear in a single sentence.",
             "label": "A young man is laying in bed, with footsteps followed by a person snoring."},
        ]
        _bytes(root / "videos" / f"{vid}.mp4", FAKE_MP4)
    if missing_video:
        rows.append({"video_id": "00404", "task": "AV Matching", "text": "Are the contexts matching?", "label": "Yes"})
    if bad_label:
        rows.append({"video_id": "00191", "task": "AV Matching", "text": "Matching?", "label": "Maybe"})
    root.mkdir(parents=True, exist_ok=True)
    (root / "QA.json").write_text(json.dumps(rows, indent=2))
    return {"judge": 6, "captions": 2, "tasks": {"Video-driven Audio Hallucination": 2,
                                                 "Audio-driven Video Hallucination": 2, "AV Matching": 2}}


def avhbench_v0_tree(root: Path) -> dict:
    """The v0 bundle of the same README (commit 0647099): ``AVHBench_v0/json/<video_id>.json`` (the
    rows of one video) and ``AVHBench_v0/video/<video_id>.mp4``, inside the archive's top folder."""
    top = root / "AVHBench_v0"
    rows = [{"video_id": "00159", "task": "AV Matching", "text": "Are they matching?", "label": "Yes"},
            {"video_id": "00159", "task": "AV Captioning", "text": "Describe.", "label": "A dog barks."}]
    _bytes(top / "json" / "00159.json", json.dumps(rows).encode())
    _bytes(top / "video" / "00159.mp4", FAKE_MP4)
    return {"judge": 1, "root": top}


# --------------------------------------------------------------------------- OmniBench

OMNI_ROWS = [
    {"task type": "Action and Activity", "audio type": "speech", "question": "What are the men doing?",
     "audio content": "A: Four letters.", "image content": "Two people on a couch.",
     "audio_path": "2_009_four_people.mp3", "image_path": "2_009_four_people.png", "index": 0,
     "answer": "The man in jeans is playing a crossword puzzle.",
     "options": ["The man in jeans is taking notes from the newspaper.", "The man in purple is reading the newspaper.",
                 "The man in jeans is playing a crossword puzzle.", "The man on the table is doing a crossword puzzle."]},
    {"task type": "Count and Quantity", "audio type": "sound event", "question": "How many barks?",
     "audio content": "dog barking", "image content": "a dog", "audio_path": "6-0044.mp4.mp3.mp3.mp3",
     "image_path": "6-0044.jpg", "index": 1, "answer": "Three  times",  # double space: matched loosely
     "options": ["Once", "Twice", "Three times", "Four times"]},
    {"task type": "Story Description", "audio type": "music", "question": "What mood does the scene carry?",
     "audio content": "piano", "image content": "rain", "audio_path": "3_011.mp3", "image_path": "3_011.png",
     "index": 2, "answer": "Melancholy",
     "options": "A. Joyful B. Melancholy C. Angry D. Calm"},  # the spreadsheet form, one string
]


def omnibench_tree(root: Path, *, missing_image: bool = False, malformed: bool = False) -> dict:
    """OmniBench's GitHub layout (``multimodal-art-projection/OmniBench`` README.md "Dataset":
    ``dataset/batch-5_1142_20240817.jsonl``; ``audio_path`` / ``image_path`` are basenames to put
    after ``mm_data/audio`` / ``mm_data/image``, as ``inference/demo_api_call.py`` does). The answer
    is an option's text (``inference/calculate_metrics.py`` maps it back to a letter); one row's
    ``options`` is the ``"A. ... B. ..."`` string that code splits; audio names with repeated
    extensions (``6-0044.mp4.mp3.mp3.mp3``) are real. ``missing_image``: a row whose PNG is absent;
    ``malformed``: a line that is not JSON and a row whose answer is no option."""
    rows = [dict(r) for r in OMNI_ROWS]
    for r in rows:
        _bytes(root / "mm_data" / "audio" / r["audio_path"], FAKE_MP3)
        _png(root / "mm_data" / "image" / r["image_path"])
    lines = [json.dumps(r) for r in rows]
    if missing_image:
        r = dict(OMNI_ROWS[0], index=3, image_path="gone.png")
        lines.append(json.dumps(r))
    if malformed:
        lines.append('{"task type": "Plot Inference", "question": ')
        lines.append(json.dumps(dict(OMNI_ROWS[0], index=5, answer="Nobody knows.")))
    _bytes(root / "dataset" / "batch-5_1142_20240817.jsonl", ("\n".join(lines) + "\n").encode())
    return {"answers": ["C", "C", "B"], "tasks": ["Action and Activity", "Count and Quantity", "Story Description"]}


def omnibench_parquet(path: Path) -> Path:
    """The Hugging Face copy (``m-a-p/OmniBench``, read by evalscope's ``omni_bench`` adapter as
    ``record['image']['bytes']`` / ``record['audio']['bytes']``): the same fields plus ``audio`` and
    ``image`` structs of ``{"bytes", "path"}``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for r in OMNI_ROWS[:2]:
        rows.append(dict(r, audio={"bytes": FAKE_MP3, "path": r["audio_path"]},
                         image={"bytes": _png_bytes(), "path": r["image_path"]}))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


# --------------------------------------------------------------------------- VideoMME

SRT = """1
00:00:01,000 --> 00:00:03,200
<font color="white" size=".72c">Welcome back to the kitchen.</font>

2
00:00:03,400 --> 00:00:05,000
<font color="white" size=".72c">Today: three apples.</font>
"""


def videomme_tree(root: Path, *, missing_video: bool = False, bad_answer: bool = False) -> dict:
    """Video-MME as ``lmms-lab/Video-MME`` ships it and lmms-eval ``lmms_eval/tasks/videomme/utils.py``
    reads it: ``videomme/test-00000-of-00001.parquet`` (columns video_id, duration, domain,
    sub_category, url, videoID, question_id, task_type, question, options, answer), videos
    ``data/<videoID>.mp4`` (``.MP4`` / ``.mkv`` tried too) and ``subtitle/<videoID>.srt`` lines wrapped
    in ``<font color="white" size=".72c">``. Options carry their ``"A. "`` prefixes; the answer is a
    letter. One short video has no ``.srt``; one long video is an ``.MKV``-less ``.mkv``.
    ``missing_video``: a medium row whose video is absent; ``bad_answer``: a row answering ``"E"``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    opts = ["A. Two apples.", "B. Three apples.", "C. Four apples.", "D. None."]
    rows = [
        {"video_id": "001", "duration": "short", "domain": "Life Record", "sub_category": "Food",
         "url": "https://www.youtube.com/watch?v=fFjv93ACGo8", "videoID": "fFjv93ACGo8", "question_id": "001-1",
         "task_type": "Counting Problem", "question": "How many apples are shown?", "options": opts, "answer": "B"},
        {"video_id": "001", "duration": "short", "domain": "Life Record", "sub_category": "Food",
         "url": "https://www.youtube.com/watch?v=fFjv93ACGo8", "videoID": "fFjv93ACGo8", "question_id": "001-2",
         "task_type": "Action Recognition", "question": "What does the cook do first?",
         "options": ["A. Cuts.", "B. Washes.", "C. Peels.", "D. Boils."], "answer": "A"},
        {"video_id": "002", "duration": "short", "domain": "Knowledge", "sub_category": "Astronomy",
         "url": "https://www.youtube.com/watch?v=nosubs00001", "videoID": "nosubs00001", "question_id": "002-1",
         "task_type": "OCR Problems", "question": "What is written on the board?",
         "options": ["A. Mars", "B. Venus", "C. Pluto", "D. Moon"], "answer": "D"},
        {"video_id": "601", "duration": "long", "domain": "Film & Television", "sub_category": "Documentary",
         "url": "https://www.youtube.com/watch?v=longvid0001", "videoID": "longvid0001", "question_id": "601-1",
         "task_type": "Information Synopsis", "question": "What is the film about?",
         "options": ["A. Bees.", "B. Ants.", "C. Birds.", "D. Fish."], "answer": "C"},
    ]
    _bytes(root / "data" / "fFjv93ACGo8.mp4", FAKE_MP4)
    _bytes(root / "data" / "nosubs00001.MP4", FAKE_MP4)
    _bytes(root / "data" / "longvid0001.mkv", FAKE_MP4)
    _bytes(root / "subtitle" / "fFjv93ACGo8.srt", SRT.encode())
    _bytes(root / "subtitle" / "longvid0001.srt", b"1\n00:00:00,000 --> 00:00:01,000\nBees everywhere.\n")
    if missing_video:
        rows.append(dict(rows[0], video_id="301", duration="medium", videoID="gone0000001", question_id="301-1"))
    if bad_answer:
        rows.append(dict(rows[0], question_id="001-9", answer="E"))
    (root / "videomme").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), root / "videomme" / "test-00000-of-00001.parquet")
    return {"qids": ["001-1", "001-2", "002-1", "601-1"], "answers": ["B", "A", "D", "C"],
            "subtitle": "Welcome back to the kitchen.\nToday: three apples."}


# --------------------------------------------------------------------------- MVBench


def mvbench_tree(root: Path, *, missing_video: bool = False, bad_answer: bool = False,
                 lmms_layout: bool = False) -> dict:
    """MVBench as ``OpenGVLab/MVBench`` ships it and ``OpenGVLab/Ask-Anything``
    ``video_chat2/mvbench.ipynb`` reads it: ``json/<task>.json`` lists of ``{"video", "question",
    "candidates", "answer"}`` (+ ``start`` / ``end`` for the bounded tasks); the answer is the
    candidate's text and ``qa_template`` gives letters in candidate order; videos at
    ``video/<data_list prefix>/<video>``; Episodic Reasoning reads ``tvqa/frames_fps3_hq/<video>/``
    frames ``00001.jpg`` .... Three of the 20 tasks are written (action_sequence, object_existence,
    episodic_reasoning). ``lmms_layout``: action_sequence's clips sit in the pre-cut
    ``star/Charades_segment`` folder lmms-eval (``lmms_eval/tasks/mvbench/utils.py``) reads.
    ``missing_video`` / ``bad_answer``: one more object_existence row with an absent video / an
    answer that is no candidate."""
    seq = [{"video": "ZS9XR.mp4", "question": "What happened after the person took the food?",
            "candidates": ["Ate the medicine.", "Tidied up the blanket.", "Put down the cup/glass/bottle."],
            "answer": "Put down the cup/glass/bottle.", "start": 11.1, "end": 19.6},
           {"video": "5W1Z7.mp4", "question": "Which object did the person throw?",
            "candidates": ["The clothes.", "The pillow."], "answer": "The clothes.", "start": 0.0, "end": 7.5}]
    exist = [{"video": "video_10000.mp4", "question": "Are there any moving green objects when the video ends?",
              "candidates": ["not sure", "yes", "no"], "answer": "no"}]
    episodic = [{"video": "castle_s07e04_seg02_clip_14", "question": "What did Castle say?",
                 "candidates": ["Hello.", "Goodbye.", "Maybe.", "Stop.", "Run."], "answer": "Maybe.",
                 "start": 1.0, "end": 4.0}]
    if missing_video:
        exist.append(dict(exist[0], video="video_99999.mp4"))
    if bad_answer:
        exist.append(dict(exist[0], answer="perhaps"))
    for name, rows in (("action_sequence", seq), ("object_existence", exist), ("episodic_reasoning", episodic)):
        _bytes(root / "json" / f"{name}.json", json.dumps(rows).encode())
    star = "star/Charades_segment" if lmms_layout else "star/Charades_v1_480"
    for r in seq:
        _bytes(root / "video" / star / r["video"], FAKE_MP4)
    _bytes(root / "video" / "clevrer" / "video_validation" / "video_10000.mp4", FAKE_MP4)
    frames = root / "video" / "tvqa" / "frames_fps3_hq" / episodic[0]["video"]
    for k in range(1, 4):
        _png(frames / f"{k:05d}.jpg")  # PIL writes a JPEG for the .jpg name
    return {"answers": {"Action Sequence": ["C", "A"], "Object Existence": ["C"], "Episodic Reasoning": ["C"]}}


def wav_file(path: Path) -> Path:
    """A 10 ms silent wav (for tests that want a real audio header)."""
    return _wav(path)
