"""Notebook plumbing: the shared install cell, the list of notebooks, and headless runs with papermill.

Every notebook has exactly one cell tagged ``install`` whose source is `INSTALL_CELL`, and exactly
one cell tagged ``parameters`` holding literals only (``PRESET``, ``RUN_DIR``, ``DATA_DIR``, ...).
Notebooks read and write files in a run folder, never another notebook's memory.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

INSTALL_CELL = '''\
# Install cell (the same in every notebook). On Colab/Kaggle it installs the kit and SAM2 without
# touching the platform's torch; locally, and in CI, it does nothing.
import importlib.util, os, subprocess, sys
if importlib.util.find_spec("omni_r1_lite") is None:
    if not any(k in os.environ for k in ("COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE")):
        raise RuntimeError("omni_r1_lite is not installed: run `bash scripts/kit.sh setup` and pick its kernel")
    from importlib.metadata import version
    pins = "\\n".join(f"{p}=={version(p)}" for p in ("torch", "torchvision"))  # keep the platform's torch
    open("/tmp/keep-torch.txt", "w").write(pins)
    src = os.environ.get("OMNI_R1_LITE_SOURCE", "git+https://github.com/omni-r1-lite/omni-r1-lite.git")
    pip = [sys.executable, "-m", "pip", "install", "-q", "-c", "/tmp/keep-torch.txt"]
    subprocess.run(pip + [src], check=True)
    subprocess.run(pip + ["--no-build-isolation", "--no-deps", "sam2==1.1.0"], check=True,
                   env={**os.environ, "SAM2_BUILD_CUDA": "0"})'''


@dataclass(frozen=True)
class NotebookInfo:
    file: str
    teaches: str


NOTEBOOKS = (
    NotebookInfo("00_setup.ipynb", "environment check: versions, device, which presets this machine can run"),
    NotebookInfo("01_data.ipynb", "OmniSynth, RefAVS and ReVOS loading; a clip viewer; dataset statistics"),
    NotebookInfo("02_two_system_pipeline.ipynb", "System 1 → keyframes + rewrite → System 2 boxes → SAM2 masks"),
    NotebookInfo("03_rewards.ipynb", "the hierarchical rewards on hand-made and sampled completions"),
    NotebookInfo("04_grpo_training.ipynb", "SFT warm start, LoRA GRPO, reward curves, saved adapter"),
    NotebookInfo("05_evaluation.ipynb", "benchmark tables, per-type breakdowns, best/worst clips"),
    NotebookInfo("06_generalization_and_hallucination.ipynb",
                 "System 1 answering questions: OmniSynth-QA yes-rates, AVHBench/VideoMME/MVBench/OmniBench"),
)


def notebooks_dir() -> Path:
    """The kit's ``notebooks/`` folder (a source checkout), or ``$OMNI_R1_LITE_NOTEBOOKS``."""
    env = os.environ.get("OMNI_R1_LITE_NOTEBOOKS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "notebooks"


def kernel_name() -> str:
    """The kit's own kernel when registered (scripts/setup_env.sh does), else ``python3``."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        if "omni-r1-lite" in KernelSpecManager().find_kernel_specs():
            return "omni-r1-lite"
    except Exception:  # pragma: no cover - jupyter_client missing or broken config
        pass
    return "python3"


@dataclass
class NotebookRun:
    notebook: str
    status: str  # "ok", "failed", "interrupted", "missing", "stale" (an earlier run's, before a rerun above it)
    seconds: float = 0.0
    output: str | None = None
    error: str | None = None


def run_notebook(path: Path, out_path: Path, parameters: dict[str, Any], cwd: Path | None = None,
                 timeout: int | None = None) -> NotebookRun:
    """Execute one notebook headless in a fresh kernel with papermill."""
    import papermill as pm
    from traitlets.config import Config

    out_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    try:
        # the cell bar on a terminal: notebook 04 runs for minutes (off in logs, where it is noise)
        pm.execute_notebook(str(path), str(out_path), parameters=parameters, kernel_name=kernel_name(),
                            cwd=str(cwd) if cwd else None, progress_bar=_show_progress(),
                            execution_timeout=timeout,
                            # a local kernel over IPC: no "running over TCP without encryption" per notebook
                            config=Config({"KernelManager": {"transport": "ipc"}}))
    except pm.PapermillExecutionError as e:
        status = "interrupted" if e.ename == "KeyboardInterrupt" else "failed"
        return NotebookRun(path.name, status, time.time() - t0, str(out_path), f"{e.ename}: {e.evalue}")
    return NotebookRun(path.name, "ok", time.time() - t0, str(out_path))


def _show_progress() -> bool:
    """papermill's per-cell bar: on a terminal, or with ``OMNI_R1_LITE_PROGRESS=1``."""
    import sys

    flag = os.environ.get("OMNI_R1_LITE_PROGRESS")
    return flag == "1" if flag is not None else sys.stderr.isatty()


class ReproduceInterrupted(KeyboardInterrupt):
    """Ctrl-C during `reproduce`: the report was written first (``notebook`` marked interrupted)."""

    def __init__(self, notebook: str, report: Path):
        super().__init__(notebook)
        self.notebook, self.report = notebook, report


def reproduce(preset: str, run_dir: str | os.PathLike, data_dir: str | os.PathLike | None = None,
              only: list[str] | None = None, stop_on_error: bool = True) -> list[NotebookRun]:
    """Run the notebooks in order into ``run_dir/notebooks`` and write ``run_dir/report.md``.

    Notebooks that do not exist yet are reported as "missing" (never faked).
    """
    from omni_r1_lite.config import get_preset
    from omni_r1_lite.repro import RunDir

    cfg = get_preset(preset)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no "Writing model shards: 0%" in outputs
    run = RunDir.create(Path(run_dir).resolve(), cfg)
    data_dir = str(Path(data_dir or cfg.data.data_dir).resolve())
    params = {"PRESET": preset, "RUN_DIR": str(run.path), "DATA_DIR": data_dir}
    results: list[NotebookRun] = []
    src = notebooks_dir()
    for info in NOTEBOOKS:
        if only and not any(info.file.startswith(o) for o in only):
            continue
        nb = src / info.file
        if not nb.exists():
            results.append(NotebookRun(info.file, "missing"))
            continue
        print(f"[reproduce] {info.file} ...", flush=True)
        t0 = time.time()
        try:
            res = run_notebook(nb, run.path / "notebooks" / info.file, params, cwd=src)
        except KeyboardInterrupt:
            res = NotebookRun(info.file, "interrupted", time.time() - t0, str(run.path / "notebooks" / info.file),
                              "interrupted (Ctrl-C): its copy in the run folder is cut off")
        if res.status == "interrupted":
            results.append(res)
            raise ReproduceInterrupted(info.file, write_report(run, results))
        print(f"[reproduce] {info.file}: {res.status} in {res.seconds:.1f} s" +
              (f" — {res.error}" if res.error else ""), flush=True)
        results.append(res)
        if res.status == "failed" and stop_on_error:
            break
    write_report(run, results)
    return results


def notebook_history(run, results: list[NotebookRun]) -> list[NotebookRun]:
    """Every notebook run into this run folder, the latest run of each, in notebook order.

    ``reproduce --only 05`` after a full reproduction reruns one notebook; the report must still list
    the others (and their times) rather than forget them. Kept in ``notebook_runs.json``.
    """
    path = run.path / "notebook_runs.json"
    known: dict[str, NotebookRun] = {}
    if path.exists():
        try:
            known = {d["notebook"]: NotebookRun(**d) for d in json.loads(path.read_text())}
        except (ValueError, TypeError, KeyError):
            known = {}
    order = {info.file: i for i, info in enumerate(NOTEBOOKS)}
    broken = [order.get(r.notebook, len(order)) for r in results if r.status in ("failed", "interrupted")]
    if broken:  # an earlier run's notebooks after the one that stopped read what it was rewriting
        now = {r.notebook for r in results}
        for name, r in list(known.items()):
            if name not in now and order.get(name, -1) > min(broken) and r.status == "ok":
                known[name] = NotebookRun(r.notebook, "stale", r.seconds, r.output,
                                          "from an earlier run: a notebook before it stopped in this one")
    known.update({r.notebook: r for r in results})
    merged = sorted(known.values(), key=lambda r: (order.get(r.notebook, len(order)), r.notebook))
    path.write_text(json.dumps([asdict(r) for r in merged], indent=1))
    return merged


def write_report(run, results: list[NotebookRun]) -> Path:
    """``report.md``: what ran, how long, the metrics recorded, and what is not there yet.

    Notebooks run into the same folder by an earlier call are listed too (`notebook_history`).
    """
    cfg = run.config()
    results = notebook_history(run, results)
    lines = [f"# omni-r1-lite reproduction — preset `{cfg.name}`", "", cfg.description, "",
             "| notebook | status | seconds |", "|---|---|---|"]
    for r in results:
        lines.append(f"| {r.notebook} | {r.status} | {r.seconds:.1f} |")
    missing = [r.notebook for r in results if r.status == "missing"]
    if missing:
        lines += ["", "**Not there yet** (later milestones of the kit): " + ", ".join(missing) + "."]
    failed = [r for r in results if r.status == "failed"]
    for r in failed:
        lines += ["", f"**{r.notebook} failed**: `{r.error}` (see {r.output})."]
    for r in results:
        if r.status == "interrupted":
            lines += ["", f"**Interrupted** (Ctrl-C) during {r.notebook}: its copy in `notebooks/` is cut off. "
                          "Run the same command again to go on (finished work is kept; resumes say so)."]
    stale = [r.notebook for r in results if r.status == "stale"]
    if stale:
        lines += ["", f"**Stale**: {', '.join(stale)} come from an earlier run; a notebook before them stopped in "
                      "this one, so their figures and numbers may not match it. Rerun to refresh them."]
    results = run.path / "eval" / "results.md"
    if results.exists():
        lines += ["", "## Results", "", results.read_text().strip()]
    metrics = run.metrics()
    order = expected_order(metrics, cfg.data.dataset)
    if order:
        if cfg.name.startswith("smoke"):
            order += (" *(`smoke` trains a tiny model for a few steps to exercise every code path: it cannot "
                      "learn, so this order is not expected to hold; `cpu-demo` is the run that shows it.)*")
        lines += ["", order]
    figures = sorted((run.path / "figures").glob("*.png"))
    if figures:
        lines += ["", "## Figures", ""]
        for f in figures:
            lines += [f"**{f.stem}**", "", f"![{f.stem}](figures/{f.name})", ""]
    if metrics:  # the raw record last: people read the results and figures first
        lines += ["", "## Metrics (raw)", "", "```json", json.dumps(metrics, indent=2, sort_keys=True), "```"]
    path = run.path / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def expected_order(metrics: dict[str, Any], dataset: str) -> str | None:
    """One line saying whether the evaluation shows GRPO > SFT > uniform, the order the kit's
    OmniSynth reproduction is meant to show: J&F over the samples whose target is there (the paper's
    seen/unseen J&F; notebook 05's ``jf_target``), with the paired differences and their bootstrap
    intervals (``paired``, `omni_r1_lite.evaluation.analysis.paired_difference`) when recorded, and
    the null samples on which nothing was segmented beside it. ``None`` when the evaluation did not
    record all three.

    >>> m = {"evaluation": {"jf_target": {"uniform": 50.0, "sft": 55.0, "grpo": 56.5},
    ...                     "null_empty": {"uniform": 100.0, "sft": 80.0, "grpo": 75.0}}}
    >>> print(expected_order(m, "omnisynth"))
    **GRPO > SFT > uniform** (J&F where the target is there): holds — uniform 50.0, SFT 55.0, GRPO 56.5. Null clips segmented as empty: uniform 100.0 %, SFT 80.0 %, GRPO 75.0 %.
    >>> m["evaluation"]["paired"] = {"grpo-sft": {"diff": 1.5, "low": -0.4, "high": 3.3, "n": 529},
    ...                              "sft-uniform": {"diff": 5.0, "low": 2.1, "high": 7.8, "n": 529}}
    >>> print(expected_order(m, "omnisynth").split("holds — ")[1].split(" Null")[0])
    uniform 50.0, SFT 55.0, GRPO 56.5. Paired differences with 95 % bootstrap intervals: GRPO − SFT +1.5 (-0.4 to +3.3); SFT − uniform +5.0 (+2.1 to +7.8) points over 529 samples — an interval that reaches zero means that step of the order is within chance.
    >>> m["evaluation"]["jf_target"]["grpo"] = 54.0
    >>> "does not hold" in expected_order(m, "revos")
    True
    """
    ev = metrics.get("evaluation") or {}
    jf, null = ev.get("jf_target") or {}, ev.get("null_empty") or {}
    names = {"uniform": "uniform", "sft": "SFT", "grpo": "GRPO"}
    if not all(jf.get(k) is not None for k in names):
        return None
    holds = jf["grpo"] > jf["sft"] > jf["uniform"]
    where = "" if dataset == "omnisynth" else f", {dataset}"
    line = (f"**GRPO > SFT > uniform** (J&F where the target is there{where}): "
            f"{'holds' if holds else 'does not hold'} — " + ", ".join(f"{v} {jf[k]}" for k, v in names.items()) + ".")
    paired = ev.get("paired") or {}
    diffs = [(label, paired[key]) for key, label in (("grpo-sft", "GRPO − SFT"), ("sft-uniform", "SFT − uniform"))
             if paired.get(key)]
    if diffs:
        line += (" Paired differences with 95 % bootstrap intervals: "
                 + "; ".join(f"{label} {d['diff']:+.1f} ({d['low']:+.1f} to {d['high']:+.1f})" for label, d in diffs)
                 + f" points over {diffs[0][1]['n']} samples"
                 + (" — both above zero." if len(diffs) == 2 and all(d["low"] > 0 for _, d in diffs)
                    else " — an interval that reaches zero means that step of the order is within chance."))
    if all(null.get(k) is not None for k in names):
        line += " Null clips segmented as empty: " + ", ".join(f"{v} {null[k]} %" for k, v in names.items()) + "."
    return line


PARAMETERS = ("PRESET", "RUN_DIR", "DATA_DIR", "TRAIN")
"""Every name a notebook's ``parameters`` cell may set (a test checks each notebook against it)."""


class UnknownParameterError(ValueError):
    """papermill ``-p NAME value`` for a name no notebook reads: it would be ignored silently."""


def project_root(start: str | os.PathLike | None = None) -> Path:
    """Where relative ``RUN_DIR``/``DATA_DIR`` and the default ``runs/`` resolve: ``$OMNI_R1_LITE_ROOT``,
    else the kit checkout holding the working folder (JupyterLab starts kernels in ``notebooks/``),
    else the working folder (a pip install on Colab)."""
    env = os.environ.get("OMNI_R1_LITE_ROOT")
    if env:
        return Path(env)
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "omni_r1_lite" / "__init__.py").is_file() and (folder / "notebooks").is_dir():
            return folder
    return here


