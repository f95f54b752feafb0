"""System 1 as a question answerer: the prompts of the paper's general-understanding and
hallucination evaluations (Tables 3, 8, 9) and answer extraction robust to free text.

**Prompts.** Without the thinking prompt (Table 9's "no think" rows) the question is followed by
its lettered options and a request for the letter alone (yes/no: for "yes" or "no" alone), as
VideoMME and MVBench are usually run. With it (the headline rows, "think"), the question is
followed by the instruction the official code uses for its Video-R1 data
(``src/omni_r1/load_datasets/videor1.py``, ``QUESTION_TEMPLATE`` + ``TYPE_TEMPLATE``): reason like
a person thinking it over inside ``<think> </think>``, then give only the option letter (here
also: only yes or no) inside ``<answer> </answer>``. VideoMME "with subtitles" puts the subtitles
before the question. In the CPU presets OmniSynth's perception track is appended, as for
segmentation.

**Extraction** (`extract_choice`) reads the last ``<answer>`` block when there is one, else the
text after any ``<think>`` block, and accepts, in this order: a bare letter or word (``B``,
``(B)``, ``B.``, ``yes.``); "the answer is B" / "answer: yes" / "option B"; a leading ``B.`` /
``B)`` / ``B:``; an option's full text; a single standalone letter (or a single yes/no word) in
the text. Anything else — nothing, two different answers, a letter that is not an option — is
``None`` with an issue code, and the evaluation counts it as wrong (and counts it).

>>> from omni_r1_lite.data.qa import Question
>>> mc = Question("q", "mvbench", "t", "What happens first?", ("a dog runs", "a cat jumps", "nothing"), "B")
>>> [extract_choice(t, mc)[0] for t in ("B", "(C).", "The answer is B.", "<think>A or B?</think><answer>b</answer>",
...                                     "a cat jumps", "E", "A and B", "")]
['B', 'C', 'B', 'B', 'B', None, None, None]
>>> yn = Question("y", "avhbench", "t", "Is the dog barking?", (), "no")
>>> [extract_choice(t, yn)[0] for t in ("No.", "Yes, it is.", "<answer>no</answer>", "maybe", "yes or no")]
['no', 'yes', 'no', None, None]
"""

from __future__ import annotations

import re
from typing import Any

from omni_r1_lite.data.qa import YES_NO, Question

__all__ = ["ANSWER_ISSUES", "build_qa_messages", "extract_choice", "qa_prompt_text"]

THINK_INSTRUCTION = (
    "Think the question over as a person would, in an inner dialogue (\"let me think\", \"wait\", "
    "\"hmm\", \"oh, I see\", \"let's break it down\"), checking and correcting yourself where needed. "
    "Write your reasoning between <think> </think> and then your final answer between <answer> </answer>."
)
"""The thinking prompt (Table 9), after the official code's template for its Video-R1 questions."""
THINK_TYPE = {
    "multiple-choice": " Put only the single option letter (A, B, C, ...) inside <answer> </answer>.",
    "yes/no": " Put only yes or no inside <answer> </answer>.",
}
DIRECT = {
    "multiple-choice": "Answer with the option's letter from the given choices directly.",
    "yes/no": "Answer with yes or no directly.",
}
SUBTITLES_HEADER = "This video's subtitles are listed below:\n"

ANSWER_ISSUES = {
    "empty": "no answer text",
    "ambiguous": "more than one different answer in the text",
    "not-an-option": "a letter that is not one of the options",
    "unreadable": "no option letter, option text or yes/no found",
}
"""Why an answer could not be read (the record's ``issue``); each counts as wrong."""


