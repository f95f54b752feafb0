"""Notebook hygiene (static) and headless runs of every notebook with PRESET="smoke"."""

import json
from pathlib import Path

import pytest

from omni_r1_lite.notebook import INSTALL_CELL, NOTEBOOKS, notebook_problems, reproduce

NB_DIR = Path(__file__).resolve().parent.parent / "notebooks"
COMMITTED = sorted(NB_DIR.glob("*.ipynb"))


def test_there_are_notebooks_and_they_are_listed():
    assert COMMITTED, "no notebooks found"
    listed = {n.file for n in NOTEBOOKS}
    assert {p.name for p in COMMITTED} <= listed, "every notebook must be listed in NOTEBOOKS (run order)"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_notebook_hygiene(path):
    assert notebook_problems(json.loads(path.read_text())) == []


def _nb(cells, kernel="omni-r1-lite"):
    return {"cells": cells, "metadata": {"kernelspec": {"name": kernel}}}


def _code(src, tags=(), outputs=(), count=None):
    return {"cell_type": "code", "source": src, "metadata": {"tags": list(tags)},
            "outputs": list(outputs), "execution_count": count}


GOOD = [
    {"cell_type": "markdown", "source": "# x\n**Requirements:** CPU", "metadata": {}},
    _code(INSTALL_CELL, ["install"]),
    _code('PRESET = "smoke"\nTRAIN = False', ["parameters"]),
    {"cell_type": "markdown", "source": "## Summary", "metadata": {}},
]


def test_hygiene_fails_on_outputs_counts_params_and_install():
    assert notebook_problems(_nb(GOOD)) == []
    with_outputs = GOOD[:2] + [_code('PRESET = "smoke"', ["parameters"],
                                     outputs=[{"output_type": "stream", "text": "x"}], count=3)] + GOOD[3:]
    probs = notebook_problems(_nb(with_outputs))
    assert "cell 2 has outputs" in probs and "cell 2 has an execution count" in probs
    two_params = GOOD + [_code("X = 1", ["parameters"])]
    assert any("2 cells tagged 'parameters'" in p for p in notebook_problems(_nb(two_params)))
    no_params = [GOOD[0], GOOD[1], GOOD[3]]
    assert any("0 cells tagged 'parameters'" in p for p in notebook_problems(_nb(no_params)))
    computed = GOOD[:2] + [_code("PRESET = get()", ["parameters"])] + GOOD[3:]
    assert any("literal" in p for p in notebook_problems(_nb(computed)))
    edited = [GOOD[0], _code(INSTALL_CELL + "\n!pip install torch", ["install"])] + GOOD[2:]
    assert any("install cell differs" in p for p in notebook_problems(_nb(edited)))


def test_hygiene_wants_the_kits_kernel_and_known_parameters():
    assert any("kernelspec" in p for p in notebook_problems(_nb(GOOD, kernel="python3")))
    typo = GOOD[:2] + [_code('PRESETS = "smoke"\nPRESET = ""', ["parameters"])] + GOOD[3:]
    assert any("PRESETS" in p for p in notebook_problems(_nb(typo)))
    for path in COMMITTED:  # the committed notebooks pass both rules
        assert notebook_problems(json.loads(path.read_text())) == [], path.name


def test_start_resolves_paths_in_the_checkout_and_refuses_unknown_parameters(tmp_path, monkeypatch):
    """A kernel JupyterLab starts in notebooks/ used to write runs/ and data/ under notebooks/;
    papermill -p PRESETS smoke used to warn and then run the heavy default preset."""
    import omni_r1_lite.notebook as nbmod

    root = Path(nbmod.__file__).resolve().parent.parent
    monkeypatch.chdir(root / "notebooks")
    monkeypatch.delenv("OMNI_R1_LITE_ROOT", raising=False)
    monkeypatch.delenv("OMNI_R1_LITE_RUNS", raising=False)
    assert nbmod.project_root() == root
    monkeypatch.setenv("OMNI_R1_LITE_ROOT", str(tmp_path))
    monkeypatch.setenv("OMNI_R1_LITE_PRESET", "smoke")
    run, cfg, data_dir = nbmod.start()  # "" -> the environment's preset
    assert cfg.name == "smoke" and run.path == tmp_path / "runs" / "smoke" and data_dir == tmp_path / "data"
    scope = {"__name__": "__main__", "PRESETS": "smoke", "PRESET": ""}
    with pytest.raises(nbmod.UnknownParameterError, match="PRESETS"):
        exec("from omni_r1_lite.notebook import start\nstart(PRESET)", scope)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OMNI_R1_LITE_ROOT")
    assert nbmod.project_root() == tmp_path.resolve()  # no checkout around: the working folder


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run-smoke")
    data_dir = tmp_path_factory.mktemp("data-smoke")
    results = reproduce("smoke", run_dir, data_dir=data_dir, stop_on_error=False)
    return run_dir, {r.notebook: r for r in results}


