"""Per-sample evaluation records on disk: tolerant JSONL reading, shard merging, scorer replay.

Layout of one method's results (``<run>/eval/<method>/``)::

    <split>.jsonl             one record per sample (compacted: sorted by index, one per id)
    <split>.rank<r>.jsonl     rank r's records while a sharded (accelerate) run is under way
    <split>.meta.json         what produced them: method, weights, the fingerprint of the config

A record is a JSON object (schema in `omni_r1_lite.evaluation`); an *error row* has an
``"error"`` message and no metrics. Reading tolerates a truncated **last** line (a run killed while
writing): it is dropped, and the sample is evaluated again. A bad line anywhere else means the file
was damaged otherwise and raises `RecordsError` naming the file and line.

The final tables are never taken from the live scorer of a run: they are rebuilt by `replay`-ing
the records, sorted by the sample's index in its split, into a fresh `BenchmarkScorer`, so an
interrupted-and-resumed run, a sharded run and an uninterrupted one give bit-identical tables.

>>> import tempfile
>>> p = Path(tempfile.mkdtemp()) / "seen.jsonl"
>>> _ = p.write_text('{"index": 1, "sample_id": "b", "JF": 0.5}\\n{"index": 0, "sample_id": "a", "JF"')
>>> [r["sample_id"] for r in read_records(p)]          # the truncated last line is dropped
['b']
>>> [r["sample_id"] for r in compact([{"index": 1, "sample_id": "b"}, {"index": 0, "sample_id": "a"}])]
['a', 'b']
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "RecordsError",
    "append_record",
    "compact",
    "done_ids",
    "merge_shards",
    "rank_path",
    "read_records",
    "read_split_records",
    "replay",
    "split_path",
    "write_records",
]

REFAVS_KEYS = ("J", "F", "JF", "J_avs", "F_avs", "JF_avs", "S")
"""Values a ``"refavs"`` `BenchmarkScorer` accumulates per sample."""
VOS_KEYS = ("J", "F", "JF", "A", "R")
"""Values a ``"vos"`` / ``"revos"`` `BenchmarkScorer` accumulates per sample."""


class RecordsError(ValueError):
    """A results file is damaged beyond a truncated last line; the message names file and line."""


def split_path(method_dir: str | Path, split: str) -> Path:
    """``<method_dir>/<split>.jsonl``: the merged records of a split."""
    return Path(method_dir) / f"{split}.jsonl"


def rank_path(method_dir: str | Path, split: str, rank: int) -> Path:
    """``<method_dir>/<split>.rank<r>.jsonl``: one process's records in a sharded run."""
    return Path(method_dir) / f"{split}.rank{int(rank)}.jsonl"


def _rank_files(method_dir: Path, split: str) -> list[Path]:
    pattern = re.compile(re.escape(split) + r"\.rank(\d+)\.jsonl$")
    found = [(int(m.group(1)), p) for p in method_dir.glob(f"{split}.rank*.jsonl") if (m := pattern.match(p.name))]
    return [p for _, p in sorted(found)]


def read_records(path: str | Path, repair: bool = False) -> list[dict]:
    """The records of one JSONL file (``[]`` if it does not exist).

    A last line that is not a complete JSON object (no final newline, or unparsable) is dropped;
    with ``repair=True`` the file is also rewritten without it, so appending can continue.
    Any other unreadable line raises `RecordsError`.
    """
    path = Path(path)
    if not path.exists():
        return []
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    complete, tail = lines[:-1], lines[-1]  # ``tail`` is b"" when the file ends with a newline
    records: list[dict] = []
    dropped = bool(tail.strip())
    for n, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict) or "sample_id" not in rec:
                raise ValueError("not a record object")
        except ValueError as e:
            if n == len(complete) and not tail.strip():  # the last line, cut inside its newline
                dropped = True
                break
            raise RecordsError(f"{path}:{n}: unreadable record ({e}); remove the line or the file") from e
        records.append(rec)
    if dropped and repair:
        write_records(path, records)
    return records


