"""The four question-answering benchmarks of the Omni-R1 paper, read in their published layouts.

Every loader returns a `LoadResult` of `Question` (see `omni_r1_lite.data.qa`): options are the
option texts without letters, the answer is a letter (multiple choice) or ``"yes"`` / ``"no"``.
The conventions are those of `omni_r1_lite.data.loading`: listing-time checks only (the index is
parsed and every media file or frame folder must exist; nothing is decoded), ``strict=True`` raises
the first bad row as a `DataError` naming the file and the row, ``strict=False`` records
``(identifier, reason)`` in ``result.skipped`` and loads the rest, and a missing index file always
raises naming it. `find_qa_root` finds a benchmark under ``DATA_DIR/<name>`` (one extra level of
nesting, as an extracted archive often has, is tolerated); `load_qa_benchmark` dispatches by name.

**AVHBench** (ICLR 2025; ``kaist-ami/AVHBench`` README.md, commit d44bcb0)::

    <root>/QA.json              [{"video_id", "task", "text", "label"}, ...]   (current release)
    <root>/videos/<video_id>.mp4
    <root>/json/<video_id>.json + <root>/video/<video_id>.mp4                 (the v0 release)

``label`` is ``"Yes"`` / ``"No"`` for the judge tasks and a caption for ``"AV Captioning"``. The
paper evaluates the judge subset: `AVHBENCH_JUDGE_TASKS` (``Audio-driven Video Hallucination``,
``Video-driven Audio Hallucination``, ``AV Matching``), yes/no questions; caption rows are left out
(counted in ``info["dropped_caption_rows"]``). ``Question.task`` is the row's ``task``; the video is
also the audio (its soundtrack). ``qid`` is ``"<video_id>#<n>"`` (n-th row of that video).

**OmniBench** (``multimodal-art-projection/OmniBench`` README.md and inference/calculate_metrics.py;
the same rows as the Hugging Face dataset ``m-a-p/OmniBench``)::

    <root>/dataset/batch-5_1142_20240817.jsonl   {"index", "task type", "audio type", "question",
                                                  "options": [4 texts], "answer": <option text>,
                                                  "audio_path", "image_path", ...}
    <root>/mm_data/audio/<audio_path>            (mp3)
    <root>/mm_data/image/<image_path>            (png / jpg)

The answer is an option's text (mapped to its letter); ``options`` may also be one string
``"A. ... B. ... C. ... D. ..."`` (the spreadsheet form the upstream metric code splits).
``Question.task`` is ``task type`` (7 types); ``meta["audio_type"]`` (speech / sound event / music)
is the README's other breakdown. The Hugging Face copy is parquet with the media embedded:
`omnibench_from_parquet` writes it out in the layout above (bytes copied, nothing decoded).

**VideoMME** (Hugging Face ``lmms-lab/Video-MME``; read as lmms-eval
``lmms_eval/tasks/videomme/utils.py`` reads it)::

    <root>/videomme/test-00000-of-00001.parquet   video_id, duration, domain, sub_category, url,
                                                  videoID, question_id, task_type, question,
                                                  options ["A. ...", ...], answer ("A".."D")
    <root>/data/<videoID>.mp4                     (.MP4 / .mkv too; from videos_chunked_*.zip)
    <root>/subtitle/<videoID>.srt                 (from subtitle.zip; not every video has one)

``Question.task`` is ``task_type`` (12 types); the duration class (``short`` / ``medium`` /
``long``, the paper's rows) is always in ``meta["duration"]``. With ``subtitles=True`` the ``.srt``
is read into plain text (cue numbers, times and ``<font>`` tags removed); a video without one has
no subtitles, counted in ``info["videos_without_subtitles"]``. The video is also the audio.

**MVBench** (Hugging Face ``OpenGVLab/MVBench``; read as ``OpenGVLab/Ask-Anything``
``video_chat2/mvbench.ipynb`` ``data_list`` / ``MVBench_dataset`` reads it)::

    <root>/json/<task>.json          [{"video", "question", "candidates", "answer", "start"?, "end"?}]
    <root>/video/<folder>/<video>    folder per source dataset (`MVBENCH_TASKS`)

The answer is a candidate's *text*; letters follow the order of ``candidates``. ``Question.task`` is
the task name as the benchmark spells it (`MVBENCH_TASKS`, 20 of them). Episodic Reasoning reads a
frame folder (``tvqa/frames_fps3_hq/<video>/00001.jpg`` ..., 3 fps); four tasks carry ``start`` /
``end`` seconds (``meta["bound"]``). Copies laid out as lmms-eval reads them (pre-cut
``*_segment`` folders, ``nturgbd_convert``, ``ssv2_video_mp4``; folders at the root) are found too;
a clip from a pre-cut folder has ``meta["bound"] = None``.

>>> strip_option_letter("A. Three apples.", "A"), strip_option_letter("(B) a dog"), strip_option_letter("A cat")
('Three apples.', 'a dog', 'A cat')
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from omni_r1_lite.data.loading import LoadResult, collect_samples, find_root
from omni_r1_lite.data.media import MissingMediaError
from omni_r1_lite.data.qa import YES_NO, Question, QuestionError
from omni_r1_lite.data.schema import DataError

__all__ = [
    "AVHBENCH_JUDGE_TASKS",
    "MVBENCH_TASKS",
    "QA_LOADERS",
    "VIDEOMME_DURATIONS",
    "find_qa_root",
    "load_avhbench",
    "load_mvbench",
    "load_omnibench",
    "load_qa_benchmark",
    "load_videomme",
    "omnibench_from_parquet",
    "read_srt_text",
    "strip_option_letter",
]

LETTERS = string.ascii_uppercase
AVHBENCH_JUDGE_TASKS = ("Audio-driven Video Hallucination", "Video-driven Audio Hallucination", "AV Matching")
_AVH_CAPTION_TASKS = ("AV Captioning",)
VIDEOMME_DURATIONS = ("short", "medium", "long")
OMNIBENCH_JSONL = "batch-5_1142_20240817.jsonl"
VIDEOMME_PARQUET = "test-00000-of-00001.parquet"
_VIDEO_EXTS = (".mp4", ".MP4", ".mkv", ".webm", ".avi")

# task -> (json file, candidate folders (folder, already cut to start/end), data type, has bounds).
# First folder: video_chat2/mvbench.ipynb's data_list; later ones: the layout lmms-eval reads
# (lmms_eval/tasks/mvbench/utils.py DATA_LIST), whose bounded clips are pre-cut.
MVBENCH_TASKS: dict[str, tuple[str, tuple[tuple[str, bool], ...], str, bool]] = {
    "Action Sequence": ("action_sequence.json", (("star/Charades_v1_480", False),
                                                 ("star/Charades_segment", True)), "video", True),
    "Action Prediction": ("action_prediction.json", (("star/Charades_v1_480", False),
                                                     ("star/Charades_segment", True)), "video", True),
    "Action Antonym": ("action_antonym.json", (("ssv2_video", False), ("ssv2_video_mp4", False)), "video", False),
    "Fine-grained Action": ("fine_grained_action.json", (("Moments_in_Time_Raw/videos", False),), "video", False),
    "Unexpected Action": ("unexpected_action.json", (("FunQA_test/test", False),), "video", False),
    "Object Existence": ("object_existence.json", (("clevrer/video_validation", False),), "video", False),
    "Object Interaction": ("object_interaction.json", (("star/Charades_v1_480", False),
                                                       ("star/Charades_segment", True)), "video", True),
    "Object Shuffle": ("object_shuffle.json", (("perception/videos", False),), "video", False),
    "Moving Direction": ("moving_direction.json", (("clevrer/video_validation", False),), "video", False),
    "Action Localization": ("action_localization.json", (("sta/sta_video", False),
                                                         ("sta/sta_video_segment", True)), "video", True),
    "Scene Transition": ("scene_transition.json", (("scene_qa/video", False),), "video", False),
    "Action Count": ("action_count.json", (("perception/videos", False),), "video", False),
    "Moving Count": ("moving_count.json", (("clevrer/video_validation", False),), "video", False),
    "Moving Attribute": ("moving_attribute.json", (("clevrer/video_validation", False),), "video", False),
    "State Change": ("state_change.json", (("perception/videos", False),), "video", False),
    "Fine-grained Pose": ("fine_grained_pose.json", (("nturgbd", False), ("nturgbd_convert", False)), "video", False),
    "Character Order": ("character_order.json", (("perception/videos", False),), "video", False),
    "Egocentric Navigation": ("egocentric_navigation.json", (("vlnqa", False),), "video", False),
    "Episodic Reasoning": ("episodic_reasoning.json", (("tvqa/frames_fps3_hq", False),
                                                       ("tvqa/video_fps3_hq_segment", True)), "frame", True),
    "Counterfactual Inference": ("counterfactual_inference.json", (("clevrer/video_validation", False),),
                                 "video", False),
}
_MVBENCH_FRAME_FPS = 3  # mvbench.ipynb read_frame(fps=3): frames 00001.jpg ... at 3 fps

_LETTER_PREFIX = re.compile(r"^\s*(?:\(([A-Za-z])\)|([A-Za-z])[.):])\s*")


# --------------------------------------------------------------------------- small helpers


def strip_option_letter(option: str, letter: str | None = None) -> str:
    """``"A. xxx"`` / ``"(A) xxx"`` / ``"A) xxx"`` / ``"A: xxx"`` -> ``"xxx"``. With ``letter`` only that
    letter's prefix is removed (so ``"B. C. Smith"`` loses ``"B. "`` only as option B); text that
    merely starts with a capital (``"A cat"``) is kept.

    >>> strip_option_letter("B. C. Smith", "B"), strip_option_letter("C. Smith", "B")
    ('C. Smith', 'C. Smith')
    """
    text = str(option).strip()
    m = _LETTER_PREFIX.match(text)
    if m is None:
        return text
    found = (m.group(1) or m.group(2)).upper()
    if letter is not None and found != letter.upper():
        return text
    rest = text[m.end():].strip()
    return rest if rest else text


def _split_lettered(options: str) -> list[str]:
    """``"A. x B. y C. z D. w"`` (one string, as OmniBench's spreadsheet has) -> ``[x, y, z, w]``."""
    parts, start, nxt = [], None, 0
    for m in re.finditer(r"(?:^|\s)\(?([A-Z])[.)]\s", options):
        if nxt < len(LETTERS) and m.group(1) == LETTERS[nxt]:
            if start is not None:
                parts.append(options[start:m.start()].strip())
            start, nxt = m.end(), nxt + 1
    if start is None:
        return [options.strip()]
    parts.append(options[start:].strip())
    return parts


def _norm(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _answer_letter(answer: Any, options: Sequence[str], *, letters_allowed: bool) -> str:
    """The letter of ``answer`` among ``options``: an exact text match first, then one ignoring case
    and runs of spaces; with ``letters_allowed`` a bare letter (``"B"``, ``"B."``, ``"(B)"``) too."""
    text = str(answer).strip()
    for i, o in enumerate(options):
        if o == text:
            return LETTERS[i]
    hits = [i for i, o in enumerate(options) if _norm(o) == _norm(text)]
    if len(hits) == 1:
        return LETTERS[hits[0]]
    if letters_allowed:
        m = re.fullmatch(r"\(?([A-Za-z])\)?\.?", text)
        if m and m.group(1).upper() in LETTERS[: len(options)]:
            return m.group(1).upper()
    raise QuestionError(f"answer {text!r} is not one of the options {list(options)}")


def _located(e: DataError, where: str) -> DataError:
    """The same error type with ``where`` (file and row) in front of its message."""
    new = type(e)(f"{where}: {e}")
    new.path = e.path
    return new


def _as_row(row: Any) -> dict:
    if isinstance(row, _Malformed):
        raise QuestionError(f"unparseable line ({row.reason})")
    if not isinstance(row, dict):
        raise QuestionError(f"row is a {type(row).__name__}, not an object")
    return row


def _field(row: dict, *names: str) -> Any:
    for n in names:
        if n in row and row[n] is not None:
            return row[n]
    raise QuestionError(f"missing field {names[0]!r} (has {sorted(row)})")


def _collect(rows: Iterable[tuple[str, Any]], build: Callable[[Any], Question | None], strict: bool,
             info: dict) -> LoadResult:
    """`collect_samples` over ``(where, row)`` pairs; every error names ``where`` (file and row)."""

    def located_build(item: tuple[str, Any]) -> Question | None:
        where, row = item
        try:
            return build(row)
        except DataError as e:
            raise _located(e, where) from e
        except (TypeError, ValueError, AttributeError) as e:  # malformed values (wrong types)
            raise QuestionError(f"{where}: malformed row ({e})") from e

    return collect_samples(rows, located_build, lambda item: item[0], strict=strict, info=info)


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise MissingMediaError(f"{what} not found", path)
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise DataError(f"cannot read {what} ({e})", path) from e


def _listdir(folder: Path, cache: dict[Path, frozenset[str] | None]) -> frozenset[str] | None:
    if folder not in cache:
        try:
            cache[folder] = frozenset(os.listdir(folder))
        except OSError:
            cache[folder] = None
    return cache[folder]


# --------------------------------------------------------------------------- AVHBench


def _avh_index(root: Path) -> tuple[list[tuple[str, Any]], Path]:
    """``(where, row)`` of every QA row and the video folder, for either release layout."""
    for name in ("QA.json", "qa.json"):
        path = root / name
        if path.is_file():
            data = _read_json(path, "AVHBench QA.json")
            if not isinstance(data, list):
                raise DataError("AVHBench QA.json is not a list of rows", path)
            videos = root / "videos" if (root / "videos").is_dir() or not (root / "video").is_dir() else root / "video"
            return [(f"{path} row {i}", r) for i, r in enumerate(data)], videos
    per_video = root / "json"
    if per_video.is_dir():
        rows: list[tuple[str, Any]] = []
        for path in sorted(per_video.glob("*.json")):
            data = _read_json(path, "AVHBench json")
            if not isinstance(data, list):
                raise DataError("AVHBench json is not a list of rows", path)
            rows.extend((f"{path} row {i}", r) for i, r in enumerate(data))
        if rows:
            return rows, root / "video"
    raise MissingMediaError("AVHBench index not found (QA.json, or json/<video_id>.json of the v0 release)",
                            root / "QA.json")


def load_avhbench(root: str | Path, strict: bool = True) -> LoadResult:
    """AVHBench's judge subset: yes/no questions of `AVHBENCH_JUDGE_TASKS`, in index order.

    ``info``: ``dropped_caption_rows`` (AV Captioning, not yes/no), ``dropped_other_rows`` (a task
    that is neither, without a yes/no label), ``tasks`` (questions per task).
    """
    root = Path(root)
    rows, videos = _avh_index(root)
    cache: dict[Path, frozenset[str] | None] = {}
    per_video: dict[str, int] = {}
    info: dict[str, Any] = {"root": str(root)}
    dropped = {"dropped_caption_rows": 0, "dropped_other_rows": 0}  # LoadResult copies info: count apart

    def build(row: Any) -> Question | None:
        row = _as_row(row)
        vid = str(_field(row, "video_id")).strip()
        n = per_video[vid] = per_video.get(vid, 0) + 1
        task = str(_field(row, "task")).strip()
        label = str(_field(row, "label")).strip()
        if task in _AVH_CAPTION_TASKS:
            dropped["dropped_caption_rows"] += 1
            return None
        answer = label.rstrip(".").lower()
        if answer not in YES_NO:
            if task in AVHBENCH_JUDGE_TASKS:
                raise QuestionError(f"label {label!r} of a {task!r} row is not Yes/No")
            dropped["dropped_other_rows"] += 1
            return None
        if not vid or "/" in vid or vid in (".", ".."):
            raise QuestionError(f"bad video_id {vid!r}")
        name = vid if vid.endswith(_VIDEO_EXTS) else f"{vid}.mp4"
        if name not in (_listdir(videos, cache) or ()):
            raise MissingMediaError("video not found", videos / name)
        video = videos / name
        return Question(qid=f"{vid}#{n}", benchmark="avhbench", task=task, question=str(_field(row, "text")),
                        options=(), answer=answer, video=video, audio=video,
                        meta={"video_id": vid, "label": label})

    result = _collect(rows, build, strict, info)
    result.info.update(dropped, tasks=_count(q.task for q in result))
    return result


def _count(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


# --------------------------------------------------------------------------- OmniBench


def _omnibench_index(root: Path) -> Path:
    for path in (root / "dataset" / OMNIBENCH_JSONL, root / OMNIBENCH_JSONL):
        if path.is_file():
            return path
    found = sorted((root / "dataset").glob("*.jsonl")) + sorted(root.glob("*.jsonl"))
    if found:
        return found[0]
    hint = ""
    if list(root.glob("data/*.parquet")) or list(root.glob("*.parquet")):
        hint = " (this looks like the Hugging Face parquet copy: write it out with omnibench_from_parquet)"
    raise MissingMediaError(f"OmniBench index not found{hint}", root / "dataset" / OMNIBENCH_JSONL)


def load_omnibench(root: str | Path, strict: bool = True) -> LoadResult:
    """OmniBench's image + audio multiple-choice questions (4 options), in jsonl order."""
    root = Path(root)
    index = _omnibench_index(root)
    rows: list[tuple[str, Any]] = []
    try:
        with open(index, encoding="utf-8-sig") as f:
            lines = f.readlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read the OmniBench jsonl ({e})", index) from e
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append((f"{index} line {i}", json.loads(line)))
        except ValueError as e:
            rows.append((f"{index} line {i}", _Malformed(str(e))))
    audio_dir, image_dir = root / "mm_data" / "audio", root / "mm_data" / "image"
    cache: dict[Path, frozenset[str] | None] = {}
    seen: dict[str, int] = {}

    def media(folder: Path, name: Any, what: str) -> Path:
        name = str(name).strip()
        if not name or name.startswith("/") or ".." in Path(name).parts:
            raise QuestionError(f"bad {what} path {name!r}")
        path = folder / name
        if path.name not in (_listdir(path.parent, cache) or ()):
            raise MissingMediaError(f"{what} file not found", path)
        return path

    def build(row: Any) -> Question:
        row = _as_row(row)
        raw = _field(row, "options", "option")
        opts = _split_lettered(raw) if isinstance(raw, str) else [str(o) for o in raw]
        options = tuple(strip_option_letter(o, LETTERS[i]) for i, o in enumerate(opts))
        answer = _answer_letter(_field(row, "answer", "correct answer"), options, letters_allowed=True)
        index_value = row.get("index")
        qid = str(index_value) if index_value is not None else str(len(seen))
        seen[qid] = seen.get(qid, 0) + 1
        if seen[qid] > 1:
            qid = f"{qid}#{seen[qid]}"
        return Question(qid=qid, benchmark="omnibench", task=str(_field(row, "task type", "task_type")).strip(),
                        question=str(_field(row, "question")), options=options, answer=answer,
                        audio=media(audio_dir, _field(row, "audio_path"), "audio"),
                        image=media(image_dir, _field(row, "image_path"), "image"),
                        meta={"index": index_value, "audio_type": str(row.get("audio type", "")).strip().lower(),
                              "answer_text": options[LETTERS.index(answer)]})

    result = _collect(rows, build, strict, {"root": str(root), "index": str(index)})
    result.info["tasks"] = _count(q.task for q in result)
    return result


class _Malformed:
    """A jsonl line that did not parse (reported as its row's error)."""

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"unparseable line ({self.reason})"


def omnibench_from_parquet(parquet: str | Path, out_root: str | Path) -> Path:
    """Write the Hugging Face copy of OmniBench (``m-a-p/OmniBench``: parquet whose ``audio`` and
    ``image`` columns hold ``{"bytes", "path"}``) out in the GitHub layout `load_omnibench` reads:
    ``dataset/batch-5_1142_20240817.jsonl`` and ``mm_data/{audio,image}/<name>``. The media bytes are
    copied as they are (nothing is decoded). ``parquet``: a file or a folder of ``*.parquet``
    (searched recursively). Returns ``out_root``."""
    try:
        import pyarrow.parquet as pq
    except ImportError as e:  # pragma: no cover - pyarrow comes with the environment
        raise DataError("reading parquet needs pyarrow (pip install pyarrow)", parquet) from e
    src, out = Path(parquet), Path(out_root)
    files = [src] if src.is_file() else sorted(src.rglob("*.parquet"))
    if not files:
        raise MissingMediaError("no OmniBench parquet file found", src)
    (out / "dataset").mkdir(parents=True, exist_ok=True)
    lines = []
    for f in files:
        for row in pq.read_table(f).to_pylist():
            for col, folder in (("audio", "audio"), ("image", "image")):
                blob = row.pop(col, None)
                name = row.get(f"{col}_path") or (blob or {}).get("path")
                if not name:
                    raise DataError(f"row {row.get('index')} has no {col}_path", f)
                row[f"{col}_path"] = name = Path(str(name)).name
                if isinstance(blob, dict) and blob.get("bytes"):
                    target = out / "mm_data" / folder / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(blob["bytes"])
            lines.append(json.dumps(row, ensure_ascii=False))
    (out / "dataset" / OMNIBENCH_JSONL).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


# --------------------------------------------------------------------------- VideoMME

_SRT_TIME = re.compile(r"^\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}")
_TAG = re.compile(r"<[^>]+>|\{\\[^}]*\}")


def read_srt_text(path: str | Path) -> str:
    """The text of an ``.srt`` file, one cue per line: cue numbers, time lines and markup
    (``<font ...>``, ``{\\an8}``) removed, consecutive duplicate lines dropped.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "v.srt")
    >>> _ = open(p, "w").write('1\\n00:00:01,000 --> 00:00:02,500\\n<font color="white" size=".72c">Hello</font>\\n'
    ...                        '\\n2\\n00:00:03,000 --> 00:00:04,000\\nworld\\n')
    >>> read_srt_text(p)
    'Hello\\nworld'
    """
    path = Path(path)
    try:
        raw = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as e:
        raise DataError(f"cannot read subtitles ({e})", path) from e
    cues: list[str] = []
    for block in re.split(r"\r?\n\s*\r?\n", raw.replace("\r\n", "\n")):
        lines = [ln.strip() for ln in block.split("\n") if ln.strip()]
        text_lines = []
        for ln in lines:
            if _SRT_TIME.match(ln) or (ln.isdigit() and not text_lines):
                continue
            cleaned = " ".join(_TAG.sub("", ln).split())
            if cleaned:
                text_lines.append(cleaned)
        text = " ".join(text_lines)
        if text and (not cues or cues[-1] != text):
            cues.append(text)
    return "\n".join(cues)


def _read_table(path: Path) -> list[dict]:
    if path.suffix == ".json":
        data = _read_json(path, "VideoMME index")
        if not isinstance(data, list):
            raise DataError("VideoMME json index is not a list of rows", path)
        return data
    try:
        import pyarrow.parquet as pq
    except ImportError as e:  # pragma: no cover
        raise DataError("reading the VideoMME parquet needs pyarrow (pip install pyarrow)", path) from e
    try:
        return pq.read_table(path).to_pylist()
    except Exception as e:  # pyarrow raises several types for a bad file
        raise DataError(f"cannot read the VideoMME parquet ({e})", path) from e


def _videomme_index(root: Path) -> Path:
    for path in (root / "videomme" / VIDEOMME_PARQUET, root / VIDEOMME_PARQUET):
        if path.is_file():
            return path
    found = sorted((root / "videomme").glob("*.parquet")) + sorted(root.glob("*.parquet"))
    found += sorted((root / "videomme").glob("*.json")) + [p for p in (root / "videomme.json",) if p.is_file()]
    if found:
        return found[0]
    raise MissingMediaError("VideoMME index not found", root / "videomme" / VIDEOMME_PARQUET)


def load_videomme(
    root: str | Path,
    subtitles: bool = False,
    durations: str | Sequence[str] | None = None,
    strict: bool = True,
) -> LoadResult:
    """VideoMME's 4-option questions, in index order (``qid`` = ``question_id``).

    Args:
        subtitles: read ``subtitle/<videoID>.srt`` into ``Question.subtitles`` (the "with
            subtitles" setting); a video without one gets ``None`` (``info["videos_without_subtitles"]``).
        durations: keep only these duration classes (`VIDEOMME_DURATIONS`), e.g. ``("short",)``.
    """
    root = Path(root)
    chosen = VIDEOMME_DURATIONS if durations is None else (
        (durations,) if isinstance(durations, str) else tuple(durations))
    unknown = [d for d in chosen if d not in VIDEOMME_DURATIONS]
    if unknown:
        raise ValueError(f"unknown VideoMME duration(s) {unknown}; choose from {VIDEOMME_DURATIONS}")
    index = _videomme_index(root)
    table = _read_table(index)
    rows = [(f"{index} row {i}", r) for i, r in enumerate(table)]
    video_dirs = [d for d in (root / "data", root / "videos", root / "video") if d.is_dir()] or [root / "data"]
    cache: dict[Path, frozenset[str] | None] = {}
    subs: dict[str, str | None] = {}
    info: dict[str, Any] = {"root": str(root), "index": str(index), "subtitles": subtitles}

    def find_video(vid: str) -> Path:
        for d in video_dirs:
            names = _listdir(d, cache) or ()
            for ext in _VIDEO_EXTS:
                if vid + ext in names:
                    return d / (vid + ext)
        raise MissingMediaError("video not found", video_dirs[0] / f"{vid}.mp4")

    def subtitle_text(vid: str) -> str | None:
        if vid not in subs:
            path = root / "subtitle" / f"{vid}.srt"
            subs[vid] = read_srt_text(path) if path.is_file() else None
        return subs[vid]

    def build(row: Any) -> Question | None:
        row = _as_row(row)
        duration = str(_field(row, "duration")).strip().lower()
        if duration not in VIDEOMME_DURATIONS:
            raise QuestionError(f"duration {duration!r} is not one of {VIDEOMME_DURATIONS}")
        if duration not in chosen:
            return None
        vid = str(_field(row, "videoID")).strip()
        if not vid or "/" in vid:
            raise QuestionError(f"bad videoID {vid!r}")
        raw = _field(row, "options")
        opts = _split_lettered(raw) if isinstance(raw, str) else [str(o) for o in raw]
        options = tuple(strip_option_letter(o, LETTERS[i]) for i, o in enumerate(opts))
        answer = _answer_letter(_field(row, "answer"), options, letters_allowed=True)
        video = find_video(vid)
        meta = {"duration": duration, "video_id": row.get("video_id"), "videoID": vid,
                "domain": row.get("domain"), "sub_category": row.get("sub_category"), "url": row.get("url")}
        return Question(qid=str(_field(row, "question_id")), benchmark="videomme",
                        task=str(_field(row, "task_type")).strip(), question=str(_field(row, "question")),
                        options=options, answer=answer, video=video, audio=video,
                        subtitles=subtitle_text(vid) if subtitles else None, meta=meta)

    result = _collect(rows, build, strict, info)
    result.info["durations"] = _count(q.meta["duration"] for q in result)
    if subtitles:
        result.info["videos_without_subtitles"] = sum(1 for v in subs.values() if v is None)
    return result


# --------------------------------------------------------------------------- MVBench


def _mvbench_tasks(tasks: str | Sequence[str] | None) -> list[str]:
    if tasks is None:
        return list(MVBENCH_TASKS)
    wanted = (tasks,) if isinstance(tasks, str) else tuple(tasks)
    by_file = {v[0][:-5]: k for k, v in MVBENCH_TASKS.items()}
    by_lower = {k.lower(): k for k in MVBENCH_TASKS}
    out = []
    for t in wanted:
        name = t if t in MVBENCH_TASKS else by_file.get(t) or by_lower.get(str(t).lower())
        if name is None:
            raise ValueError(f"unknown MVBench task {t!r}; choose from {list(MVBENCH_TASKS)}")
        out.append(name)
    return out


def load_mvbench(root: str | Path, tasks: str | Sequence[str] | None = None, strict: bool = True) -> LoadResult:
    """MVBench's multiple-choice questions of ``tasks`` (names as `MVBENCH_TASKS` spells them, or
    their json stems such as ``"action_sequence"``; ``None``: all 20), task by task in file order.

    ``qid`` is ``"<json stem>/<row>"``; ``meta``: ``source`` (the json file's ``video``), ``folder``
    (where it was found), ``data_type`` (``"video"`` or ``"frame"``), ``bound`` (``(start, end)``
    seconds or ``None``), ``fps`` for frame folders.
    """
    root = Path(root)
    chosen = _mvbench_tasks(tasks)
    rows: list[tuple[str, Any]] = []
    for task in chosen:
        path = root / "json" / MVBENCH_TASKS[task][0]
        data = _read_json(path, f"MVBench {task} json")
        if not isinstance(data, list):
            raise DataError("MVBench json is not a list of rows", path)
        rows.extend((f"{path} row {i}", (task, i, r)) for i, r in enumerate(data))
    bases = [b for b in (root / "video", root) if b.is_dir()]
    cache: dict[Path, frozenset[str] | None] = {}

    def locate(task: str, name: str) -> tuple[Path, str, bool]:
        _, folders, data_type, _ = MVBENCH_TASKS[task]
        for folder, cut in folders:
            for base in bases:
                for cand in ((name,) if data_type == "video" else (name, name + ".mp4")):
                    path = base / folder / cand
                    names = _listdir(path.parent, cache)
                    if names is None or path.name not in names:
                        continue
                    if data_type == "frame" and cand == name:
                        if not (_listdir(path, cache) or ()):
                            raise MissingMediaError("frame folder is empty", path)
                    return path, folder, cut
        first = (bases[0] if bases else root / "video") / folders[0][0] / name
        raise MissingMediaError("frame folder not found" if data_type == "frame" else "video not found", first)

    def build(item: Any) -> Question:
        task, i, row = item
        row = _as_row(row)
        name = str(_field(row, "video")).strip()
        if not name or name.startswith("/") or ".." in Path(name).parts:
            raise QuestionError(f"bad video {name!r}")
        candidates = tuple(str(c).strip() for c in _field(row, "candidates"))
        answer = _answer_letter(_field(row, "answer"), candidates, letters_allowed=False)
        path, folder, cut = locate(task, name)
        _, _, data_type, has_bound = MVBENCH_TASKS[task]
        bound = None
        if has_bound and not cut and "start" in row and "end" in row:
            bound = (float(row["start"]), float(row["end"]))
        is_frames = path.is_dir()
        meta = {"source": name, "folder": folder, "data_type": "frame" if is_frames else "video", "bound": bound}
        if is_frames:
            meta["fps"] = _MVBENCH_FRAME_FPS
        return Question(qid=f"{MVBENCH_TASKS[task][0][:-5]}/{i}", benchmark="mvbench", task=task,
                        question=str(_field(row, "question")), options=candidates, answer=answer,
                        video=path, meta=meta)

    result = _collect(rows, build, strict, {"root": str(root), "tasks": chosen})
    result.info["per_task"] = _count(q.task for q in result)
    return result


# --------------------------------------------------------------------------- dispatch and roots

QA_LOADERS: dict[str, Callable[..., LoadResult]] = {
    "avhbench": load_avhbench,
    "omnibench": load_omnibench,
    "videomme": load_videomme,
    "mvbench": load_mvbench,
}


def _is_root(name: str) -> Callable[[Path], bool]:
    def avh(d: Path) -> bool:
        return (d / "QA.json").is_file() or (d / "qa.json").is_file() or (
            (d / "json").is_dir() and (d / "video").is_dir())

    def omni(d: Path) -> bool:
        return any((d / "dataset").glob("*.jsonl")) or ((d / "mm_data").is_dir() and any(d.glob("*.jsonl")))

    def vmme(d: Path) -> bool:
        return any((d / "videomme").glob("*.parquet")) or (d / VIDEOMME_PARQUET).is_file()

    def mvb(d: Path) -> bool:
        return any((d / "json" / v[0]).is_file() for v in MVBENCH_TASKS.values())

    return {"avhbench": avh, "omnibench": omni, "videomme": vmme, "mvbench": mvb}[name]


def _check_name(name: str) -> str:
    key = name.lower().replace("-", "").replace("_", "")
    if key not in QA_LOADERS:
        raise ValueError(f"unknown QA benchmark {name!r}; choose from {sorted(QA_LOADERS)}")
    return key


def find_qa_root(name: str, data_dir: str | Path | None = None) -> Path:
    """The folder holding benchmark ``name``'s index: ``<data_dir>/<name>`` or one level below it (an
    extracted archive's top folder). ``data_dir`` defaults to ``$DATA_DIR`` (else ``./data``).
    Raises `DataError` naming ``<data_dir>/<name>`` when there is none."""
    from omni_r1_lite.data.download import default_data_dir

    key = _check_name(name)
    top = Path(data_dir) if data_dir is not None else default_data_dir()
    base = top / key
    root = find_root(base, _is_root(key), max_depth=1)
    if root is None:
        raise DataError(f"no {key} root (its index file, at the top or one folder down) under", base)
    return root


def load_qa_benchmark(name: str, root: str | Path | None = None, **kw: Any) -> LoadResult:
    """``load_<name>(root, **kw)`` for ``name`` in ``avhbench``, ``omnibench``, ``videomme``, ``mvbench``.
    ``root=None`` uses `find_qa_root` (``DATA_DIR/<name>``); a ``root`` whose index is one folder
    down (an extracted archive) is followed there."""
    key = _check_name(name)
    if root is None:
        path = find_qa_root(key)
    else:
        path = find_root(Path(root), _is_root(key), max_depth=1) or Path(root)
    return QA_LOADERS[key](path, **kw)
