"""Reading stored evaluation records for notebook 05: per-type breakdowns, best/worst, failures.

>>> recs = [{"type": "reasoning", "JF": 0.5, "plan_ok": True, "boxes": [[]], "keyframes": [1]},
...         {"type": "reasoning", "JF": 1.0, "plan_ok": True, "boxes": [[[0, 0, 1, 1]]], "keyframes": [2]},
...         {"type": "referring", "JF": 0.0, "plan_ok": False, "boxes": [], "keyframes": []}]
>>> per_type(recs)
{'reasoning': 0.75, 'referring': 0.0}
>>> failure_counts(recs)["unparsable answer"], failure_counts(recs)["System 2 found nothing"]
(1, 1)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def method_records(run_dir: str | Path, method: str, splits: Sequence[str] | None = None) -> list[dict]:
    """Scored records of a method (error rows left out), over its stored splits."""
    from omni_r1_lite.evaluation.records import read_split_records

    mdir = Path(run_dir) / "eval" / method
    names = sorted({p.name.split(".")[0] for p in mdir.glob("*.jsonl")}) if mdir.is_dir() else []
    out = []
    for split in names:
        if splits is None or split in splits:
            out.extend(r for r in read_split_records(mdir, split) if not r.get("error"))
    return out


def null_probe(records: Sequence[dict]) -> dict[str, dict[str, float | int]]:
    """The null split as a hallucination probe, per kind of null expression (and ``"all"``).

    For each null record (the expression names something that is not in the clip): was it
    **rewritten** (a keyframe description other than the expression itself), was it rewritten
    **into something System 2 grounds** (rewritten, and a box found on some keyframe: System 1
    described an object as the one meant), and was anything **segmented** (a non-empty mask on
    some frame, whatever the reason: System 2 also guesses at a phrase it cannot read). Shares in %.

    >>> recs = [{"type": "null", "kind": "absent-sound", "expression": "the object making the beep",
    ...          "descriptions": ["the red circle"], "boxes": [[[1, 2, 3, 4]]], "pred_frames": 5},
    ...         {"type": "null", "kind": "absent", "expression": "the blue star",
    ...          "descriptions": ["The blue star."], "boxes": [[]], "pred_frames": 0},
    ...         {"type": "referring", "kind": "literal", "JF": 1.0}]
    >>> p = null_probe(recs)
    >>> p["absent-sound"]["grounded_rewrite"], p["absent"]["rewritten"], p["all"]["n"], p["all"]["segmented"]
    (100.0, 0.0, 2, 50.0)
    """
    from omni_r1_lite.systems.prompts import clean_description

    rows: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
    for r in records:
        if r.get("type") != "null":
            continue
        expr = clean_description(r.get("expression") or "")
        descriptions = [clean_description(d) for d in r.get("descriptions") or []]
        rewritten = any(d and d != expr for d in descriptions)
        found = any(len(b) for b in r.get("boxes") or [])
        outcome = (rewritten, rewritten and found, (r.get("pred_frames") or 0) > 0)
        rows[str(r.get("kind") or "null")].append(outcome)
        rows["all"].append(outcome)

    def share(values, i):
        return round(100 * float(np.mean([v[i] for v in values])), 1)

    return {k: {"n": len(v), "rewritten": share(v, 0), "grounded_rewrite": share(v, 1), "segmented": share(v, 2)}
            for k, v in sorted(rows.items(), key=lambda kv: (kv[0] == "all", kv[0]))}


def per_type(records: Sequence[dict]) -> dict[str, float]:
    """Mean J&F per expression type."""
    acc: dict[str, list[float]] = defaultdict(list)
    for r in records:
        acc[r["type"]].append(r["JF"])
    return {t: float(np.mean(v)) for t, v in sorted(acc.items())}


def target_and_null(records: Sequence[dict]) -> dict[str, float | None]:
    """The paper's split of the score: J&F (%) over samples whose target is there, and, apart, the
    share (%) of null samples on which nothing was segmented (J&F of an empty prediction is 100).

    Averaging the two would reward a method that never finds anything on the null clips.

    >>> target_and_null([{"type": "referring", "JF": 0.5}, {"type": "reasoning", "JF": 0.7},
    ...                  {"type": "null", "JF": 1.0}, {"type": "null", "JF": 0.0}])
    {'jf': 60.0, 'null_empty': 50.0}
    """
    present = [r["JF"] for r in records if r["type"] != "null"]
    null = [r["JF"] for r in records if r["type"] == "null"]
    return {"jf": round(100 * float(np.mean(present)), 1) if present else None,
            "null_empty": round(100 * float(np.mean([v >= 1.0 for v in null])), 1) if null else None}


def kind_gains(records: dict[str, Sequence[dict]], baseline: str = "uniform") -> list[dict]:
    """Per expression kind (OmniSynth's ``kind``, ReVOS/RefAVS records have none): ``n``, the
    baseline's J&F (%) and every other method's J&F minus it, paired by sample, rows sorted by type
    then kind. Shows *where* a policy's rewrites and keyframes gain or lose against the baseline.

    >>> recs = {"uniform": [{"sample_id": "a", "type": "reasoning", "kind": "largest", "JF": 0.4}],
    ...         "sft": [{"sample_id": "a", "type": "reasoning", "kind": "largest", "JF": 0.1}]}
    >>> kind_gains(recs)
    [{'type': 'reasoning', 'kind': 'largest', 'n': 1, 'uniform': 40.0, 'sft': -30.0}]
    """
    base = {r["sample_id"]: r for r in records.get(baseline, ()) if r.get("kind")}
    rows: dict[str, dict] = {}
    for r in base.values():
        row = rows.setdefault(r["kind"], {"type": r["type"], "kind": r["kind"], "ids": []})
        row["ids"].append(r["sample_id"])
    jf = {m: {r["sample_id"]: r["JF"] for r in recs} for m, recs in records.items() if m != baseline}
    out = []
    for row in sorted(rows.values(), key=lambda r: (r["type"], r["kind"])):
        ids = row.pop("ids")
        row["n"] = len(ids)
        row[baseline] = round(100 * float(np.mean([base[i]["JF"] for i in ids])), 1)
        for method, scores in jf.items():
            if all(i in scores for i in ids):
                row[method] = round(100 * float(np.mean([scores[i] - base[i]["JF"] for i in ids])), 1)
        out.append(row)
    return out


def paired_difference(a: Sequence[dict], b: Sequence[dict], resamples: int = 2000,
                      seed: int = 0) -> dict[str, float | int] | None:
    """J&F of method ``a`` minus method ``b`` (points, %) on the samples both scored whose target is
    there, paired by ``sample_id``, with a 95 % bootstrap interval over those samples.

    Two methods' means on a few hundred clips differ by a few points by chance alone (a clip's
    J&F is 0 or 1 as often as in between); the interval says whether an order is more than that.
    ``None`` when no sample is shared.

    >>> a = [{"sample_id": str(i), "type": "referring", "JF": 0.8} for i in range(50)]
    >>> b = [{"sample_id": str(i), "type": "referring", "JF": 0.8 - 0.1 * (i % 2)} for i in range(50)]
    >>> d = paired_difference(a, b)
    >>> d["diff"], d["n"], 0 < d["low"] <= 5.0 <= d["high"] < 10
    (5.0, 50, True)
    """
    from omni_r1_lite.stats import bootstrap_interval, paired_points

    d = np.array(paired_points(a, [r for r in b if r["type"] != "null"], lambda r: r["type"] != "null"), float)
    if not len(d):
        return None
    low, high = bootstrap_interval(d, n_boot=resamples, seed=seed)
    return {"diff": round(float(d.mean()), 1), "low": round(float(low), 1), "high": round(float(high), 1),
            "n": len(d)}


TYPE_GROUPS = {"referring": ("referring",), "reasoning": ("reasoning",), "audio-visual": ("audio-visual",),
               "reasoning + audio-visual": ("reasoning", "audio-visual")}
"""The expression-type groups per-type gains are reported for (issue 19: where RL should matter)."""


def type_gains(a: Sequence[dict], b: Sequence[dict], resamples: int = 2000,
               seed: int = 0) -> dict[str, dict[str, float | int]]:
    """`paired_difference` of ``a`` − ``b`` per `TYPE_GROUPS` group present in both (points, 95 %
    bootstrap interval over the group's samples).

    >>> a = [{"sample_id": str(i), "type": t, "JF": 0.9} for i, t in enumerate(["referring", "reasoning"] * 5)]
    >>> b = [dict(r, JF=0.5 if r["type"] == "reasoning" else 0.9) for r in a]
    >>> {k: v["diff"] for k, v in type_gains(a, b).items()}
    {'referring': 0.0, 'reasoning': 40.0, 'reasoning + audio-visual': 40.0}
    """
    out = {}
    for name, types in TYPE_GROUPS.items():
        d = paired_difference([r for r in a if r["type"] in types], [r for r in b if r["type"] in types],
                              resamples, seed)
        if d is not None:
            out[name] = d
    return out


def best_and_worst(records: Sequence[dict], k: int = 2) -> tuple[list[dict], list[dict]]:
    """The ``k`` best and ``k`` worst non-null samples by J&F."""
    scored = sorted((r for r in records if r["type"] != "null"), key=lambda r: r["JF"])
    return scored[::-1][:k], scored[:k]


def failure_counts(records: Sequence[dict], bad: float = 0.5) -> dict[str, int]:
    """Why samples fail (J&F below ``bad`` or unusable plans), one reason per sample, first match:
    an unparsable answer; no keyframe grounded by System 2 (the description names an object that is
    not there, or the target was not visible on the keyframes; a description the OmniSynth stand-in
    cannot read gets its best guess, a box); a low score despite boxes (wrong object or drift).
    Null expressions are left out (finding nothing is their right answer; the null split's S scores them)."""
    out = {"unparsable answer": 0, "System 2 found nothing": 0, "boxes but low J&F": 0, "ok": 0}
    for r in records:
        if r["type"] == "null":
            continue
        if not r.get("plan_ok"):
            out["unparsable answer"] += 1
        elif not any(len(b) for b in r.get("boxes", [])):
            out["System 2 found nothing"] += 1
        elif r["JF"] < bad:
            out["boxes but low J&F"] += 1
        else:
            out["ok"] += 1
    return out
