"""Reading System-1 completions and System-2 grounding outputs. Nothing here raises on model output.

System 1 writes ``<think>…</think><answer>…</answer>``. For VOS the answer holds JSON moments
``{"start_time": "00:SS.ss", "end_time": "00:SS.ss", "description": "…"}`` on the 2 fps virtual
timeline of the ``N`` sampled frames (see `omni_r1_lite.systems.prompts`); for AVS it holds a free
text single-image rewrite. `parse_vos_answer` and `parse_avs_answer` return a `Plan`; a completion
that cannot be used gives ``Plan.ok == False`` (reward 0 downstream), never an exception.

>>> text = ('<think>it enters late</think><answer>{"start_time": "00:01.50", "end_time": "00:01.50", '
...         '"description": "the red circle"}{"start_time": "00:04.00", "end_time": "00:04.00", '
...         '"description": "the red circle on the right"}</answer>')
>>> plan = parse_vos_answer(text, num_frames=10)
>>> plan.ok, plan.keyframes, plan.descriptions
(True, (3, 8), ('the red circle', 'the red circle on the right'))
>>> check_format(text)
True

**Rules of `parse_vos_answer`** (``N`` = number of sampled frames, ``K`` = ``max_keyframes``):

- *Where it looks.* Inside the first ``<answer>…</answer>``. Without ``</answer>`` it reads to
  the end (``unclosed_answer``); without ``<answer>`` it reads the text after the last
  ``</think>``, or all of it (``missing_answer_tags``). Text after ``</answer>`` is ignored
  (``text_after_answer``). Format is judged separately, by `check_format`.
- *Finding JSON.* A brace-balancing scanner (aware of JSON strings, with a string-blind second
  pass for unbalanced quotes) finds every ``{…}`` block, nested ones included, and reads it with
  ``json.loads``; if that fails it retries after removing trailing commas and quoting bare keys,
  then with ``ast.literal_eval`` (single quotes) — ``json_repaired``. At most 256 blocks holding a
  ``:`` are parsed per answer, in order (``too_many_blocks``), and only the first 64 that fail are repaired (blocks
  without a ``:`` are empty objects or unreadable, decided without parsing, so any number of
  ``{}`` costs little); a block nesting more than 512 braces is unreadable (JSON's own limit
  depends on Python's recursion limit); at most 256 moments are read (``too_many_moments``). These bounds keep a
  100,000-character completion under ~50 ms (``benchmarks/fuzz.py``). Unreadable blocks are skipped
  (``malformed_json``) while readable blocks inside them still count. A moment is any object with
  a ``start_time``, ``end_time`` or ``description`` key (case-insensitive), found at any depth, so
  ``[{…}, {…}]`` and ``{"moments": [{…}]}`` work too.
- *Times.* ``mm:ss.ff`` (also ``mm:ss`` and ``hh:mm:ss.ff``) with the fraction read as a decimal
  (``"00:01.5"`` is 1.5 s; the official code reads it as 1.05 s); bare seconds (``1.5`` or
  ``"1.5"``) are accepted with ``nonstandard_time``. Anything else → the moment is dropped
  (``missing_time``, ``bad_time``).
- *Reversed* (start > end) → dropped (``reversed_times``), as in the official reward.
- *Out of range* (end beyond the ``N/2``-second timeline) → dropped (``time_out_of_range``), as in
  the official reward. A time inside the timeline maps to frame ``min(int(t·2), N−1)``.
- *Missing description* (absent, not a string, or blank) → dropped (``missing_description``);
  descriptions are whitespace-collapsed and cut at 300 characters (``description_truncated``).
- *Frames.* A kept moment covers sampled frames ``int(start·2) … int(end·2)``. Frames covered by
  several moments count once (``duplicate_frames``). The keyframes are the first ``K`` unique
  frames in time order (``too_many_keyframes`` when more), as the official code does; each is
  paired with the description of the first moment, in answer order, that covers it.
- ``Plan.ok`` is true iff at least one keyframe survives.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import json
import math
import re
from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from omni_r1_lite.systems.prompts import FPS

ISSUES: dict[str, str] = {
    "empty_output": "the completion is empty",
    "missing_answer_tags": "no <answer> tag: the text after </think> (or all of it) was read",
    "unclosed_answer": "<answer> without </answer>: read to the end",
    "text_after_answer": "text after </answer> (ignored)",
    "empty_answer": "nothing inside <answer>",
    "no_json": "no JSON moment in the answer",
    "malformed_json": "a {...} block that could not be read (skipped)",
    "json_repaired": "a block was read after repair (trailing commas, bare keys, single quotes)",
    "missing_time": "a moment without start_time or end_time (dropped)",
    "bad_time": "a time that is not mm:ss.ff or seconds, or is negative or not finite (dropped)",
    "nonstandard_time": "a time given as bare seconds (accepted)",
    "missing_description": "a moment without a non-empty text description (dropped)",
    "description_truncated": "a description longer than 300 characters (cut)",
    "reversed_times": "start_time after end_time (dropped)",
    "time_out_of_range": "end_time beyond the N/2-second timeline (dropped)",
    "duplicate_frames": "several moments cover the same frame (counted once)",
    "too_many_keyframes": "more than max_keyframes frames: the first ones in time were kept",
    "too_many_moments": "more than 256 moments: the rest were not read",
    "too_many_blocks": "more than 256 blocks holding a ':': the rest were not read",
    "no_valid_moment": "no usable moment: no keyframe",
    "no_frames": "num_frames is not positive",
    "parser_error": "an unexpected internal error (a bug: please report the input)",
}
"""Issue codes a `Plan` may carry, with their meaning."""

MAX_DESCRIPTION_CHARS = 300
_MAX_CANDIDATES = 256  # blocks holding a ':' that are parsed, per answer (bounds the worst case)
_MAX_MOMENTS = 256  # moments read per answer
_MAX_NODES = 1024  # lists and objects visited looking for moments or boxes, per answer
_MAX_DEPTH = 512  # a block nesting more braces is unreadable (json's own limit depends on the stack)
_MAX_BOXES = 256  # box candidates read per grounding output
_MAX_SECONDS = 10**9  # a time beyond ~31 years is not a moment of a clip (and may not fit a float)
_MAX_REPAIR_CHARS = 4000  # longer blocks are only tried as strict JSON (bounds the worst case)
_MAX_REPAIRS = 64  # failed blocks repaired per answer; later ones are only tried as strict JSON


@dataclasses.dataclass(frozen=True)
class Moment:
    """One JSON moment of a VOS answer.

    Attributes:
        start, end: seconds on the virtual timeline (``None`` when unreadable).
        description: the whitespace-collapsed description (``None`` when missing).
        first_frame, last_frame: sampled frames covered (inclusive), ``-1`` when dropped.
        issue: why it was dropped, or ``None`` when it was kept.
    """

    start: float | None
    end: float | None
    description: str | None
    first_frame: int = -1
    last_frame: int = -1
    issue: str | None = None

    @property
    def valid(self) -> bool:
        return self.issue is None

    @property
    def frames(self) -> range:
        """The sampled-frame indices covered (empty when dropped)."""
        return range(self.first_frame, self.last_frame + 1) if self.valid else range(0)


@dataclasses.dataclass(frozen=True)
class Plan:
    """System 1's plan for System 2.

    Attributes:
        keyframes: sorted unique sampled-frame indices, ``0 ≤ k < N``, at most ``max_keyframes``
            (AVS: ``(frame_index,)``).
        descriptions: one single-image description per keyframe.
        moments: every moment found, kept or dropped, in answer order (VOS only).
        ok: at least one keyframe with a description.
        issues: sorted unique codes from `ISSUES`.
        answer: the text that was read as the answer (``None`` for an empty completion).
        num_objects: JSON blocks in the answer, readable moments plus unreadable blocks (the
            official reward's ``js_number``).
    """

    keyframes: tuple[int, ...] = ()
    descriptions: tuple[str, ...] = ()
    moments: tuple[Moment, ...] = ()
    ok: bool = False
    issues: tuple[str, ...] = ()
    answer: str | None = None
    num_objects: int = 0


# ----------------------------------------------------------------------------- tags and format

_TAIL_TOKENS = ("<|im_end|>", "<|endoftext|>")


def _strip_special_tail(text: str) -> str:
    """``text`` without trailing whitespace and end-of-sequence / padding tokens (linear time: the
    end moves back, the string is cut once)."""
    end = len(text)
    while True:
        while end and text[end - 1].isspace():
            end -= 1
        for token in _TAIL_TOKENS:
            if end >= len(token) and text.startswith(token, end - len(token)):
                end -= len(token)
                break
        else:
            return text[:end]


_FORMAT = re.compile(
    r"<think>(?:(?!</?think>|</?answer>).)*</think>\s*<answer>(?:(?!</?think>|</?answer>).)*</answer>",
    re.DOTALL,
)


def check_format(
    text: str, require_eos: bool = False, eos_token: str = "<|im_end|>", pad_token: str = "<|endoftext|>"
) -> bool:
    """Strict format check: the whole completion is ``<think>…</think>\\s*<answer>…</answer>``.

    Neither part may contain another think/answer tag; whitespace around the whole is allowed.
    Trailing ``pad_token``s are ignored; with ``require_eos`` the completion must end with
    ``eos_token`` (decode with ``skip_special_tokens=False`` to keep it), otherwise a trailing
    ``eos_token`` is simply removed.

    >>> check_format("<think>a</think>\\n<answer>b</answer>")
    True
    >>> check_format("<think>a</think><answer>b</answer>", require_eos=True)
    False
    >>> check_format("<think>a</think><answer>b</answer><|im_end|><|endoftext|>", require_eos=True)
    True
    >>> check_format("<think>a</think><answer>b</answer> more")
    False
    """
    if not isinstance(text, str):
        return False
    body = text.rstrip()
    while pad_token and body.endswith(pad_token):
        body = body[: -len(pad_token)].rstrip()
    has_eos = bool(eos_token) and body.endswith(eos_token)
    if has_eos:
        body = body[: -len(eos_token)]
    if require_eos and not has_eos:
        return False
    return _FORMAT.fullmatch(body.strip()) is not None


def extract_answer(text: str) -> tuple[str | None, tuple[str, ...]]:
    """The answer region of a completion and the issues met finding it.

    >>> extract_answer("<think>x</think><answer> 42 </answer>")
    (' 42 ', ())
    >>> extract_answer("no tags at all")
    ('no tags at all', ('missing_answer_tags',))
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if not text.strip():
        return None, ("empty_output",)
    issues: list[str] = []
    start = text.find("<answer>")
    if start >= 0:
        body_start = start + len("<answer>")
        end = text.find("</answer>", body_start)
        if end < 0:
            answer = text[body_start:]
            issues.append("unclosed_answer")
        else:
            answer = text[body_start:end]
            if _strip_special_tail(text[end + len("</answer>") :]):
                issues.append("text_after_answer")
    else:
        issues.append("missing_answer_tags")
        head = text
        close = head.find("</answer>")
        if close >= 0:
            head = head[:close]
        think_end = head.rfind("</think>")
        answer = head[think_end + len("</think>") :] if think_end >= 0 else head
    if "unclosed_answer" in issues or "missing_answer_tags" in issues:
        answer = _strip_special_tail(answer)
    return answer, tuple(issues)


# ----------------------------------------------------------------------------- JSON scanning


def _string_mask(cp: np.ndarray) -> np.ndarray:
    """``True`` where a character is inside a JSON string, quotes included (an unclosed string runs
    to the end). Backslash escapes count only inside a string: a quote there is escaped when an
    odd run of backslashes precedes it."""
    n = len(cp)
    quotes = np.flatnonzero(cp == 34)
    if not len(quotes):
        return np.zeros(n, dtype=bool)
    idx = np.arange(n)
    last_plain = np.maximum.accumulate(np.where(cp != 92, idx, -1))
    before = quotes - 1
    run = np.where(before >= 0, before - last_plain[np.maximum(before, 0)], 0)
    escaped = (run & 1) == 1
    if escaped.any():
        opened, closed, is_open = [], [], False
        for q, esc in zip(quotes.tolist(), escaped.tolist()):  # a loop over quotes only
            if not is_open:
                opened.append(q)
                is_open = True
            elif not esc:
                closed.append(q)
                is_open = False
    else:  # no escaped quote: they pair up in order
        opened, closed = quotes[0::2], quotes[1::2]
    marks = np.zeros(n + 1, dtype=np.int32)
    marks[np.asarray(opened, dtype=np.int64)] += 1  # positions are distinct within each array
    marks[np.asarray(closed, dtype=np.int64) + 1] -= 1
    return np.cumsum(marks[:n]) > 0


def _clamped_depth(opens: np.ndarray) -> np.ndarray:
    """The depth after each brace, a ``}`` with nothing open leaving it at 0."""
    raw = np.cumsum(np.where(opens, 1, -1))
    return raw - np.minimum(np.minimum.accumulate(raw), 0)


def _too_deep(pos: np.ndarray, opens: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which blocks ``[starts, ends]`` nest more than ``_MAX_DEPTH`` braces (themselves included):
    the maximum depth over their braces, by a sparse table of range maxima."""
    depth = _clamped_depth(opens)
    if not len(starts) or depth.max() <= _MAX_DEPTH:
        return np.zeros(len(starts), dtype=bool)
    lo, hi = np.searchsorted(pos, starts), np.searchsorted(pos, ends)
    table = [depth]
    while 2 ** len(table) <= len(depth):
        half = 2 ** (len(table) - 1)
        table.append(np.maximum(table[-1][:-half], table[-1][half:]))
    k = np.floor(np.log2(hi - lo + 1)).astype(np.int64)
    peak = np.empty(len(starts), dtype=depth.dtype)
    for j in np.unique(k).tolist():
        at = k == j
        peak[at] = np.maximum(table[j][lo[at]], table[j][hi[at] - 2**j + 1])
    return peak - depth[lo] + 1 > _MAX_DEPTH


def _match_braces(pos: np.ndarray, opens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matching ``{``/``}`` of brace positions ``pos`` (``opens`` marks the ``{``): ``(starts, ends,
    never_closed)``, by start. A ``}`` with nothing open is ignored, as a stack would. Vectorised: the depth is
    the running sum clamped at 0, and at each depth the opens and closes alternate."""
    if not len(pos):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    depth = _clamped_depth(opens)
    before = np.concatenate([[0], depth[:-1]])
    keep = opens | (before > 0)  # a close at depth 0 closes nothing
    pos, opens, level = pos[keep], opens[keep], np.where(opens, depth, before)[keep]
    order = np.argsort(level, kind="stable")  # by depth, then position (pos is sorted)
    o_open, o_level, o_pos = opens[order], level[order], pos[order]
    paired = o_open[:-1] & ~o_open[1:] & (o_level[:-1] == o_level[1:])
    partner = np.full(len(pos), -1, dtype=np.int64)  # the close of each open, by position
    partner[order[:-1][paired]] = o_pos[1:][paired]
    closed = partner >= 0
    return pos[closed], partner[closed], pos[opens & ~closed]


_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_BARE_KEY = re.compile(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:")


def loads_lenient(block: str, repair: bool = True) -> tuple[Any, bool] | None:
    """``json.loads`` with cheap repairs (unless ``repair`` is false); returns ``(value, repaired)``
    or ``None``.

    >>> loads_lenient('{"a": 1,}')
    ({'a': 1}, True)
    >>> loads_lenient("{'a': 'b'}")
    ({'a': 'b'}, True)
    >>> loads_lenient("{nope") is None
    True
    """
    try:
        return json.loads(block), False
    except Exception:
        pass
    if not repair or len(block) > _MAX_REPAIR_CHARS:
        return None
    fixed = _BARE_KEY.sub(r'\1"\2":', _TRAILING_COMMA.sub(r"\1", block))
    for candidate, parser in ((fixed, json.loads), (block, ast.literal_eval), (fixed, ast.literal_eval)):
        try:
            value = parser(candidate)
        except Exception:
            continue
        if isinstance(value, (dict, list)):
            return value, True
    return None


def json_blocks(text: str) -> tuple[list[tuple[int, Any, bool]], int]:
    """Readable ``{…}`` blocks of ``text`` as ``(start, value, repaired)``, and the unreadable count.

    Blocks inside a readable block are part of it; blocks inside an unreadable one are tried on
    their own. The unreadable count covers the outermost unreadable blocks that hold nothing
    readable, and every ``{`` that is never closed (a truncated object). Empty objects (``{}``,
    only whitespace inside) are readable but hold nothing, so they are not returned.

    >>> blocks, bad = json_blocks('x {"a": {"b": 1}} {oops} {"c": 2} {}')
    >>> [v for _, v, _ in blocks], bad
    ([{'a': {'b': 1}}, {'c': 2}], 1)
    """
    blocks, _, bad, _ = _scan_blocks(text)
    return blocks, bad


def _prefix_sum(mask: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(mask)])


def _scan_blocks(text: str) -> tuple[list[tuple[int, Any, bool]], tuple[np.ndarray, np.ndarray], int, bool]:
    """`json_blocks`, plus the empty objects it read as ``(starts, repaired)`` arrays, and whether
    the parse budget ended the scan early.

    The brace pairs of a string-aware and a string-blind pass are the candidates, by start (the
    longer first at one start). A candidate without a ``:`` can only be an empty object or
    unreadable, so those are decided from prefix sums, in arrays; only candidates holding a ``:``
    are parsed, in order, at most ``_MAX_CANDIDATES`` of them (the first ``_MAX_REPAIRS`` failures
    are also repaired), and the first candidate over that budget ends the scan.
    """
    empty_arrays = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))
    if not isinstance(text, str) or "{" not in text:
        return [], empty_arrays, 0, False
    n = len(text)
    cp = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    braces = np.flatnonzero((cp == 123) | (cp == 125))
    is_open = cp[braces] == 123
    s_blind, e_blind, unclosed = _match_braces(braces, is_open)
    outside = ~_string_mask(cp)[braces] if '"' in text else None
    if outside is None or outside.all():  # no brace inside a string: both passes agree
        s_aware, e_aware = s_blind, e_blind
    else:
        s_aware, e_aware, _ = _match_braces(braces[outside], is_open[outside])
    # candidates by start, the longer first: one sortable key per (start, end) pair, duplicates once
    if np.array_equal(s_aware, s_blind) and np.array_equal(e_aware, e_blind):  # one pass: starts distinct
        starts, ends = s_blind, e_blind
    else:
        key = np.unique(np.concatenate([s_aware * (n + 1) + (n - e_aware), s_blind * (n + 1) + (n - e_blind)]))
        starts, ends = key // (n + 1), n - key % (n + 1)
    colons = _prefix_sum(cp == 58)  # ':'
    has_colon = colons[ends + 1] > colons[starts]
    too_deep = _too_deep(braces, is_open, starts, ends).tolist()

    accepted: list[tuple[int, int, Any, bool]] = []
    accepted_at: list[int] = []  # candidate index of each accepted block
    failed_at: list[int] = []
    parsed = repairs = 0
    stop = len(starts)
    reach = -1  # the furthest end of an accepted block: candidates come by start, so a candidate
    # lies inside an accepted block exactly when it ends before that (no quadratic scan)
    starts_l, ends_l = starts.tolist(), ends.tolist()
    for i in np.flatnonzero(has_colon).tolist():
        s, e = starts_l[i], ends_l[i]
        if e <= reach:
            continue
        if too_deep[i]:  # unreadable whatever the recursion limit (and nothing to read that deep)
            failed_at.append(i)
            continue
        if parsed >= _MAX_CANDIDATES:
            stop = i
            break
        parsed += 1
        result = loads_lenient(text[s : e + 1], repair=repairs < _MAX_REPAIRS)
        if result is None or result[1]:
            repairs += 1
        if result is None:
            failed_at.append(i)
        else:
            accepted.append((s, e, result[0], result[1]))
            accepted_at.append(i)
            reach = max(reach, e)

    # candidates without ':' (before the one that ended the scan), not inside an accepted block:
    # only whitespace inside -> an empty object (a form feed is blank to ast, not to json), else unreadable
    at = np.asarray(accepted_at, dtype=np.int64)
    acc_reach = np.maximum.accumulate(np.asarray([e for _, e, _, _ in accepted], dtype=np.int64)) if accepted else at
    free = np.flatnonzero(~has_colon[:stop])
    k = np.searchsorted(at, free) - 1
    inside = (k >= 0) & (acc_reach[np.maximum(k, 0)] >= ends[free]) if len(at) else np.zeros(len(free), bool)
    free = free[~inside]
    solid = _prefix_sum((cp != 32) & ((cp < 9) | (cp > 13) | (cp == 11)))  # not space, \t \n \r \f
    commas = _prefix_sum(cp == 44)
    inner_solid = solid[ends[free]] - solid[starts[free] + 1]
    lone_comma = (inner_solid == 1) & (commas[ends[free]] - commas[starts[free] + 1] == 1)  # {,}: the repair
    blank = (inner_solid == 0) | lone_comma  # drops a trailing comma, so it reads as {}
    empty = free[blank]
    feeds = _prefix_sum(cp == 12)
    empty_repaired = (feeds[ends[empty]] > feeds[starts[empty] + 1]) | lone_comma[blank]

    # accepted and failed blocks, each in candidate order
    acc = np.sort(np.concatenate([at, empty]))
    bad = np.sort(np.concatenate([np.asarray(failed_at, dtype=np.int64), free[~blank]]))
    acc_starts, acc_ends = starts[acc], ends[acc]
    suffix_min = np.concatenate([np.minimum.accumulate(acc_ends[::-1])[::-1], [n]])
    bad_starts, bad_ends = starts[bad], ends[bad]
    # a failed block counts when it is not inside an earlier (larger) failed one and holds no accepted one
    earlier = np.concatenate([[-1], np.maximum.accumulate(bad_ends)[:-1]]) if len(bad) else bad_ends
    holds = suffix_min[np.searchsorted(acc_starts, bad_starts, side="left")] <= bad_ends
    outer_failed = int(np.count_nonzero((bad_ends > earlier) & ~holds))
    # a '{' never closed counts unless it lies inside an accepted block
    j = np.searchsorted(acc_starts, unclosed, side="right") - 1
    acc_max = np.maximum.accumulate(acc_ends) if len(acc) else acc_ends
    covered = (j >= 0) & (acc_max[np.maximum(j, 0)] >= unclosed) if len(acc) else np.zeros(len(unclosed), bool)
    truncated = int(np.count_nonzero(~covered))
    blocks = [(s, v, r) for s, _, v, r in accepted]
    return blocks, (starts[empty], empty_repaired), outer_failed + truncated, stop < len(starts)


