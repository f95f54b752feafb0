"""OmniSynth-QA on the cpu-demo policies: does GRPO on segmentation change what System 1 says exists?

    python benchmarks/hallucination.py [--run-dir runs/cpu-demo] [--data-dir data] [--max-questions N]

Needs a cpu-demo run (``omni-r1-lite reproduce --preset cpu-demo``: ``<run>/sft`` and
``<run>/grpo/adapter``). Evaluates ``base``, ``sft`` and ``grpo`` on every OmniSynth-QA question of
the held-out clips twice: with the paper's protocol (``generate``: greedy text, answer extracted;
the tiny policies were trained only to segment, so their text is almost never an answer, and those
answers count as wrong) and with ``choice`` scoring (the allowed answer the model finds most likely,
which measures a yes-bias even when the model never writes one). Records go to
``<run>/eval/<method>/qa-omnisynth-qa[-choice].jsonl`` and resume.

Prints a table per scoring, then one JSON object on the last line::

    {"questions": n, "scoring": "choice",
     "methods": {"base"|"sft"|"grpo": {"accuracy": a, "yes_rate_absent": y, "yes_rate_present": z,
                                       "ci": {...}, "unreadable_generate": u, "accuracy_generate": g}},
     "grpo_minus_sft_yes_rate_absent": {"value": v, "low": lo, "high": hi}}

(values are fractions; intervals are 95 % bootstrap over questions).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from omni_r1_lite.config import get_preset  # noqa: E402
from omni_r1_lite.evaluation.qa import QAEvaluator, load_questions, qa_table  # noqa: E402

METHODS = ("base", "sft", "grpo")


def _paired_difference(a: list[dict], b: list[dict], n_boot: int = 2000, seed: int = 0) -> dict:
    """GRPO − SFT yes-rate on absent things, paired over the same questions (bootstrap)."""
    ya = {r["sample_id"]: float(r.get("prediction") == "yes") for r in a if r.get("absent") is True}
    yb = {r["sample_id"]: float(r.get("prediction") == "yes") for r in b if r.get("absent") is True}
    ids = sorted(set(ya) & set(yb))
    d = np.array([ya[i] - yb[i] for i in ids])
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(1) if len(d) else np.array([np.nan])
    return {"value": float(d.mean()) if len(d) else float("nan"), "low": float(np.quantile(boots, 0.025)),
            "high": float(np.quantile(boots, 0.975)), "n": len(d)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run-dir", default="runs/cpu-demo")
    ap.add_argument("--data-dir", default="data")
    ap.add_argument("--max-questions", type=int, default=None)
    args = ap.parse_args(argv)
    cfg = get_preset("cpu-demo")
    t0 = time.time()
    questions = list(load_questions("omnisynth-qa", cfg, args.data_dir))
    if args.max_questions:
        questions = questions[: args.max_questions]
    out: dict = {"questions": len(questions), "scoring": "choice", "methods": {}}
    records: dict[str, dict[str, list]] = {"generate": {}, "choice": {}}
    for scoring in ("generate", "choice"):
        summaries = {}
        for method in METHODS:
            ev = QAEvaluator(cfg, args.data_dir, args.run_dir, method, "omnisynth-qa", scoring=scoring,
                             questions=questions, progress=True, overwrite=True)
            res = ev.run(rank=0, world_size=1)
            records[scoring][method] = res.records
            summaries[method] = res.summary()
        print(f"\nOmniSynth-QA, {scoring} scoring ({len(questions)} questions)\n")
        print(qa_table(summaries, "omnisynth-qa"))
        for method, s in summaries.items():
            m = out["methods"].setdefault(method, {})
            if scoring == "choice":
                m.update(accuracy=s["accuracy"]["value"], yes_rate_absent=s["yes_rate_absent"]["value"],
                         yes_rate_present=s["yes_rate_present"]["value"],
                         ci={k: [s[k]["low"], s[k]["high"]] for k in ("accuracy", "yes_rate_absent",
                                                                       "yes_rate_present")},
                         by_task={t: v["value"] for t, v in s["by_task"].items()})
            else:
                m.update(accuracy_generate=s["accuracy"]["value"], unreadable_generate=s["unreadable"])
    yn = [q for q in questions if q.format == "yes/no"]
    out["yes_no"] = {"questions": len(yn), "absent": sum(q.answer == "no" for q in yn),
                     "present": sum(q.answer == "yes" for q in yn)}
    out["grpo_minus_sft_yes_rate_absent"] = _paired_difference(records["choice"]["grpo"], records["choice"]["sft"])
    out["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
