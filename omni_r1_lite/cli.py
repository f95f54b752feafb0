"""The ``omni-r1-lite`` command line.

    omni-r1-lite reproduce --preset cpu-demo     run the notebooks headless into a run folder
    omni-r1-lite env                             versions, device, which presets can run here
    omni-r1-lite presets [--show NAME]           list presets / print one resolved config
    omni-r1-lite synth OUT_DIR                   generate OmniSynth
    omni-r1-lite evaluate --preset P --method M  benchmark a method into <run>/eval/ (resumable)
    omni-r1-lite evaluate --benchmark avhbench --method grpo [--think]  question answering (Tables 3, 8)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


class UserError(Exception):
    """A mistake in how the kit was called: printed as one line (no traceback), exit status 2."""


def _data_dir(value: str | None) -> str | None:
    """``--data-dir`` as given; one whose parent folder does not exist is a typo, not a place to create."""
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.exists() and not path.parent.exists():
        raise UserError(f"--data-dir {value}: neither it nor its parent folder {path.parent} exists "
                        "(create the parent first if this is really where the data should go)")
    return str(path)


def _check_machine(preset: str, data_dir: str | None) -> None:
    """Refuse a preset this machine cannot run (a GPU preset on a CPU) before any notebook starts."""
    from omni_r1_lite.config import get_preset
    from omni_r1_lite.envcheck import Machine, check_preset

    res = check_preset(get_preset(preset), Machine.detect(), data_dir)
    hard = [r for r in res.reasons if "GPU" in r or "CUDA" in r or "cuda" in r]
    if hard:
        raise UserError(f"preset {preset!r} cannot run on this machine: {'; '.join(hard)} "
                        "(`omni-r1-lite env` lists what can; the CPU presets are smoke, smoke-revos, cpu-demo)")


def _cmd_reproduce(args) -> int:
    from omni_r1_lite.notebook import reproduce
    from omni_r1_lite.repro import default_run_dir

    data_dir = _data_dir(args.data_dir)
    _check_machine(args.preset, data_dir)
    run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(args.preset)
    results = reproduce(args.preset, run_dir, data_dir=data_dir, only=args.only)
    ok = [r for r in results if r.status == "ok"]
    missing = [r.notebook for r in results if r.status == "missing"]
    failed = [r for r in results if r.status == "failed"]
    ran = [r for r in results if r.status != "missing"]
    print(f"\nran {len(ran)} notebook(s) ({len(ok)} ok) into {run_dir.resolve()} (report: {run_dir / 'report.md'})")
    if missing:
        print("not there yet: " + ", ".join(missing))
    if failed:
        print("FAILED: " + ", ".join(f"{r.notebook} ({r.error})" for r in failed), file=sys.stderr)
        return 1
    return 0


def _cmd_env(args) -> int:
    from omni_r1_lite.envcheck import Machine, check_all
    from omni_r1_lite.repro import environment_record

    rec = environment_record()
    print(json.dumps(rec, indent=2))
    machine = Machine.detect()
    for r in check_all(machine, args.data_dir):
        why = "; ".join(r.reasons) if r.reasons else "ok"
        print(f"{r.preset:14s} {'yes' if r.ok else 'no ':4s} {why}")
    return 0


def _cmd_presets(args) -> int:
    from omni_r1_lite.config import PRESETS, describe, get_preset

    if args.show:
        for name, value, doc in describe(get_preset(args.show)):
            print(f"{name:40s} {value!r:36s} {doc}")
        return 0
    for name in PRESETS:
        cfg = get_preset(name)
        print(f"{name:14s} {cfg.description}")
    return 0


def _cmd_evaluate(args) -> int:
    from omni_r1_lite.config import get_preset
    from omni_r1_lite.evaluation import Evaluator, results_table
    from omni_r1_lite.repro import default_run_dir

    try:
        cfg = get_preset(args.preset, args.set or None)
    except (KeyError, ValueError) as e:
        raise UserError(f"--set {' '.join(args.set or [])}: {e.args[0] if e.args else e}") from None
    run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(args.preset)
    data_dir = Path(_data_dir(args.data_dir) or cfg.data.data_dir)
    splits = args.split or None
    if args.benchmark:
        return _evaluate_qa(args, cfg, data_dir, run_dir)
    rank0 = True
    for method in args.method:
        try:
            ev = Evaluator(cfg, data_dir, run_dir, method, adapter=args.adapter, strict=args.strict,
                           max_samples=args.max_samples, overwrite=args.overwrite, progress=not args.no_progress,
                           validate=not args.no_validate)
        except ValueError as e:  # a setting that cannot work (the stand-in on real data, a protocol name)
            raise UserError(str(e)) from None
        for res in ev.run(splits).values():
            rank0 = ev.rank == 0
            if rank0:
                print(f"{method} {res.split}: {len(res.scored)} scored, {len(res.errors)} error(s) -> {res.path}")
    if rank0:
        print()
        print(results_table(run_dir))
    return 0


def _evaluate_qa(args, cfg, data_dir: Path, run_dir: Path) -> int:
    """``evaluate --benchmark NAME``: System 1 answering questions (`omni_r1_lite.evaluation.qa`)."""
    from omni_r1_lite.evaluation.methods import MODEL_METHODS
    from omni_r1_lite.evaluation.qa import QAEvaluator, qa_table

    bad = [m for m in args.method if m not in MODEL_METHODS]
    if bad:
        raise UserError(f"--benchmark {args.benchmark} needs model methods ({', '.join(MODEL_METHODS)}), not "
                        + ", ".join(bad))
    summaries, rank0 = {}, True
    for method in args.method:
        ev = QAEvaluator(cfg, data_dir, run_dir, method, args.benchmark, think=args.think, scoring=args.scoring,
                         subtitles=args.subtitles, adapter=args.adapter, max_samples=args.max_samples,
                         overwrite=args.overwrite, progress=not args.no_progress)
        res = ev.run()
        rank0 = ev.rank == 0
        if rank0:
            s = summaries[method] = res.summary()
            print(f"{method} {ev.name}: {s['questions']} questions, accuracy {100 * s['accuracy']['value']:.1f} %, "
                  f"{s['unreadable']} unreadable, {s['errors']} error(s) -> {res.path}")
    if rank0:
        print()
        print(qa_table(summaries, args.benchmark))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="omni-r1-lite", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    from omni_r1_lite.config import PRESETS

    presets = list(PRESETS)
    preset_help = "one of " + ", ".join(presets) + " (default: %(default)s; `omni-r1-lite presets` describes them)"
    r = sub.add_parser("reproduce", help="run the notebooks headless into a run folder")
    r.add_argument("--preset", default="cpu-demo", choices=presets, metavar="PRESET", help=preset_help)
    r.add_argument("--run-dir", default=None, help="default: runs/<preset>")
    r.add_argument("--data-dir", default=None, help="default: the preset's data_dir")
    r.add_argument("--only", nargs="*", default=None, help="notebook prefixes, e.g. 00 01")
    r.set_defaults(func=_cmd_reproduce)

    e = sub.add_parser("env", help="versions, device and which presets this machine can run")
    e.add_argument("--data-dir", default=None)
    e.set_defaults(func=_cmd_env)

    s = sub.add_parser("presets", help="list the presets, or show one resolved config")
    s.add_argument("--show", default=None, choices=presets, metavar="PRESET", help="print one preset's fields")
    s.set_defaults(func=_cmd_presets)

    v = sub.add_parser("evaluate", help="benchmark a method on the preset's eval splits (resumable)")
    v.add_argument("--preset", default="cpu-demo", choices=presets, metavar="PRESET", help=preset_help)
    v.add_argument("--method", nargs="+", required=True,
                   choices=["uniform", "oracle", "base", "sft", "grpo", "omni-r1"])
    v.add_argument("--split", nargs="*", default=None, help="default: the preset's data.eval_splits")
    v.add_argument("--run-dir", default=None, help="default: runs/<preset>")
    v.add_argument("--data-dir", default=None, help="default: the preset's data_dir")
    v.add_argument("--adapter", default=None, help="model or adapter folder for sft/grpo (default: in the run)")
    v.add_argument("--max-samples", type=int, default=None, help="first N samples per split")
    v.add_argument("--set", nargs="*", default=None, metavar="SECTION.FIELD=VALUE", help="config overrides")
    v.add_argument("--strict", action="store_true", help="stop at the first bad sample instead of an error row")
    v.add_argument("--overwrite", action="store_true", help="discard stored results of other weights/config")
    v.add_argument("--no-progress", action="store_true", help="no progress bar")
    v.add_argument("--no-validate", action="store_true",
                   help="do not decode each sample's frames, masks and audio before running it")
    from omni_r1_lite.data.qa import QA_BENCHMARKS

    v.add_argument("--benchmark", default=None, choices=QA_BENCHMARKS,
                   help="a question-answering benchmark instead of the preset's segmentation splits")
    v.add_argument("--think", action="store_true", help="QA: the thinking prompt (the paper's headline rows)")
    v.add_argument("--scoring", default="generate", choices=("generate", "choice"),
                   help="QA: greedy text + answer extraction (the paper's), or the most likely allowed answer")
    v.add_argument("--subtitles", action="store_true", help="QA, VideoMME: with subtitles")
    v.set_defaults(func=_cmd_evaluate)

    sub.add_parser("synth", help="generate OmniSynth into OUT_DIR (omni-r1-lite synth --help)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["synth"]:  # the generator owns its options (omni-r1-lite synth --help)
        from omni_r1_lite.data import omnisynth

        return int(omnisynth.main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    from omni_r1_lite.data.schema import DataError
    from omni_r1_lite.evaluation.methods import MissingWeightsError

    try:
        return int(args.func(args) or 0)
    except (UserError, MissingWeightsError, DataError) as e:  # what the user can fix: one line
        print(f"omni-r1-lite {args.cmd}: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        from omni_r1_lite.notebook import ReproduceInterrupted

        where = f" during {e.notebook}; the report ({e.report}) says so" if isinstance(e, ReproduceInterrupted) else ""
        print(f"\nomni-r1-lite {args.cmd}: interrupted (Ctrl-C){where}. Run the same command again to go on: "
              "finished work is kept and every resume says so.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
