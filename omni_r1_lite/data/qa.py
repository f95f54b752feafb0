"""One `Question` schema for the question-answering benchmarks (AVHBench, OmniBench, VideoMME,
MVBench) and the kit's embedded OmniSynth-QA.

A question is either **yes/no** (``options == ()``, ``answer`` is ``"yes"`` or ``"no"``: AVHBench's
judge subset, OmniSynth-QA's presence probes) or **multiple choice** (``options`` are the option
texts *without* their letters, ``answer`` is the correct letter ``"A"``, ``"B"``, ...). Media are
paths, decoded only when System 1 reads them: ``video`` (a video file or a folder of frames),
``audio`` (an audio file, or the video itself when its soundtrack is the audio), ``image``.
``task`` is the row the benchmark reports accuracy under (MVBench's 20 tasks, VideoMME's
duration, AVHBench's task, ...).

>>> q = Question("q1", "omnisynth-qa", "object presence", "Is there a red circle in the video?", (), "yes")
>>> q.format, q.letters
('yes/no', ())
>>> m = Question("q2", "mvbench", "action sequence", "What did the person do first?",
...              ("Sat down.", "Opened the door."), "B")
>>> m.format, m.letters, m.answer_text
('multiple-choice', ('A', 'B'), 'Opened the door.')
"""

from __future__ import annotations

import dataclasses
import string
from pathlib import Path
from typing import Any

from omni_r1_lite.data.schema import DataError

__all__ = ["QA_BENCHMARKS", "Question", "QuestionError", "YES_NO"]

YES_NO = ("yes", "no")
QA_BENCHMARKS = ("avhbench", "omnibench", "videomme", "mvbench", "omnisynth-qa")
"""Question-answering benchmarks the kit evaluates (``evaluate --benchmark NAME``)."""


class QuestionError(DataError):
    """A benchmark row that cannot be a question (no answer, an answer not among the options)."""


@dataclasses.dataclass(frozen=True)
class Question:
    """One question of a QA benchmark.

    Attributes:
        qid: unique within its benchmark (stable: results are resumed by it).
        benchmark: one of `QA_BENCHMARKS`.
        task: the accuracy row it counts under.
        question: the question text as the benchmark gives it (no options, no instructions).
        options: option texts without letters (``()`` for yes/no).
        answer: the correct letter (multiple choice) or ``"yes"`` / ``"no"``.
        video, audio, image: media paths (``None`` when the question has none).
        subtitles: subtitle text shown with the video (VideoMME "with subtitles"), or ``None``.
        meta: anything benchmark-specific (duration class, source row, OmniSynth's clip sample).
    """

    qid: str
    benchmark: str
    task: str
    question: str
    options: tuple[str, ...]
    answer: str
    video: Path | None = None
    audio: Path | None = None
    image: Path | None = None
    subtitles: str | None = None
    meta: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def __post_init__(self):
        if not str(self.question).strip():
            raise QuestionError(f"question {self.qid!r} has no text")
        if len(self.options) > 26:
            raise QuestionError(f"question {self.qid!r} has {len(self.options)} options (at most 26)")
        allowed = self.letters if self.options else YES_NO
        if self.answer not in allowed:
            raise QuestionError(f"question {self.qid!r}: answer {self.answer!r} is not one of {allowed}")

    @property
    def format(self) -> str:
        """``"yes/no"`` or ``"multiple-choice"``."""
        return "multiple-choice" if self.options else "yes/no"

    @property
    def letters(self) -> tuple[str, ...]:
        """The option letters, ``("A", "B", ...)`` (``()`` for yes/no)."""
        return tuple(string.ascii_uppercase[: len(self.options)])

    @property
    def answer_text(self) -> str:
        """The correct option's text (yes/no: the answer itself)."""
        return self.options[self.letters.index(self.answer)] if self.options else self.answer