@pytest.mark.notebooks
@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_notebook_runs_with_smoke_preset(smoke_run, path):
    run_dir, results = smoke_run
    res = results[path.name]
    assert res.status == "ok", res.error
    executed = json.loads(Path(res.output).read_text())
    injected = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and 'PRESET = "smoke"' in "".join(injected[0]["source"])
    assert any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {})
               for c in executed["cells"] for o in c.get("outputs", [])), "every notebook ends with a figure"


@pytest.mark.notebooks
def test_every_figure_is_distinct_and_named_in_its_notebook(smoke_run):
    """05_summary.png used to be byte-identical to 05_per_type.png; a figure no text names is one the
    reader cannot find in the run folder."""
    import hashlib
    import re

    run_dir, _ = smoke_run
    figures = sorted((run_dir / "figures").glob("*.*"))
    assert len(figures) >= 15
    digests = {}
    for f in figures:
        digests.setdefault(hashlib.sha256(f.read_bytes()).hexdigest(), []).append(f.name)
    assert all(len(v) == 1 for v in digests.values()), [v for v in digests.values() if len(v) > 1]
    text = {p.name[:2]: " ".join("".join(c["source"]) for c in json.loads(p.read_text())["cells"]
                                 if c["cell_type"] == "markdown") for p in COMMITTED}
    for f in figures:
        pattern = re.sub(r"_(best|worst)_\d+\.png$", "_best|worst_<index>.png", f.name)
        assert f.name in text[f.name[:2]] or pattern in text[f.name[:2]], f"{f.name} is not named in its notebook"


@pytest.mark.notebooks
def test_reproduce_writes_report_and_run_record(smoke_run):
    run_dir, results = smoke_run
    report = (run_dir / "report.md").read_text()
    assert "preset `smoke`" in report
    for name, r in results.items():
        assert name in report
        if r.status == "missing":
            assert "Not there yet" in report
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["name"] == "smoke"
    versions = json.loads((run_dir / "versions.json").read_text())
    assert versions["packages"]["torch"]
    assert "setup" in json.loads((run_dir / "metrics.json").read_text())
    assert report.index("## Metrics (raw)") > report.index("## Figures") > report.index("## Results")
    assert "it cannot learn" in report  # smoke says its order is not expected to hold


@pytest.mark.notebooks
def test_every_notebook_runs_on_omnisynth_in_the_revos_layout(tmp_path_factory):
    """smoke-revos: OmniSynth written in the ReVOS layout, read by the real ReVOS loader (its own
    train / valid splits), through notebooks 00-05 and the report's Table-2 layout."""
    run_dir = tmp_path_factory.mktemp("run-smoke-revos")
    results = reproduce("smoke-revos", run_dir, data_dir=tmp_path_factory.mktemp("data-smoke-revos"),
                        stop_on_error=False)
    assert [r.status for r in results] == ["ok"] * len(COMMITTED), [(r.notebook, r.error) for r in results]
    report = (run_dir / "report.md").read_text()
    assert "ReVOS valid (Table 2 layout" in report and "| grpo |" in report
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["data"]["samples"]) == {"train", "valid"}
    assert any(k.startswith("revos/grpo/reasoning/") for k in metrics["eval"])