def qa_prompt_text(question: Question, think: bool = False, perception: str | None = None) -> str:
    """The text of System 1's turn for one question (media parts are separate).

    >>> q = Question("q", "videomme", "t", "How many dogs are there?", ("one", "two"), "A")
    >>> print(qa_prompt_text(q))
    How many dogs are there?
    Options:
    A. one
    B. two
    Answer with the option's letter from the given choices directly.
    >>> qa_prompt_text(q, think=True).endswith("Put only the single option letter (A, B, C, ...) inside <answer> </answer>.")
    True
    """
    parts = []
    if question.subtitles:
        parts.append(SUBTITLES_HEADER + question.subtitles.strip())
    text = " ".join(str(question.question).split())
    if question.options:
        text += "\nOptions:\n" + "\n".join(f"{letter}. {opt}" for letter, opt in zip(question.letters, question.options))
    parts.append(text)
    parts.append(THINK_INSTRUCTION + THINK_TYPE[question.format] if think else DIRECT[question.format])
    out = "\n".join(parts)
    if perception is not None and str(perception).strip():
        from omni_r1_lite.systems.prompts import PERCEPTION_HEADER

        out += PERCEPTION_HEADER + str(perception).strip()
    return out


def build_qa_messages(question: Question, *, video: bool, audio: bool, image: bool, think: bool = False,
                      perception: str | None = None) -> list[dict[str, Any]]:
    """One user turn: ``[video?, image?, audio?, text]`` (pass the media to the processor in that order)."""
    content: list[dict[str, Any]] = []
    if video:
        content.append({"type": "video"})
    if image:
        content.append({"type": "image"})
    if audio:
        content.append({"type": "audio"})
    content.append({"type": "text", "text": qa_prompt_text(question, think, perception)})
    return [{"role": "user", "content": content}]


_ANSWER_BLOCK = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.S | re.I)
_THINK_BLOCK = re.compile(r"<think>.*?(?:</think>|$)", re.S | re.I)
_PUNCT = " \t\n\r.,;:!?\"'`*()[]{}<>"


def _answer_span(text: str) -> str:
    blocks = _ANSWER_BLOCK.findall(text)
    if blocks:
        return blocks[-1]
    return _THINK_BLOCK.sub(" ", text)


def _norm(s: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", s.lower()).split())


def _read_yes_no(span: str) -> tuple[str | None, str | None]:
    s = span.strip().strip(_PUNCT).lower()
    if not s:
        return None, "empty"
    if s in YES_NO:
        return s, None
    m = re.search(r"\b(?:answer|answer is|answer would be)\s*[:\-]?\s*(yes|no)\b", s)
    if m:
        return m.group(1), None
    words = set(re.findall(r"\b(yes|no)\b", s))
    if len(words) == 1:  # "Yes, it is." / "I think no." (both words: "yes or no" is no answer)
        return words.pop(), None
    return None, "ambiguous" if words else "unreadable"


def _read_letter(span: str, question: Question) -> tuple[str | None, str | None]:
    letters = question.letters
    s = span.strip()
    if not s:
        return None, "empty"
    bare = s.strip(_PUNCT)
    if len(bare) == 1 and bare.isalpha():
        c = bare.upper()
        return (c, None) if c in letters else (None, "not-an-option")
    m = (re.search(r"\banswer(?: is| would be)?\s*[:\-]?\s*\(?([A-Za-z])\)?(?![\w])", s, re.I)
         or re.search(r"\boption\s*\(?([A-Za-z])\)?(?![\w])", s, re.I)
         or re.match(r"\s*\(?([A-Z])[.):](?:\s|$)", s))
    if m:
        c = m.group(1).upper()
        return (c, None) if c in letters else (None, "not-an-option")
    norm = _norm(s)
    texts = [letter for letter, opt in zip(letters, question.options) if _norm(opt) and _norm(opt) == norm]
    if len(texts) == 1:
        return texts[0], None
    found = set(re.findall(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])", s)) - {"I"}
    if len(found) == 1:
        c = found.pop()
        return (c, None) if c in letters else (None, "not-an-option")
    contained = [letter for letter, opt in zip(letters, question.options) if _norm(opt) and f" {_norm(opt)} " in f" {norm} "]
    if len(contained) == 1:
        return contained[0], None
    return None, "ambiguous" if (len(found) > 1 or len(contained) > 1) else "unreadable"


def extract_choice(text: str | None, question: Question) -> tuple[str | None, str | None]:
    """``(answer, issue)``: the letter / ``"yes"`` / ``"no"`` a completion gives, or ``None`` and
    an `ANSWER_ISSUES` code. Never raises."""
    if not isinstance(text, str):
        return None, "empty"
    span = _answer_span(text[:20000])
    return _read_letter(span, question) if question.options else _read_yes_no(span)