# ----------------------------------------------------------------------------- VOS answers

_MOMENT_KEYS = ("start_time", "end_time", "description")
_CLOCK = re.compile(r"^\s*(?:(\d{1,4}):)?(\d{1,4}):(\d{1,4})(?:\.(\d{1,9}))?\s*$")
_SECONDS = re.compile(r"^\s*(\d{1,6})(?:\.(\d{1,9}))?\s*s?\s*$")


def _walk_dicts(values: Iterable[Any], keys: tuple[str, ...],
                limit: int = _MAX_NODES) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects among ``values`` (and inside them, depth-first, in order, within 16 levels) that
    hold one of ``keys`` (case- and space-insensitive), as ``(index in values, copy with normalised
    keys)``; an object found is not searched further. At most ``limit`` lists and objects are visited in all, so a huge
    answer costs a bounded walk."""
    budget = limit
    for index, top in enumerate(values):
        stack = [(top, 0)]
        while stack:
            value, depth = stack.pop()
            if depth > 16 or not isinstance(value, (dict, list)):
                continue
            budget -= 1
            if budget < 0:
                return
            if isinstance(value, dict):
                if any(str(k).strip().lower() in keys for k in value):
                    yield index, {str(k).strip().lower(): v for k, v in value.items()}
                    continue
                children = list(value.values())
            else:
                children = value
            stack.extend((v, depth + 1) for v in reversed(children) if isinstance(v, (dict, list)))


def parse_time(value: Any) -> tuple[Fraction | None, str | None]:
    """Seconds (exact) from a moment's time field, or ``(None, issue)``; issue may be ``nonstandard_time``.

    >>> parse_time("00:01.50"), parse_time("01:02.5")
    ((Fraction(3, 2), None), (Fraction(125, 2), None))
    >>> parse_time(2), parse_time("1.5s")
    ((Fraction(2, 1), 'nonstandard_time'), (Fraction(3, 2), 'nonstandard_time'))
    >>> parse_time("soon"), parse_time(None)
    ((None, 'bad_time'), (None, 'missing_time'))
    """
    if value is None:
        return None, "missing_time"
    if isinstance(value, bool):
        return None, "bad_time"
    if isinstance(value, (int, float)):
        # compared, not converted: an int too long for a float is out of range too; NaN fails, inf exceeds
        if not 0 <= value <= _MAX_SECONDS:
            return None, "bad_time"
        return Fraction(str(value)), "nonstandard_time"
    if not isinstance(value, str):
        return None, "bad_time"
    m = _CLOCK.match(value)
    if m:
        hours, minutes, seconds, frac = m.groups()
        total = Fraction(int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds))
        if frac:
            total += Fraction(int(frac), 10 ** len(frac))
        return total, None
    m = _SECONDS.match(value)
    if m:
        whole, frac = m.groups()
        total = Fraction(int(whole)) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)
        return total, "nonstandard_time"
    return None, "bad_time"


def _clean_description(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, str):
        return None, "missing_description"
    text = " ".join(value.split())
    if not text:
        return None, "missing_description"
    if len(text) > MAX_DESCRIPTION_CHARS:
        return text[:MAX_DESCRIPTION_CHARS].rstrip(), "description_truncated"
    return text, None


def _read_moment(norm: dict[str, Any], num_frames: int, fps: Fraction, issues: set[str]) -> Moment:
    start, start_issue = parse_time(norm.get("start_time"))
    end, end_issue = parse_time(norm.get("end_time"))
    description, desc_issue = _clean_description(norm.get("description"))
    for issue in (start_issue, end_issue, desc_issue):
        if issue in ("nonstandard_time", "description_truncated"):
            issues.add(issue)
    start_f = float(start) if start is not None else None
    end_f = float(end) if end is not None else None

    def dropped(issue: str) -> Moment:
        issues.add(issue)
        return Moment(start_f, end_f, description, issue=issue)

    for issue in (start_issue, end_issue):
        if issue in ("missing_time", "bad_time"):
            return dropped(issue)
    if desc_issue == "missing_description":
        return dropped(desc_issue)
    assert start is not None and end is not None
    if start > end:
        return dropped("reversed_times")
    if end > Fraction(num_frames) / fps:
        return dropped("time_out_of_range")
    first = min(math.floor(start * fps), num_frames - 1)
    last = min(math.floor(end * fps), num_frames - 1)
    return Moment(start_f, end_f, description, first, last)


def _select_keyframes(
    moments: list[Moment], k: int, issues: set[str]
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    kept = [m for m in moments if m.valid]
    ordered = sorted(kept, key=lambda m: (m.first_frame, m.last_frame))
    covered = 0
    reach = -1
    for m in ordered:
        if m.first_frame <= reach:
            issues.add("duplicate_frames")
        covered += max(0, m.last_frame - max(m.first_frame, reach + 1) + 1)
        reach = max(reach, m.last_frame)
    frames: list[int] = []
    reach = -1
    for m in ordered:
        i = max(m.first_frame, reach + 1)
        while i <= m.last_frame and len(frames) < k:
            frames.append(i)
            i += 1
        reach = max(reach, m.last_frame)
        if len(frames) >= k:
            break
    if covered > k:
        issues.add("too_many_keyframes")
    descriptions = tuple(
        next(m.description for m in kept if m.first_frame <= f <= m.last_frame) for f in frames
    )
    return tuple(frames), descriptions  # type: ignore[return-value]


def parse_vos_answer(text: str, num_frames: int, max_keyframes: int = 4, fps: float = FPS) -> Plan:
    """Read a VOS completion into a `Plan` of keyframes (sampled-frame indices) and descriptions.

    Never raises on model output; see the module docstring for every rule.

    >>> parse_vos_answer('<answer>{"start_time": "00:09.00", "end_time": "00:09.00", '
    ...                  '"description": "x"}</answer>', num_frames=10).issues
    ('no_valid_moment', 'time_out_of_range')
    >>> parse_vos_answer("", num_frames=10).ok
    False
    """
    try:
        return _parse_vos(text, int(num_frames), int(max_keyframes), Fraction(str(fps)))
    except Exception:  # pragma: no cover - guarded by property tests
        return Plan(ok=False, issues=("parser_error",))


def _parse_vos(text: Any, num_frames: int, max_keyframes: int, fps: Fraction) -> Plan:
    answer, tag_issues = extract_answer(text)
    issues = set(tag_issues)
    if num_frames <= 0 or max_keyframes <= 0:
        issues.add("no_frames")
        return Plan(ok=False, issues=tuple(sorted(issues)), answer=answer)
    if answer is None or not answer.strip():
        issues.add("empty_answer" if answer is not None else "empty_output")
        return Plan(ok=False, issues=tuple(sorted(issues)), answer=answer)
    blocks, _, n_bad, stopped = _scan_blocks(answer)
    if n_bad:
        issues.add("malformed_json")
    if stopped:
        issues.add("too_many_blocks")
    moments: list[Moment] = []
    for index, norm in _walk_dicts((value for _, value, _ in blocks), _MOMENT_KEYS):
        if len(moments) >= _MAX_MOMENTS:
            issues.add("too_many_moments")
            break
        moments.append(_read_moment(norm, num_frames, fps, issues))
        if blocks[index][2]:
            issues.add("json_repaired")
    if not moments:
        issues.add("no_json")
    keyframes, descriptions = _select_keyframes(moments, max_keyframes, issues)
    if not keyframes:
        issues.add("no_valid_moment")
    return Plan(
        keyframes=keyframes,
        descriptions=descriptions,
        moments=tuple(moments),
        ok=bool(keyframes),
        issues=tuple(sorted(issues)),
        answer=answer,
        num_objects=len(moments) + n_bad,
    )


# ----------------------------------------------------------------------------- AVS answers

_WRAPPERS = " \t\r\n'\"`[]()"


def parse_avs_answer(text: str, frame_index: int = 0) -> Plan:
    """Read an AVS completion: the answer text is the single-image description for ``frame_index``.

    Surrounding quotes/brackets are removed and whitespace collapsed; a JSON answer with a
    ``description`` key is also understood. Never raises on model output.

    >>> parse_avs_answer("<think>the dog barks</think><answer> 'the brown dog.' </answer>").descriptions
    ('the brown dog.',)
    >>> parse_avs_answer("<think>hm</think><answer>  </answer>").issues
    ('empty_answer',)
    """
    try:
        answer, tag_issues = extract_answer(text)
        issues = set(tag_issues)
        if answer is None:
            return Plan(ok=False, issues=tuple(sorted(issues)), answer=answer)
        body = answer.strip()
        blocks, _ = json_blocks(body) if body.startswith("{") else ([], 0)
        for _, value, _ in blocks:
            if isinstance(value, dict):
                norm = {str(k).strip().lower(): v for k, v in value.items()}
                if isinstance(norm.get("description"), str):
                    body = norm["description"]
                    break
        description, desc_issue = _clean_description(body.strip(_WRAPPERS))
        if description is None:
            issues.add("empty_answer")
            return Plan(ok=False, issues=tuple(sorted(issues)), answer=answer)
        if desc_issue:
            issues.add(desc_issue)
        return Plan(
            keyframes=(int(frame_index),),
            descriptions=(description,),
            ok=True,
            issues=tuple(sorted(issues)),
            answer=answer,
        )
    except Exception:  # pragma: no cover - guarded by property tests
        return Plan(ok=False, issues=("parser_error",))


# ----------------------------------------------------------------------------- grounding boxes

_BOX_KEYS = ("bbox_2d", "bbox", "box_2d", "box")
_MAX_COORD = 1e7  # a pixel coordinate beyond this is junk (and would overflow float32 in area terms)
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_KEYED_BOX = re.compile(r"""["']?(?:bbox_2d|bbox|box_2d|box)["']?\s*:\s*\[([^\[\]]*)\]""")
_BARE_BOX = re.compile(rf"\[\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*\]")


def _as_box(value: Any) -> list[float] | None:
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value.strip()) if v]
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        return None
    out = []
    for v in value:
        if isinstance(v, bool):
            return None
        try:
            f = float(v)
        except (TypeError, ValueError, OverflowError):
            return None
        if not math.isfinite(f) or abs(f) > _MAX_COORD:
            return None
        out.append(float(np.float32(f)))  # compared as returned: 2.7e-148 is 0 in float32
    x1, y1, x2, y2 = out
    x1, x2 = min(x1, x2), max(x1, x2)
    y1, y2 = min(y1, y2), max(y1, y2)
    if x2 <= x1 or y2 <= y1:
        return None
    return [x1, y1, x2, y2]


