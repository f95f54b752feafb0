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


def _nb(cells):
    return {"cells": cells, "metadata": {}}


def _code(src, tags=(), outputs=(), count=None):
    return {"cell_type": "code", "source": src, "metadata": {"tags": list(tags)},
            "outputs": list(outputs), "execution_count": count}


GOOD = [
    {"cell_type": "markdown", "source": "# x\n**Requirements:** CPU", "metadata": {}},
    _code(INSTALL_CELL, ["install"]),
    _code('PRESET = "smoke"\nSTEPS = 3', ["parameters"]),
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