def write_records(path: str | Path, records: Iterable[dict]) -> Path:
    """Write records atomically (a temporary file, then a rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for rec in records:
            fh.write(json.dumps(rec) + "\n")
    os.replace(tmp, path)
    return path


def append_record(fh, record: dict) -> None:
    """Append one record to an open text file and flush it (a kill loses at most this line)."""
    fh.write(json.dumps(record) + "\n")
    fh.flush()


def _better(new: dict, old: dict) -> bool:
    """Which of two records of one sample to keep: a scored record beats an error row, else the newer."""
    return not (new.get("error") and not old.get("error"))


def compact(records: Iterable[dict]) -> list[dict]:
    """One record per ``sample_id`` (a scored one over an error row; else the later one), sorted
    by ``(index, sample_id)``; rows without an index (listing errors) come last."""
    best: dict[str, dict] = {}
    for rec in records:
        sid = rec["sample_id"]
        if sid not in best or _better(rec, best[sid]):
            best[sid] = rec

    def key(r):
        idx = r.get("index")
        return (idx is None, idx if idx is not None else 0, r["sample_id"])

    return sorted(best.values(), key=key)


def read_split_records(method_dir: str | Path, split: str, repair: bool = False) -> list[dict]:
    """Every record of a split: the merged file plus any rank files, compacted."""
    method_dir = Path(method_dir)
    records = read_records(split_path(method_dir, split), repair=repair)
    for p in _rank_files(method_dir, split):
        records += read_records(p, repair=repair)
    return compact(records)


def done_ids(records: Iterable[dict]) -> set[str]:
    """Ids of samples already scored (error rows are not done: they are tried again)."""
    return {r["sample_id"] for r in records if not r.get("error")}


def merge_shards(method_dir: str | Path, split: str) -> list[dict]:
    """Merge ``<split>.rank*.jsonl`` into ``<split>.jsonl`` (compacted), then delete the rank files.

    Safe to call at any time and repeatedly; returns the merged records.
    """
    method_dir = Path(method_dir)
    ranks = _rank_files(method_dir, split)
    records = read_split_records(method_dir, split)
    write_records(split_path(method_dir, split), records)
    for p in ranks:
        p.unlink(missing_ok=True)
    return records


def replay(scorer, record: dict) -> None:
    """Add a stored record to a `BenchmarkScorer` exactly as ``scorer.add`` added its sample.

    ``record["score_group"]`` is the split / type the sample was scored under and
    ``record["tags"]`` its extra rows. A scorer with Ref-AVS batches (protocol ``refavs-toolkit``)
    needs the records' ``avs_stats``, which an evaluation under that protocol stores; the kit's
    default batches of 1 need only per-sample values (scores independent of order and sharding).
    """
    from omni_r1_lite.metrics.refavs import AVSStats
    from omni_r1_lite.metrics.scorer import _AVSBatches

    batched = scorer.benchmark == "refavs" and scorer.refavs_batch_size != 1
    if batched and "avs_stats" not in record:
        raise ValueError("records without avs_stats can only be replayed into a scorer with refavs_batch_size=1 "
                         "(evaluate with eval.protocol=refavs-toolkit to keep them)")
    group = scorer.canonical_split(record["score_group"])
    keys = REFAVS_KEYS if scorer.benchmark == "refavs" else VOS_KEYS
    values = {k: float(record[k]) for k in keys}
    if batched:
        scorer._avs.setdefault(group, _AVSBatches(scorer.refavs_batch_size)).add(
            AVSStats.from_dict(record["avs_stats"]))
    elif scorer.benchmark == "refavs":
        batches = scorer._avs.setdefault(group, _AVSBatches(1))
        batches.done.add({k: values[k] for k in ("J_avs", "F_avs", "S")})
    elif record.get("R_foreground", "gt") == "gt":
        scorer._gt_foreground += 1
    tags = [str(t) for t in record.get("tags", ())]
    scorer._accumulate(group, tags, values)
    if scorer.keep_records:
        scorer.records.append({k: record[k] for k in ("sample_id", "split", *keys) if k in record})
