"""Fuzzing the readers of model output: generated completions through every parser and every reward.

Usage: ``python benchmarks/fuzz.py [--n 12000] [--seed 0] [--long-every 40] [--long-chars 100000]``.

Each completion goes through `check_format`, `parse_vos_answer`, `parse_avs_answer` and
`parse_boxes`, then, as a rollout of a VOS sample and of an AVS sample (System 2's boxes read from a
second fuzzed text, its masks random, empty, of the wrong shape or missing), through every function in
`omni_r1_lite.rewards.REWARDS`, called directly (not through `safe_value`, so that an exception is
seen); every 4 completions are also scored as a group with `score_group` and `group_advantages`.
An exception anywhere or a non-finite value is counted and its first cases printed.

The completions come from six generators (all seeded): well-formed answers (`format_vos_answer`)
edited at random (deletions, insertions, duplicated or swapped slices); token soup (tags, braces,
quotes, escapes, special tokens, numbers such as ``1e400``, ``NaN``, a 400-digit integer); JSON
moments whose fields have the wrong types or absurd values; free text (AVS rewrites, unicode,
control characters); grounding-style box lists; and every ``--long-every``-th one a
``--long-chars``-character adversarial repetition (``{}``, ``{`` unclosed, deep nesting, many
moments, bare-key blocks, ``<|im_end|>`` tails, ...). Times are per completion and per path, as a
run reads it: VOS (`check_format` + `parse_vos_answer` + every reward on a sample with targets and
on a null one), AVS (`check_format` + `parse_avs_answer` + every reward) and grounding
(`parse_boxes`); preparing System 2's output and the group score are not timed. Wall clock with the garbage collector paused (collected every 100 completions, outside
the timings), after an untimed warm-up on 60 completions of another seed (first-call imports such
as scipy's assignment solver and regex compiles are not the readers' cost).

Prints a summary, then ONE JSON object on the last line:
``{"completions", "exceptions", "non_finite", "p50_ms", "p99_ms", "max_ms", "parse_max_ms",
"longest_chars", "slowest", "targets_met"}`` (targets: exceptions 0, non-finite 0, p99 ≤ 20 ms,
max ≤ 50 ms).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, installed or not

from omni_r1_lite.config import RewardConfig  # noqa: E402
from omni_r1_lite.rewards import REWARDS  # noqa: E402
from omni_r1_lite.rewards.functions import RewardInput  # noqa: E402
from omni_r1_lite.rewards.group import group_advantages, score_group  # noqa: E402
from omni_r1_lite.rewards.truth import GroundTruth  # noqa: E402
from omni_r1_lite.systems.parsing import check_format, parse_avs_answer, parse_boxes, parse_vos_answer  # noqa: E402
from omni_r1_lite.systems.pipeline import Rollout  # noqa: E402
from omni_r1_lite.systems.prompts import format_vos_answer  # noqa: E402

TARGETS = {"exceptions": 0, "non_finite": 0, "p99_ms": 20.0, "max_ms": 50.0}
FRAMES, SIZE = 8, 24

_SOUP = ["<think>", "</think>", "<answer>", "</answer>", "<|im_end|>", "<|endoftext|>", "{", "}", "[", "]",
         '"', "'", "\\", "\\\"", ":", ",", " ", "\n", "\t", "\x0c", "\x00", "start_time", "end_time",
         "description", '"start_time": ', '"end_time": ', '"description": ', '"00:01.50"', '"00:99.99"',
         '"1.5"', "1e400", "-1", "NaN", "Infinity", "9" * 400, "null", "true", "0x10", "é", "🙂", "\u202e",
         '"the red circle"', "bbox_2d", "[1, 2, 3, 4]", "[nan, 0, 1, 1]", "{}", "{ }", "'a'", "a:"]
_ODD_VALUES = [None, True, False, 0, -1, 1.5, 1e308, -1e308, 10**400, "", " ", "00:01.50", "00:00", "1:2:3:4",
               "00:-1.00", "99:99.99", "1.5s", "soon", "NaN", [1, 2], {"a": 1}, "x" * 500, "\u0000"]
_LONG = [
    lambda n: "{}" * (n // 2),
    lambda n: "{" * n,
    lambda n: "}" * n,
    lambda n: '{"a":' * (n // 5) + "1" + "}" * (n // 5),
    lambda n: '{"a": [' * (n // 7) + "1" + "]}" * (n // 7),
    lambda n: '{"start_time": "00:01.00", "end_time": "00:01.00", "description": "x"}' * (n // 70),
    lambda n: '{"moments": [' + ", ".join(['{"start_time": 1, "end_time": 1.5, "description": "x"}'] * (n // 56)) + "]}",
    lambda n: "{x:y,}" * (n // 6),
    lambda n: '"{' * (n // 2),
    lambda n: '\\"{' * (n // 3),
    lambda n: "<think>a</think><answer>" + '{"start_time": "00:01.00", "end_time": "00:01.00", "description": "x"}'
    + "</answer>" + "<|im_end|>" * (n // 10),
    lambda n: "<think><answer>" * (n // 15),
    lambda n: '{"start_time": "' + "9" * n + '"}',
    lambda n: "[1,2,3,4]" * (n // 9),
    lambda n: '"bbox_2d": [' * (n // 12),
    lambda n: "{" + ":" * (n - 2) + "}",
    lambda n: ("{" + "a:" * 1999 + "}") * (n // 4000),
    lambda n: '{"a":"' + "\\" * n + '"}',
]


def _well_formed(rng: random.Random) -> str:
    k = rng.randint(1, 6)
    frames = sorted(rng.sample(range(FRAMES), min(k, FRAMES)))
    text = format_vos_answer(frames, [rng.choice(["the red circle", "it", "the dog on the left", ""]) for _ in frames],
                             think=rng.choice(["", "it moves", "x" * rng.randint(0, 300)]))
    for _ in range(rng.randint(0, 6)):
        i, j = sorted(rng.randrange(len(text) + 1) for _ in range(2))
        op = rng.randrange(4)
        if op == 0:
            text = text[:i] + text[j:]
        elif op == 1:
            text = text[:i] + rng.choice(_SOUP) + text[i:]
        elif op == 2:
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i] + text[j:] + text[i:j]
    return text


def _soup(rng: random.Random) -> str:
    return "".join(rng.choice(_SOUP) for _ in range(rng.randint(0, 120)))


def _odd_json(rng: random.Random) -> str:
    moments = []
    for _ in range(rng.randint(0, 5)):
        m = {key: rng.choice(_ODD_VALUES) for key in ("start_time", "end_time", "description") if rng.random() < 0.85}
        if rng.random() < 0.2:
            m = {k.upper() if rng.random() < 0.5 else f" {k} ": v for k, v in m.items()}
        moments.append(m)
    shape = rng.randrange(3)
    body = (json.dumps(moments) if shape == 0 else json.dumps({"moments": moments}) if shape == 1
            else "\n".join(json.dumps(m) for m in moments))
    return f"<think>{rng.choice(['', 'hm'])}</think><answer>{body}</answer>"


def _free_text(rng: random.Random) -> str:
    chars = "abc xyz.,'\"()[]\n\t\x0b\x1f" + "éß漢字🙂\u200b\u202e"
    words = "".join(rng.choice(chars) for _ in range(rng.randint(0, 200)))
    return rng.choice(["<think>t</think><answer>{}</answer>", "<answer>{}", "{}", "<think>{}</think>"]).format(words)


def _boxes_text(rng: random.Random) -> str:
    boxes = [[rng.choice([rng.uniform(-50, 80), 0, 1e9, float("nan"), float("inf")]) for _ in range(4)]
             for _ in range(rng.randint(0, 6))]
    style = rng.randrange(3)
    if style == 0:
        return json.dumps([{"bbox_2d": b, "label": "x"} for b in boxes])
    if style == 1:
        return "```json\n" + "\n".join(json.dumps({"bbox": b}) for b in boxes) + "\n```"
    return " ".join(str(b) for b in boxes)


_KINDS = (_well_formed, _soup, _odd_json, _free_text, _boxes_text)


def completions(n: int, seed: int, long_every: int, long_chars: int):
    """``(kind, text)`` pairs: ``n`` completions from the generators above, seeded."""
    rng = random.Random(seed)
    for i in range(n):
        if long_every and i % long_every == long_every - 1:
            j = (i // long_every) % len(_LONG)
            yield f"long_{j}", _LONG[j](long_chars)[:long_chars]
        else:
            gen = _KINDS[i % len(_KINDS)]
            yield gen.__name__.strip("_"), gen(rng)


def _truths(seed: int) -> tuple[GroundTruth, GroundTruth, GroundTruth]:
    """A VOS truth with two targets, a null VOS truth, and an AVS truth."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((2, FRAMES, SIZE, SIZE), dtype=bool)
    for o in range(2):
        for t in range(FRAMES):
            if rng.random() < 0.8:
                y, x = rng.integers(0, SIZE - 6, 2)
                masks[o, t, y:y + 6, x:x + 6] = True
    null = np.zeros((1, FRAMES, SIZE, SIZE), dtype=bool)
    return GroundTruth.from_masks(masks), GroundTruth.from_masks(null), GroundTruth.from_masks(masks[:1], task="AVS")