def _check_parameters(names: dict) -> None:
    unknown = sorted(n for n in names if n.isupper() and not n.startswith("_") and n not in PARAMETERS)
    if unknown:
        raise UnknownParameterError(
            f"unknown notebook parameter {', '.join(unknown)}: the notebooks take {', '.join(PARAMETERS)} "
            f"(papermill -p PRESET smoke); a misspelt one would be ignored and the default preset run")


def start(preset: str = "", run_dir: str = "", data_dir: str = ""):
    """The first code cell of every notebook: seed, open the run folder, return (run, cfg, data_dir).

    ``preset`` ``""``: ``$OMNI_R1_LITE_PRESET``, else ``cpu-demo`` (so one variable sets all six
    notebooks). Relative ``run_dir`` / ``data_dir`` (and the default ``runs/<preset>``) resolve
    against `project_root`, whatever folder the kernel runs in. A parameter papermill injected
    that no notebook reads (``-p PRESETS smoke``) is an error, not a silent default run.
    """
    import inspect

    from omni_r1_lite.config import check_system2, get_preset
    from omni_r1_lite.repro import RunDir, default_run_dir, seed_everything

    caller = inspect.currentframe().f_back
    if caller is not None and caller.f_globals.get("__name__") == "__main__":
        _check_parameters(caller.f_globals)
    preset = preset or os.environ.get("OMNI_R1_LITE_PRESET", "") or "cpu-demo"
    cfg = get_preset(preset)
    check_system2(cfg)
    root = project_root()
    run_path = Path(run_dir) if run_dir else default_run_dir(preset)
    data_path = Path(data_dir or cfg.data.data_dir)
    run = RunDir.create(run_path if run_path.is_absolute() else root / run_path, cfg)
    seed_everything(cfg.seed)
    return run, cfg, data_path if data_path.is_absolute() else root / data_path


