"""The ``omni-r1-lite`` command line.

    omni-r1-lite reproduce --preset cpu-demo     run the notebooks headless into a run folder
    omni-r1-lite env                             versions, device, which presets can run here
    omni-r1-lite presets [--show NAME]           list presets / print one resolved config
    omni-r1-lite synth OUT_DIR                   generate OmniSynth
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _cmd_reproduce(args) -> int:
    from omni_r1_lite.notebook import reproduce
    from omni_r1_lite.repro import default_run_dir

    run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(args.preset)
    results = reproduce(args.preset, run_dir, data_dir=args.data_dir, only=args.only)
    ok = [r for r in results if r.status == "ok"]
    missing = [r.notebook for r in results if r.status == "missing"]
    failed = [r for r in results if r.status == "failed"]
    print(f"\nran {len(ok)} notebook(s) into {run_dir.resolve()} (report: {run_dir / 'report.md'})")
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="omni-r1-lite", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("reproduce", help="run the notebooks headless into a run folder")
    r.add_argument("--preset", default="cpu-demo")
    r.add_argument("--run-dir", default=None, help="default: runs/<preset>")
    r.add_argument("--data-dir", default=None, help="default: the preset's data_dir")
    r.add_argument("--only", nargs="*", default=None, help="notebook prefixes, e.g. 00 01")
    r.set_defaults(func=_cmd_reproduce)

    e = sub.add_parser("env", help="versions, device and which presets this machine can run")
    e.add_argument("--data-dir", default=None)
    e.set_defaults(func=_cmd_env)

    s = sub.add_parser("presets", help="list the presets, or show one resolved config")
    s.add_argument("--show", default=None)
    s.set_defaults(func=_cmd_presets)

    sub.add_parser("synth", help="generate OmniSynth into OUT_DIR (omni-r1-lite synth --help)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["synth"]:  # the generator owns its options (omni-r1-lite synth --help)
        from omni_r1_lite.data import omnisynth

        return int(omnisynth.main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