def _read_boxes(raws: Iterator[Any]) -> list[list[float]]:
    """The valid boxes among the first ``_MAX_BOXES`` candidates."""
    return [box for box in map(_as_box, itertools.islice(raws, _MAX_BOXES)) if box is not None]


def parse_boxes(text: str, max_boxes: int | None = None) -> np.ndarray:
    """Boxes ``float32[N, 4]`` (x1, y1, x2, y2, in the grounded image's pixels) from a grounding output.

    Reads ``bbox_2d`` (also ``bbox``) values from JSON objects anywhere in the text — a JSON list,
    ``` fences, one object per line, or inside ``<answer>`` when present; falls back to a regex for
    truncated JSON, then to bare ``[x1, y1, x2, y2]`` lists. Corners are reordered (x1 > x2 is
    swapped), boxes with a non-finite or absurd (> 1e7) value or no area are dropped, order of appearance is kept,
    and ``max_boxes`` keeps the first ones. At most the first 256 candidates of each kind are read
    (a grounding output never holds that many). Never raises on model output.

    >>> parse_boxes('```json\\n[{"bbox_2d": [30, 40, 10, 80], "label": "dog"}]\\n```')
    array([[10., 40., 30., 80.]], dtype=float32)
    >>> parse_boxes("no box here").shape
    (0, 4)
    """
    try:
        return _parse_boxes(text, max_boxes)
    except Exception:  # pragma: no cover - guarded by property tests
        return np.zeros((0, 4), dtype=np.float32)


