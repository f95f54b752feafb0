"""Learning you can see on a CPU: GRPO after an SFT warm start vs SFT-only and a continue-SFT control.

    python benchmarks/learning.py [--seeds 0 1 2] [--no-perception-seeds 0] [--data-dir DIR] [--out DIR]

A seed whose ``result.json`` is already in ``--out`` is read, not rerun: an interrupted run resumes
with its finished seeds, and seeds can be spread over processes sharing one ``--out`` (each with
its own ``--seeds``), then summarised together by a last call naming them all.

The cpu-demo preset (tiny thinker, OmniSynth, stand-in System 2, perception track on). For each seed:
full-parameter SFT on imperfect targets, then (a) LoRA GRPO, (b) the same number of further SFT
steps; greedy held-out keyframe quality and J&F of SFT-only, GRPO and continue-SFT on the held-out
clips (the seen and unseen test splits; ``--validation F``: a fraction of the training clips held
out instead, for choosing settings). The same experiment without the perception track (pixels
and audio only) is reported beside it, not gated. Prints tables, then the figures as one JSON object
on the last line. Target: mean quality gain of GRPO over SFT-only ≥ +0.05 and a higher J&F than both.

What RL should add (issue 19, ``mechanism_target``): under ``perception_track.mean.<method>``,
``jf_by_type`` (referring, reasoning, audio-visual, null), ``null_empty`` and
``quality_minus_best_fixed`` (each answer against the best fixed keyframe set of as many frames,
chosen on the training samples); ``perception_track.grpo_minus_sft.reasoning_av = {"value", "low",
"high", "n"}`` (J&F points, 95 % bootstrap over the samples pooled across seeds).
``mechanism_target`` holds each criterion as true, false or null (not measured: ``--validation``
runs have no null clips).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> dict:
    from omni_r1_lite.config import apply_overrides, get_preset
    from omni_r1_lite.grpo.experiment import TYPES, MechanismTarget, Target, run_seed, summarise

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--no-perception-seeds", type=int, nargs="*", default=[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--max-heldout", type=int, default=None, help="held-out samples (default: all)")
    ap.add_argument("--set", nargs="*", default=[], help="config overrides section.field=value")
    ap.add_argument("--methods", nargs="+", default=["sft", "grpo", "continue-sft"],
                    help="what to train and evaluate (continue-sft is the control)")
    ap.add_argument("--sft-from", default=None,
                    help="a learning.py --out of the same SFT settings: reuse its seed<N>/sft model")
    ap.add_argument("--validation", type=float, default=None,
                    help="evaluate on this fraction of the training clips, held out (for choosing settings)")
    args = ap.parse_args(argv)
    cfg = apply_overrides(get_preset("cpu-demo"), args.set)
    data = Path(args.data_dir or tempfile.mkdtemp(prefix="learning-data-"))
    out = Path(args.out or tempfile.mkdtemp(prefix="learning-"))
    def seed_run(folder: Path, seed: int, **kw) -> dict:
        done = folder / "result.json"
        if done.exists():
            return json.loads(done.read_text())
        sft_from = None
        if args.sft_from:
            sft_from = Path(args.sft_from) / folder.name / "sft"
        return run_seed(cfg, data, folder, seed=seed, max_heldout=args.max_heldout, validation=args.validation,
                        methods=tuple(args.methods), sft_from=sft_from, **kw)

    with_track = [seed_run(out / f"seed{s}", s) for s in args.seeds]
    without = [seed_run(out / f"pixels-seed{s}", s, use_perception=False) for s in args.no_perception_seeds]
    summary = summarise(with_track)
    mechanism = MechanismTarget().check(summary)
    result = {"perception_track": summary, "target_met": Target().met(summary), "mechanism_target": mechanism,
              "overrides": list(args.set), "validation": args.validation,
              "heldout_samples": with_track[0]["heldout"], "heldout_clips": with_track[0]["heldout_clips"],
              "config": with_track[0]["config"]}
    if without:
        result["pixels_and_audio_only"] = summarise(without)
    print("| run | method | keyframe quality | J&F | format |\n|---|---|---|---|---|")
    for name, s in (("perception track", summary), ("pixels + audio", result.get("pixels_and_audio_only"))):
        for m, v in (s or {}).get("mean", {}).items():
            print(f"| {name} | {m} | {v['quality']:.3f} | {v['jf']:.3f} | {v['format_ok']:.2f} |")
    print("\n| method | " + " | ".join(TYPES) + " | null empty | quality − best fixed |\n|---|" + "---|" * (len(TYPES) + 2))
    for m, v in summary["mean"].items():
        cells = [f"{100 * v['jf_by_type'][t]:.1f}" if t in v["jf_by_type"] else "–" for t in TYPES]
        ne, qf = v.get("null_empty"), v.get("quality_minus_best_fixed")
        print(f"| {m} | " + " | ".join(cells) + f" | {'–' if ne is None else f'{ne:.2f}'} | "
              f"{'–' if qf is None else f'{qf:+.3f}'} |")
    for k, g in summary.get("grpo_minus_sft", {}).items():
        print(f"GRPO − SFT, {k}: {g['value']:+.1f} J&F points [{g['low']:+.1f}, {g['high']:+.1f}] (n = {g['n']})")
    print("mechanism target:", mechanism)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