def test_report_keeps_notebooks_run_earlier_into_the_same_folder(tmp_path):
    """`reproduce --only 05` after a full run: the report still lists 00-04 with their times."""
    from types import SimpleNamespace

    from omni_r1_lite.notebook import NotebookRun, notebook_history

    run = SimpleNamespace(path=tmp_path)
    first = [NotebookRun(info.file, "ok", 10.0 + i) for i, info in enumerate(NOTEBOOKS)]
    assert [r.notebook for r in notebook_history(run, first)] == [i.file for i in NOTEBOOKS]
    last = NOTEBOOKS[-1].file
    merged = notebook_history(run, [NotebookRun(last, "failed", 3.0, error="boom")])
    assert [r.notebook for r in merged] == [i.file for i in NOTEBOOKS]
    assert merged[0].seconds == 10.0 and merged[-1].status == "failed" and merged[-1].seconds == 3.0
    (tmp_path / "notebook_runs.json").write_text("not json")  # a damaged record is replaced, not fatal
    assert [r.notebook for r in notebook_history(run, first[:1])] == [NOTEBOOKS[0].file]


def test_an_interrupted_reproduce_says_so_marks_later_results_stale_and_reruns_clean(tmp_path, monkeypatch, capsys):
    """Ctrl-C in 02 used to print a traceback and leave a report saying all six notebooks were ok."""
    import omni_r1_lite.notebook as nbmod
    from omni_r1_lite.cli import main
    from omni_r1_lite.notebook import NotebookRun, ReproduceInterrupted, reproduce

    def fake(stop_at=None):
        def run(path, out, params, cwd=None, timeout=None):
            if path.name.startswith(stop_at or "--"):
                raise KeyboardInterrupt
            return NotebookRun(path.name, "ok", 1.0, str(out))
        return run

    run_dir = tmp_path / "run"
    monkeypatch.setattr(nbmod, "run_notebook", fake())
    reproduce("smoke", run_dir, data_dir=tmp_path / "data")
    monkeypatch.setattr(nbmod, "run_notebook", fake("02"))
    with pytest.raises(ReproduceInterrupted) as err:
        reproduce("smoke", run_dir, data_dir=tmp_path / "data")
    assert err.value.notebook == "02_two_system_pipeline.ipynb"
    report = (run_dir / "report.md").read_text()
    status = {r["notebook"]: r["status"] for r in json.loads((run_dir / "notebook_runs.json").read_text())}
    assert status["01_data.ipynb"] == "ok" and status["02_two_system_pipeline.ipynb"] == "interrupted"
    assert {status[n] for n in ("03_rewards.ipynb", "04_grpo_training.ipynb", "05_evaluation.ipynb")} == {"stale"}
    assert "**Interrupted** (Ctrl-C) during 02_two_system_pipeline.ipynb" in report and "**Stale**" in report
    capsys.readouterr()
    rc = main(["reproduce", "--preset", "smoke", "--run-dir", str(run_dir), "--data-dir", str(tmp_path / "data")])
    err_text = capsys.readouterr().err
    assert rc == 130 and "interrupted (Ctrl-C) during 02_two_system_pipeline.ipynb" in err_text
    assert "Traceback" not in err_text and len(err_text.strip().splitlines()) == 1
    monkeypatch.setattr(nbmod, "run_notebook", fake())  # the rerun: everything ok again, nothing stale
    reproduce("smoke", run_dir, data_dir=tmp_path / "data")
    status = {r["notebook"]: r["status"] for r in json.loads((run_dir / "notebook_runs.json").read_text())}
    assert set(status.values()) == {"ok"} and "Stale" not in (run_dir / "report.md").read_text()


def test_user_mistakes_give_one_line_and_a_non_zero_exit(tmp_path, capsys):
    from omni_r1_lite.cli import main

    cases = [
        (["reproduce", "--preset", "cpu_demo"], "invalid choice: 'cpu_demo'"),
        (["evaluate", "--preset", "smoke", "--method", "grpo", "--run-dir", str(tmp_path / "r")], "no GRPO weights"),
        (["reproduce", "--preset", "smoke", "--data-dir", str(tmp_path / "no" / "such" / "dir")], "parent folder"),
        (["reproduce", "--preset", "colab-3b"], "cannot run on this machine"),
        (["evaluate", "--preset", "smoke", "--method", "uniform", "--set", "data.nope=1"], "no config field"),
    ]
    for argv, words in cases:
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse's own one-line usage error
            rc = e.code
        assert rc == 2, argv
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, (argv, err)
        assert len([ln for ln in err.splitlines() if "error" in ln]) == 1, err
    assert not (tmp_path / "no").exists()
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    out = capsys.readouterr().out
    assert "smoke-revos" in out and "default: cpu-demo" in out