def _parse_boxes(text: Any, max_boxes: int | None) -> np.ndarray:
    empty = np.zeros((0, 4), dtype=np.float32)
    if not isinstance(text, str) or not text.strip() or (max_boxes is not None and max_boxes <= 0):
        return empty
    if "<answer>" in text:
        region, _ = extract_answer(text)
        text = region or ""
    blocks, _ = json_blocks(text)
    raws = (next(norm[k] for k in _BOX_KEYS if k in norm)
            for _, norm in _walk_dicts((value for _, value, _ in blocks), _BOX_KEYS))
    boxes = _read_boxes(raws)
    if not boxes:
        boxes = _read_boxes(m.group(1) for m in _KEYED_BOX.finditer(text))
    if not boxes:
        boxes = _read_boxes(list(m.groups()) for m in _BARE_BOX.finditer(text))
    if max_boxes is not None:
        boxes = boxes[:max_boxes]
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4)


_POINT_KEYS = ("point_2d", "point")


def _as_point(value: Any) -> list[float] | None:
    if isinstance(value, str):
        value = [v for v in re.split(r"[,\s]+", value.strip()) if v]
    if not isinstance(value, (list, tuple)) or len(value) != 2 or any(isinstance(v, bool) for v in value):
        return None
    try:
        out = [float(v) for v in value]
    except (TypeError, ValueError, OverflowError):
        return None
    return out if all(math.isfinite(v) and abs(v) <= _MAX_COORD for v in out) else None