def _is_literal_assignments(source: str) -> bool:
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in tree.body:
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            return False
        try:
            ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError):
            return False
    return True


def notebook_problems(nb: dict) -> list[str]:
    """Hygiene problems of a notebook (as JSON/dict): the rules every committed notebook follows.

    >>> good = {"cells": [
    ...     {"cell_type": "markdown", "source": "# T\\n**Requirements:** CPU", "metadata": {}},
    ...     {"cell_type": "code", "source": INSTALL_CELL, "metadata": {"tags": ["install"]},
    ...      "outputs": [], "execution_count": None},
    ...     {"cell_type": "code", "source": 'PRESET = "cpu-demo"', "metadata": {"tags": ["parameters"]},
    ...      "outputs": [], "execution_count": None},
    ...     {"cell_type": "markdown", "source": "## Summary", "metadata": {}}],
    ...     "metadata": {"kernelspec": {"name": "omni-r1-lite", "display_name": "Python (omni-r1-lite)"}}}
    >>> notebook_problems(good)
    []
    >>> good["cells"][2]["outputs"] = [{"output_type": "stream", "text": "hi"}]
    >>> notebook_problems(good)
    ['cell 2 has outputs']
    """
    problems: list[str] = []
    cells = nb.get("cells", [])
    src = ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "")
           for c in cells]
    for i, c in enumerate(cells):
        if c.get("cell_type") != "code":
            continue
        if c.get("outputs"):
            problems.append(f"cell {i} has outputs")
        if c.get("execution_count") is not None:
            problems.append(f"cell {i} has an execution count")
    tags = [c.get("metadata", {}).get("tags", []) for c in cells]
    params = [i for i, t in enumerate(tags) if "parameters" in t]
    if len(params) != 1:
        problems.append(f"{len(params)} cells tagged 'parameters' (want exactly 1)")
    else:
        p = params[0]
        if not _is_literal_assignments(src[p]):
            problems.append("the parameters cell must hold literal assignments only")
        elif "PRESET" not in src[p]:
            problems.append("the parameters cell must define PRESET")
        else:
            import ast

            names = {t.id for node in ast.parse(src[p]).body
                     for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                     if isinstance(t, ast.Name)}
            if names - set(PARAMETERS):
                problems.append(f"parameters {sorted(names - set(PARAMETERS))} are not in notebook.PARAMETERS")
    spec = (nb.get("metadata") or {}).get("kernelspec") or {}
    if spec.get("name") != "omni-r1-lite":
        problems.append("the kernelspec must be the kit's ('omni-r1-lite', 'Python (omni-r1-lite)')")
    installs = [i for i, t in enumerate(tags) if "install" in t]
    if len(installs) != 1:
        problems.append(f"{len(installs)} cells tagged 'install' (want exactly 1)")
    elif src[installs[0]].strip() != INSTALL_CELL.strip():
        problems.append("the install cell differs from omni_r1_lite.notebook.INSTALL_CELL")
    if not cells or cells[0].get("cell_type") != "markdown" or "Requirements" not in src[0]:
        problems.append("the first cell must be markdown with a **Requirements** line")
    if not any(c.get("cell_type") == "markdown" and "## Summary" in s for c, s in zip(cells, src)):
        problems.append("no '## Summary' section")
    return problems
