"""Results tables in the paper's layouts, from the stored records of every evaluated method.

- **RefAVS** (Table 1): Seen J&F, J, F | Unseen J&F, J, F | Null S, one row per method. Shown twice,
  labelled: with DAVIS J / boundary F and with the Ref-AVS toolkit's J_avs / F_avs (the paper does
  not say which it used).
- **ReVOS** (Table 2): Referring, Reasoning, Single, Multi, Overall J&F.
- **OmniSynth**: the Table-1 layout (it is written in the RefAVS layout), J&F per expression type
  (referring, reasoning, audio-visual, null) and one detailed table per split.

With a paper preset (`omni_r1_lite.paper_results.PAPER_PRESETS`) each method's row is followed by
the paper row it reproduces, and the paper's other rows close the table.

`collect_results` gives the dict form (written to ``<run>/eval/results.json``), `render_results`
turns any such dict into Markdown, `results_table` does both and records headline numbers with
``RunDir.record_metrics("eval", ...)``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omni_r1_lite.evaluation import records as rec_io
from omni_r1_lite.evaluation.methods import METHODS
from omni_r1_lite.evaluation.runner import BENCHMARKS_OF, build_scorer
from omni_r1_lite.metrics import Table

FORMAT = "omni-r1-lite-eval/1"
_SPLIT_ORDER = ("seen", "unseen", "null", "test_s", "test_u", "test_n", "valid", "val", "train")
TYPES = ("referring", "reasoning", "audio-visual", "null")


def _clean(x: Any) -> Any:
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


def _split_key(name: str) -> tuple:
    return (_SPLIT_ORDER.index(name) if name in _SPLIT_ORDER else len(_SPLIT_ORDER), name)


def _method_key(name: str) -> tuple:
    return (METHODS.index(name) if name in METHODS else len(METHODS), name)


TAG_ISSUES = frozenset({"missing_answer_tags", "unclosed_answer"})
"""Parser issues that mean the completion did not follow the answer format (it may still parse)."""


def _split_info(records: list[dict]) -> dict[str, Any]:
    scored = [r for r in records if not r.get("error")]
    errors = [r for r in records if r.get("error")]
    with_plan = [r for r in scored if r.get("completion") is not None]
    return {
        "n": len(scored),
        "errors": len(errors),
        "error_examples": [f"{r['sample_id']}: {r['error']}" for r in errors[:3]],
        "parse_ok": (sum(bool(r.get("plan_ok")) for r in with_plan) / len(with_plan)) if with_plan else None,
        # the lenient parser reads an answer without tags too (a random 3B's text "parses"): this is the
        # share that followed the format, <answer> ... </answer> present and closed
        "tags_ok": (sum(bool(r.get("plan_ok")) and not set(r.get("issues") or ()) & TAG_ISSUES
                        for r in with_plan) / len(with_plan)) if with_plan else None,
        "finished": (sum(bool(r.get("finished")) for r in with_plan) / len(with_plan)) if with_plan else None,
        "seconds_per_sample": float(np.mean([r["seconds"] for r in scored])) if scored else None,
    }


def collect_results(run_dir: str | Path, methods: Sequence[str] | None = None, splits: Sequence[str] | None = None,
                    preset: str | None = None) -> dict[str, Any]:
    """The dict form of every stored evaluation under ``<run_dir>/eval/``.

    Returns ``{"format", "preset", "paper_setting", "source", "datasets": {dataset: {"methods":
    {method: {"splits": {split: {"n", "errors", "error_examples", "parse_ok", "tags_ok", "finished",
    "seconds_per_sample"}}, "tables": {benchmark: [row dicts as in BenchmarkScorer.table()]}}}}}}``
    (J, F, A, R in percent, S a fraction; ``None`` for not available).
    """
    from omni_r1_lite.paper_results import SOURCE, is_paper_setting

    run_dir = Path(run_dir)
    eval_dir = run_dir / "eval"
    if preset is None:
        cfg_file = run_dir / "config.json"
        preset = json.loads(cfg_file.read_text()).get("name", "custom") if cfg_file.exists() else "custom"
    found = sorted((p.name for p in eval_dir.iterdir() if p.is_dir()), key=_method_key) if eval_dir.is_dir() else []
    methods = list(methods) if methods is not None else found
    datasets: dict[str, dict[str, Any]] = {}
    for method in methods:
        mdir = eval_dir / method
        names = {p.name.split(".")[0] for p in mdir.glob("*.jsonl")} if mdir.is_dir() else set()
        if splits is not None:
            names &= set(splits)
        by_dataset: dict[str, dict[str, list[dict]]] = {}
        for split in sorted(names, key=_split_key):
            recs = rec_io.read_split_records(mdir, split)
            if not recs:
                continue
            ds = next((r["dataset"] for r in recs if r.get("dataset")), "unknown")
            by_dataset.setdefault(ds, {})[split] = recs
        for ds, per_split in by_dataset.items():
            all_recs = [r for s in per_split for r in per_split[s] if not r.get("error")]
            tables = {b: build_scorer(b, all_recs).table().to_dicts() for b in BENCHMARKS_OF.get(ds, ("vos",))}
            entry = datasets.setdefault(ds, {"methods": {}})
            entry["methods"][method] = {"splits": {s: _split_info(r) for s, r in per_split.items()},
                                        "tables": tables,
                                        "protocol": next((r.get("protocol") for r in all_recs), None) or "kit"}
    return _clean({"format": FORMAT, "preset": preset, "paper_setting": is_paper_setting(preset), "source": SOURCE,
                   "datasets": datasets})


# ----------------------------------------------------------------------------- rendering


def _row(rows: list[dict], name: str) -> dict:
    for r in rows:
        if r.get("split", r.get("group")) == name:
            return r
    return {}


def _refavs_cells(rows: list[dict], family: str) -> dict[str, Any]:
    j, f, jf = ("J", "F_boundary", "J&F") if family == "davis" else ("J_avs", "F_avs", "J&F_avs")
    out = {}
    for split in ("seen", "unseen"):
        r = _row(rows, split)
        out.update({f"{split} J&F": r.get(jf), f"{split} J": r.get(j), f"{split} F": r.get(f)})
    out["null S"] = _row(rows, "null").get("S")
    return out


_T1_COLUMNS = ["method", "seen J&F", "seen J", "seen F", "unseen J&F", "unseen J", "unseen F", "null S"]


def _paper_t1(name: str) -> dict[str, Any]:
    from omni_r1_lite.paper_results import TABLE1

    p = TABLE1[name]
    row = {"method": f"paper: {name}"}
    for split in ("seen", "unseen"):
        row.update({f"{split} {k}": p[split][k] for k in ("J&F", "J", "F")})
    row["null S"] = None
    return row


def _table1(title: str, methods: dict, family: str, paper: bool, bench: str) -> Table:
    from omni_r1_lite.paper_results import PAPER_ROWS, TABLE1

    rows, used = [], set()
    for method, m in methods.items():
        rows.append({"method": method, **_refavs_cells(m["tables"].get("refavs", []), family)})
        name = PAPER_ROWS.get(bench, {}).get(method) if paper else None
        if name:
            rows.append(_paper_t1(name))
            used.add(name)
    if paper:
        rows += [_paper_t1(n) for n in TABLE1 if n not in used]
    return Table(title, _T1_COLUMNS, rows, digits={"null S": 4})


def _mevis_table(methods: dict, paper: bool) -> Table:
    """MeViS valu: J, F, J&F of the overall row (``tools/eval_mevis.py``: means over expressions)."""
    from omni_r1_lite.paper_results import MEVIS, PAPER_ROWS

    rows, used = [], set()
    for method, m in methods.items():
        overall = _row(m["tables"].get("vos", []), "overall")
        rows.append({"method": method, "J": overall.get("J"), "F": overall.get("F"), "J&F": overall.get("J&F")})
        name = PAPER_ROWS["mevis"].get(method) if paper else None
        if name:
            rows.append({"method": f"paper: {name}", "J": None, "F": None, "J&F": MEVIS[name]})
            used.add(name)
    if paper:
        rows += [{"method": f"paper: {n}", "J": None, "F": None, "J&F": v} for n, v in MEVIS.items() if n not in used]
    return Table("MeViS valid_u (J&F, J, F %, DAVIS; the paper gives J&F only)", ["method", "J", "F", "J&F"], rows)


def _table2(methods: dict, paper: bool) -> Table:
    from omni_r1_lite.paper_results import PAPER_ROWS, REVOS_COLUMNS, TABLE2

    cols = list(REVOS_COLUMNS)
    rows, used = [], set()
    for method, m in methods.items():
        t = m["tables"].get("revos", [])
        rows.append({"method": method, **{c: _row(t, c).get("J&F") for c in cols}})
        name = PAPER_ROWS["revos"].get(method) if paper else None
        if name:
            rows.append({"method": f"paper: {name}", **TABLE2[name]})
            used.add(name)
    if paper:
        rows += [{"method": f"paper: {n}", **v} for n, v in TABLE2.items() if n not in used]
    return Table("ReVOS valid (Table 2 layout; J&F %, DAVIS)", ["method", *cols], rows)


def _table5(methods: dict, paper: bool) -> Table:
    """Table 5 layout: ReVOS J&F by the grounder System 2 used at inference (``<method>+<backend>``
    result folders; a plain method name grounded with System 1's base model, the paper's)."""
    from omni_r1_lite.paper_results import REVOS_COLUMNS, TABLE5, TABLE5_ROWS

    cols = list(REVOS_COLUMNS)
    rows = []
    for method, m in methods.items():
        base, _, backend = method.partition("+")
        t = m["tables"].get("revos", [])
        label = f"{base}, System 2: {backend or 'the base model (paper)'}"
        rows.append({"method": label, **{c: _row(t, c).get("J&F") for c in cols}})
    if paper:
        rows += [{"method": f"paper: {n}", **v} for n, v in TABLE5.items()]
    mapping = ", ".join(f"{k} → {v!r}" for k, v in TABLE5_ROWS.items())
    return Table(f"ReVOS valid by System-2 grounder (Table 5 layout; J&F %, DAVIS; {mapping} when trained "
                 "with it too)", ["method", *cols], rows)


def _types_table(methods: dict) -> Table:
    present = [t for t in TYPES if any(_row(m["tables"].get("vos", []), f"type: {t}") for m in methods.values())]
    rows = []
    for method, m in methods.items():
        t = m["tables"].get("vos", [])
        row = {"method": method}
        for typ in present:
            r = _row(t, f"type: {typ}")
            row[f"{typ} J&F"], row[f"{typ} n"] = r.get("J&F"), r.get("n")
        rows.append(row)
    cols = ["method"] + [c for typ in present for c in (f"{typ} J&F", f"{typ} n")]
    return Table("OmniSynth per expression type (J&F %, DAVIS; all splits)", cols, rows)


def _split_tables(methods: dict) -> list[Table]:
    splits = sorted({s for m in methods.values() for s in m["splits"]}, key=_split_key)
    out = []
    for split in splits:
        rows = []
        for method, m in methods.items():
            if split not in m["splits"]:
                continue
            v, a = _row(m["tables"].get("vos", []), split), _row(m["tables"].get("refavs", []), split)
            rows.append({"method": method, "n": v.get("n"), "J": v.get("J"), "F": v.get("F"), "J&F": v.get("J&F"),
                         "A": v.get("A"), "R": v.get("R"), "J_avs": a.get("J_avs"), "F_avs": a.get("F_avs"),
                         "S": a.get("S")})
        cols = ["method", "n", "J", "F", "J&F", "A", "R", "J_avs", "F_avs", "S"]
        out.append(Table(f"OmniSynth {split}", cols, rows, digits={"S": 4}))
    return out


def _info_table(dataset: str, methods: dict) -> Table:
    rows = []
    for method, m in methods.items():
        for split, info in m["splits"].items():
            rows.append({"method": method, "split": split, "n": info["n"], "errors": info["errors"],
                         "parse ok %": None if info["parse_ok"] is None else 100 * info["parse_ok"],
                         "tags ok %": None if info.get("tags_ok") is None else 100 * info["tags_ok"],
                         "EOS %": None if info["finished"] is None else 100 * info["finished"],
                         "s/sample": info["seconds_per_sample"]})
    cols = ["method", "split", "n", "errors", "parse ok %", "tags ok %", "EOS %", "s/sample"]
    return Table(f"{dataset}: samples, errors, System-1 parse rate, time", cols, rows, digits={"s/sample": 3})


def render_results(results: dict[str, Any]) -> str:
    """Markdown tables of a `collect_results` dict (paper rows beside ours for paper presets)."""
    from omni_r1_lite.paper_results import SOURCE

    paper = bool(results.get("paper_setting"))
    parts = [f"### Evaluation results (preset `{results.get('preset')}`)"]
    for ds, entry in results.get("datasets", {}).items():
        methods = dict(sorted(entry["methods"].items(), key=lambda kv: _method_key(kv[0])))
        protocols = sorted({m.get("protocol") or "kit" for m in methods.values()})
        parts.append(f"*{ds}: scored with protocol {', '.join(f'`{p}`' for p in protocols)}"
                     + (" (the intended definitions; `eval.protocol=visa` / `refavs-toolkit` follow the official "
                        "scripts' arithmetic)*" if protocols == ["kit"] else "*"))
        tables: list[Table] = []
        if ds == "refavs":
            tables.append(_table1("RefAVS test (Table 1 layout; J&F, J, F %): DAVIS J and boundary F",
                                  methods, "davis", paper, "refavs"))
            tables.append(_table1("RefAVS test (Table 1 layout): the Ref-AVS toolkit's J_avs and F_avs",
                                  methods, "avs", paper, "refavs"))
        elif ds == "revos":
            tables.append(_table2(methods, paper))
            if paper or any("+" in m for m in methods):
                tables.append(_table5(methods, paper))
        elif ds == "mevis":
            tables.append(_mevis_table(methods, paper))
        elif ds == "omnisynth":
            tables.append(_table1("OmniSynth (Table 1 layout; J&F, J, F %, DAVIS; null S: lower is better)",
                                  methods, "davis", False, "refavs"))
            tables.append(_types_table(methods))
            tables += _split_tables(methods)
        else:
            for method, m in methods.items():
                for bench, rows in m["tables"].items():
                    cols = list(rows[0]) if rows else []
                    tables.append(Table(f"{ds} / {method} ({bench})", cols, rows))
        tables.append(_info_table(ds, methods))
        parts += [t.to_markdown() for t in tables]
    if paper:
        parts.append(f"Paper rows: {SOURCE}. † = the model grounds its own descriptions, SAM2 segments. "
                     "The paper does not say which F Table 1 uses; both are shown.")
    return "\n\n".join(parts)


def headline(results: dict[str, Any]) -> dict[str, float]:
    """Flat headline numbers for ``metrics.json``: ``"<dataset>/<method>/<row>/<column>"``.

    OmniSynth: J&F of every split, type and overall row, and the null split's S; RefAVS: seen /
    unseen J&F, J, F (DAVIS) and J&F_avs, null S; ReVOS: J&F of every row.
    """
    keep = {
        "omnisynth": {"vos": {"*": ("J&F",)}, "refavs": {"null": ("S",)}},
        "refavs": {"refavs": {"seen": ("J&F", "J", "F_boundary", "J&F_avs"),
                              "unseen": ("J&F", "J", "F_boundary", "J&F_avs"), "null": ("S",)}},
        "revos": {"revos": {"*": ("J&F",)}},
    }
    out: dict[str, float] = {}
    for ds, entry in results.get("datasets", {}).items():
        for method, m in entry["methods"].items():
            for bench, rows in m["tables"].items():
                wanted = keep.get(ds, {}).get(bench, {"*": ("J&F",)})
                for r in rows:
                    name = r.get("split", r.get("group"))
                    for col in wanted.get(name, wanted.get("*", ())):
                        if r.get(col) is not None:
                            out[f"{ds}/{method}/{name}/{col}"] = round(float(r[col]), 4)
    return out


def results_table(run_dir: str | Path, methods: Sequence[str] | None = None, splits: Sequence[str] | None = None,
                  preset: str | None = None, write: bool = True) -> str:
    """Markdown results of a run folder; with ``write`` also ``<run>/eval/results.json`` and
    ``metrics.json["eval"]`` (headline numbers)."""
    from omni_r1_lite.repro import RunDir

    results = collect_results(run_dir, methods, splits, preset)
    if write:
        path = Path(run_dir) / "eval" / "results.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(results, indent=2) + "\n")
        tmp.replace(path)
        RunDir(Path(run_dir)).record_metrics("eval", headline(results))
    return render_results(results)