def parse_box_points(text: str) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """``(box float32[4], point float32[2] | None)`` per object of a VisionReasoner / Seg-Zero answer
    (``[{"bbox_2d": [...], "point_2d": [...]}, ...]``, inside ``<answer>`` when present), in order.

    Only objects with a valid box are returned (corners reordered, no area dropped, as
    `parse_boxes`); a missing or malformed ``point_2d`` gives ``None``. Never raises.

    >>> [(b.tolist(), p.tolist()) for b, p in parse_box_points(
    ...     '<think>two</think><answer>[{"bbox_2d": [10, 20, 50, 60], "point_2d": [30, 40]}]</answer>')]
    [([10.0, 20.0, 50.0, 60.0], [30.0, 40.0])]
    """
    try:
        if not isinstance(text, str) or not text.strip():
            return []
        if "<answer>" in text:
            region, _ = extract_answer(text)
            text = region or ""
        blocks, _ = json_blocks(text)
        out: list[tuple[np.ndarray, np.ndarray | None]] = []
        for _, norm in itertools.islice(_walk_dicts((v for _, v, _ in blocks), _BOX_KEYS), _MAX_BOXES):
            box = _as_box(next(norm[k] for k in _BOX_KEYS if k in norm))
            if box is None:
                continue
            raw = next((norm[k] for k in _POINT_KEYS if k in norm), None)
            point = _as_point(raw) if raw is not None else None
            out.append((np.asarray(box, np.float32), None if point is None else np.asarray(point, np.float32)))
        return out
    except Exception:  # pragma: no cover - model output never raises
        return []