def _system2(rng: random.Random, keyframes, own_boxes: np.ndarray) -> tuple[dict, np.ndarray | None]:
    """System 2's output for a rollout: per keyframe the boxes read from the completion itself or
    from a fuzzed grounding text, and masks that are missing, empty, of the wrong shape or random."""
    boxes = {k: own_boxes if rng.random() < 0.5 else parse_boxes(_boxes_text(rng)) for k in keyframes}
    choice = rng.randrange(5)
    if choice == 0:
        masks = None
    elif choice == 1:
        masks = np.zeros((FRAMES, SIZE, SIZE), dtype=bool)
    elif choice == 2:
        masks = np.zeros((FRAMES - 1, SIZE, SIZE), dtype=bool)  # a broken System 2: wrong shape
    else:
        masks = np.random.default_rng(rng.randrange(2**32)).random((FRAMES, SIZE, SIZE)) < 0.1
    return boxes, masks


def fuzz(n: int = 12000, seed: int = 0, long_every: int = 40, long_chars: int = 100_000) -> dict:
    cfg = RewardConfig()
    vos, null, avs = _truths(seed)
    rng = random.Random(seed + 1)
    failures: Counter = Counter()
    examples: list[str] = []
    non_finite = 0
    times, parse_times = [], []
    slowest = ("", 0.0)
    longest = 0
    group: list[tuple[Rollout, bool | None]] = []

    def fail(where: str, text: str, error: BaseException | str) -> None:
        failures[where] += 1
        if len(examples) < 5:
            examples.append(f"{where}: {error!r} on {text[:120]!r}")

    def timed(where: str, text: str, fn, *args):
        """``(fn(*args), seconds)``; an exception is counted (value ``None``)."""
        t0 = time.perf_counter()
        try:
            value = fn(*args)
        except Exception as e:  # counted: nothing that reads model output may raise
            fail(where, text, e)
            value = None
        return value, time.perf_counter() - t0

    def rewards(rollout: Rollout, truth: GroundTruth, finished, text: str) -> float:
        """Every registered reward on one rollout; returns the seconds spent in them."""
        nonlocal non_finite
        x = RewardInput(rollout, truth, finished, rng.randint(1, 2048))
        spent = 0.0
        for name, fn in REWARDS.items():
            value, dt = timed(name, text, lambda fn=fn: float(fn(x, cfg)))
            spent += dt
            if value is not None and not math.isfinite(value):
                non_finite += 1
                fail(f"{name} non-finite", text, str(value))
        return spent

    def rollout_of(text: str, plan, own_boxes) -> Rollout:
        keyframes = tuple(plan.keyframes) if plan.ok else ()
        boxes, masks = _system2(rng, keyframes, own_boxes)  # not timed: the input, not the readers
        return Rollout(text, plan, keyframes, tuple(plan.descriptions) if plan.ok else (), boxes, masks)

    stream = itertools.chain(((None, t) for _, t in completions(60, seed + 10**6, 3, 2000)),
                             completions(n, seed, long_every, long_chars))
    gc.disable()
    try:
        for count, (kind, text) in enumerate(stream, -59):
            longest = max(longest, len(text))
            finished = rng.choice([True, False, None])
            # grounding: System 2's text through the box reader
            own_boxes, t_ground = timed("parse_boxes", text, parse_boxes, text)
            own_boxes = own_boxes if own_boxes is not None else np.zeros((0, 4), np.float32)
            # VOS: the format check, the plan, every reward on a sample with targets and on a null one
            _, t_format = timed("check_format", text, check_format, text)
            plan, t_vos = timed("parse_vos_answer", text, parse_vos_answer, text, FRAMES)
            t_vos_total = t_format + t_vos
            if plan is not None:
                rollout = rollout_of(text, plan, own_boxes)
                t_vos_total += rewards(rollout, vos, finished, text) + rewards(rollout_of(text, plan, own_boxes),
                                                                               null, finished, text)
                group.append((rollout, finished))
            # AVS: the format check, the rewrite, every reward on an AVS sample
            plan, t_avs = timed("parse_avs_answer", text, parse_avs_answer, text)
            t_avs_total = t_format + t_avs
            if plan is not None:
                t_avs_total += rewards(rollout_of(text, plan, own_boxes), avs, finished, text)
            if len(group) == 4:  # a group score is checked, not timed
                try:
                    rows = score_group(vos, [r for r, _ in group], cfg, finished=[f for _, f in group])
                    values = [b.total for b in rows] + group_advantages([b.total for b in rows]).tolist()
                    if not all(math.isfinite(v) for v in values):
                        non_finite += 1
                        fail("score_group non-finite", text, str(values))
                except Exception as e:
                    fail("score_group", text, e)
                group = []
            if kind is None:  # warm-up: not timed (its failures count)
                continue
            for path, seconds in (("vos", t_vos_total), ("avs", t_avs_total), ("grounding", t_ground)):
                ms = seconds * 1000
                times.append(ms)
                if ms > slowest[1]:
                    slowest = (f"{kind} ({path})", ms)
            parse_times.append(max(t_vos, t_avs, t_ground) * 1000)
            if count % 100 == 0:
                gc.collect()
            if count % 2000 == 0:
                print(f"  {count}/{n} completions, {sum(failures.values())} failures, max {max(times):.1f} ms",
                      flush=True)
    finally:
        gc.enable()
    t = np.asarray(times)
    result = {
        "completions": len(parse_times),
        "exceptions": sum(v for k, v in failures.items() if "non-finite" not in k),
        "non_finite": non_finite,
        "p50_ms": round(float(np.percentile(t, 50)), 3),
        "p99_ms": round(float(np.percentile(t, 99)), 3),
        "max_ms": round(float(t.max()), 3),
        "parse_max_ms": round(float(max(parse_times)), 3),
        "longest_chars": longest,
        "slowest": slowest[0],
    }
    result["targets_met"] = all(result[k] <= v for k, v in TARGETS.items())
    for line in examples:
        print("  first failures:", line)
    return result


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--long-every", type=int, default=40, help="every k-th completion is a long adversarial one")
    ap.add_argument("--long-chars", type=int, default=100_000)
    args = ap.parse_args(argv)
    result = fuzz(args.n, args.seed, args.long_every, args.long_chars)
    print(f"{result['completions']} completions (longest {result['longest_chars']} characters): "
          f"{result['exceptions']} exceptions, {result['non_finite']} non-finite values; per completion "
          f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms "
          f"(slowest: {result['slowest']}); targets {TARGETS}: {'met' if result['targets_met'] else 'NOT met'}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
