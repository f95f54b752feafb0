"""The benchmark runner: a method over a split, greedily, every sample scored and streamed to JSONL.

Protocol (paper App. B): System 1 sees at most ``cfg.eval.max_frames`` evenly sampled low-res
frames (``cfg.system1.frame_max_pixels`` each); System 2 grounds the keyframes at high resolution
and segments **every** frame of the clip at its original resolution; the masks of every frame are
scored against the ground truth with the benchmark's scorer:

===========  =====================================================================================
RefAVS       ``"refavs"`` (DAVIS J / boundary F and the Ref-AVS toolkit's J_avs / F_avs / null S)
ReVOS        ``"revos"`` (split by ``type_id``; tags ``single`` / ``multi`` by number of objects)
OmniSynth    ``"vos"`` per split (DAVIS J, F, A, R) **and** ``"refavs"``, since OmniSynth is written
             in the RefAVS layout: its Table-1 view gives seen / unseen J&F and the null split's S
===========  =====================================================================================

OmniSynth and RefAVS samples are also tagged ``"type: <expression type>"`` (referring, reasoning,
audio-visual, null), so the tables break results down per type.

**Resume.** Records are appended (and flushed) one per sample. A new run of the same method and
split reads them, skips finished samples and redoes error rows and a truncated last line. A
``<split>.meta.json`` fingerprint (method, weights with file times, the evaluation-relevant
config) guards against mixing results: a mismatch raises `StaleResultsError` unless
``overwrite=True``.

**Sharding.** Under ``accelerate launch`` rank ``r`` of ``w`` takes samples ``r::w`` and writes
``<split>.rank<r>.jsonl``; after ``wait_for_everyone`` rank 0 merges them into ``<split>.jsonl``.
Tables are always rebuilt from the merged records in sample order (`records.replay`), so a
resumed, a sharded and an uninterrupted run give identical tables.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omni_r1_lite.config import KitConfig, check_system2, to_dict
from omni_r1_lite.data.schema import Sample
from omni_r1_lite.evaluation import records as rec_io
from omni_r1_lite.evaluation.methods import (
    METHODS,
    ModelMethod,
    ReferenceMethod,
    build_system2,
    load_weights,
    resolve_weights,
    suppress_tokens_for,
)

BENCHMARKS_OF = {"omnisynth": ("vos", "refavs"), "refavs": ("refavs",), "revos": ("revos",), "mevis": ("vos",)}
"""Scorers per dataset; the first is the dataset's main benchmark."""

_OMNISYNTH_SPLIT = {"test_s": "seen", "test_u": "unseen", "test_n": "null"}


class StaleResultsError(RuntimeError):
    """Stored results were produced by other weights or another config."""


def shard(n: int, rank: int, world_size: int) -> list[int]:
    """Indices a process evaluates: ``rank::world_size``.

    >>> shard(5, 0, 2), shard(5, 1, 2), shard(3, 0, 1)
    ([0, 2, 4], [1, 3], [0, 1, 2])
    """
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"bad rank {rank} of world size {world_size}")
    return list(range(rank, n, world_size))


def canonical_split(dataset: str, split: str) -> str:
    """The file name of a split: OmniSynth's own names (``test_s`` → ``seen``), others as given."""
    return _OMNISYNTH_SPLIT.get(split, split) if dataset == "omnisynth" else split


@dataclasses.dataclass
class SplitResult:
    """The records of one method on one split (compacted, in sample order).

    Attributes:
        records: every record, scored ones and error rows.
        path: the merged ``<split>.jsonl``.
    """

    method: str
    dataset: str
    split: str
    records: list[dict]
    path: Path

    @property
    def scored(self) -> list[dict]:
        return [r for r in self.records if not r.get("error")]

    @property
    def errors(self) -> list[dict]:
        return [r for r in self.records if r.get("error")]

    @property
    def seconds_per_sample(self) -> float:
        s = [r["seconds"] for r in self.scored]
        return float(np.mean(s)) if s else float("nan")

    def scorer(self, benchmark: str | None = None):
        """A `BenchmarkScorer` rebuilt from the records (``benchmark``: default the main one)."""
        return build_scorer(benchmark or BENCHMARKS_OF[self.dataset][0], self.scored)

    def table(self, benchmark: str | None = None):
        return self.scorer(benchmark).table()


def protocol_for(benchmark: str, protocol: str) -> str:
    """The scoring protocol a benchmark runs under: ``visa`` applies to ReVOS-style benchmarks,
    ``refavs-toolkit`` to RefAVS; anything else is scored by the kit's definitions."""
    fits = {"visa": ("revos", "vos"), "refavs-toolkit": ("refavs",)}
    return protocol if benchmark in fits.get(protocol, ()) else "kit"


def build_scorer(benchmark: str, records: Sequence[dict], protocol: str | None = None):
    """A `BenchmarkScorer` holding ``records`` (scored ones), replayed in the given order, under
    ``protocol`` (default: the one the records were scored under)."""
    from omni_r1_lite.metrics import BenchmarkScorer

    if protocol is None:
        protocol = next((r.get("protocol") for r in records if not r.get("error")), None) or "kit"
    scorer = BenchmarkScorer(benchmark, keep_records=False, protocol=protocol_for(benchmark, protocol))
    for r in records:
        if not r.get("error"):
            rec_io.replay(scorer, r)
    return scorer


def _tags(sample: Sample) -> list[str]:
    if sample.dataset == "revos":
        n = len(sample.object_ids)
        return ["single"] if n == 1 else (["multi"] if n > 1 else [])
    return [f"type: {sample.expression_type}"]


def _score_group(sample: Sample) -> Any:
    if sample.dataset == "revos":
        return int(sample.meta.get("type_id", 0))
    return sample.split


class Evaluator:
    """Runs one method over splits of the preset's dataset (see the module docstring).

    Args:
        cfg: the preset (plus overrides); ``cfg.eval.max_frames`` frames for System 1.
        data_dir: DATA_DIR.
        out_dir: the run folder; results go to ``<out_dir>/eval/<method>/``.
        method: one of `METHODS`.
        adapter: explicit model / adapter folder for ``sft`` / ``grpo`` (else found in ``out_dir``).
        model, processor: an already loaded System 1 (skips loading; e.g. a notebook's model).
        system2: an already built `DetailSystem` (default: the preset's).
        strict: raise on a bad sample (the `DataError` names the file) instead of an error row.
            Otherwise any failure of one sample (bad media, a shape mismatch, a model error) becomes
            an error row naming the sample and the cause, and the rest of the split is scored; only
            running out of memory stops the split (it is a setting, not a sample).
        max_samples: cap per split (default ``cfg.data.max_eval_samples``; the first N samples).
        overwrite: discard stored results whose fingerprint differs (else `StaleResultsError`).
        progress: tqdm bar with rate and ETA.
        device: for the models (default: the accelerate process's device).
        avs_keyframes: clip frames an AVS rewrite is grounded on (1: frame 0, as the paper's RefAVS).
        max_new_tokens: System-1 decoding budget (default ``cfg.grpo.max_completion_length``).
        validate: decode every frame, mask and the audio of a sample before running it (default; a
            clip's files are decoded once for all its expressions). Catches corrupt or short media
            a backend would never read (JPEGs under the OmniSynth stand-in, a truncated WAV): the
            sample becomes an error row naming the file instead of being scored on bad input.
        callback: ``callback(record, done, total)`` after each record is written.
    """

    def __init__(self, cfg: KitConfig, data_dir: str | Path, out_dir: str | Path, method: str, *,
                 adapter: str | Path | None = None, model: Any = None, processor: Any = None,
                 system2: Any = None, strict: bool = False, max_samples: int | None = None,
                 overwrite: bool = False, progress: bool = True, device: Any = None, avs_keyframes: int = 1,
                 max_new_tokens: int | None = None, validate: bool = True,
                 callback: Callable[[dict, int, int], None] | None = None):
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
        if system2 is None:
            check_system2(cfg)  # before any sample: the stand-in cannot answer for real data
        from omni_r1_lite.metrics.scorer import PROTOCOLS

        if cfg.eval.protocol not in PROTOCOLS:
            raise ValueError(f"eval.protocol={cfg.eval.protocol!r}: choose one of {PROTOCOLS}")
        self.cfg, self.data_dir, self.out_dir, self.method = cfg, Path(data_dir), Path(out_dir), method
        self.adapter = adapter
        self.model, self.processor, self.system2 = model, processor, system2
        self.strict, self.overwrite, self.progress, self.validate = strict, overwrite, progress, validate
        self.max_samples = cfg.data.max_eval_samples if max_samples is None else max_samples
        self.device = device
        self.avs_keyframes = int(avs_keyframes)
        self.max_new_tokens = int(max_new_tokens or cfg.grpo.max_completion_length)
        self.callback = callback
        self._validated: dict = {}  # validate_sample's per-clip cache
        self.frames = int(cfg.eval.max_frames)
        self.weights = None
        if model is None and method not in ("uniform", "oracle"):
            self.weights = resolve_weights(method, cfg, data_dir, out_dir, adapter)  # fail early, clearly
        self._impl = None
        self._pipeline = None
        self.load_seconds = 0.0
        self.rank = 0

    @property
    def method_dir(self) -> Path:
        return self.out_dir / "eval" / results_name(self.method, self.cfg)

    # -- samples and setup ------------------------------------------------------------------------

    def samples(self, split: str):
        """The split's samples (a `LoadResult`), capped at ``max_samples``; listing errors in
        ``.skipped`` (non-strict)."""
        from omni_r1_lite.data.loading import LoadResult
        from omni_r1_lite.data.sources import load_samples

        loaded = load_samples(self.cfg, self.data_dir, split, strict=self.strict)
        keep = list(loaded) if self.max_samples is None else list(loaded)[: int(self.max_samples)]
        return LoadResult(keep, skipped=loaded.skipped, info=loaded.info)

    def pipeline(self):
        """The two-system `Pipeline` (models loaded on first use)."""
        if self._pipeline is None:
            from omni_r1_lite.systems.pipeline import Pipeline

            t0 = time.perf_counter()
            k = self.cfg.system1.max_keyframes
            if self.method in ("uniform", "oracle"):
                self._impl = ReferenceMethod(self.method, k)
            else:
                self._impl = self._model_method()
            if self.system2 is None:
                self.system2 = build_system2(self.cfg, self.data_dir, self.model, self.processor,
                                             self._device() if self.cfg.system2.backend != "standin" else None)
            # one clip's masks are never requested twice here: keep the mask cache tiny (a ReVOS
            # clip's masks can take ~100 MB)
            self._pipeline = Pipeline(self.system2, max_frames=self.frames, max_keyframes=k,
                                      avs_keyframes=self.avs_keyframes, segment_cache=2)
            self.load_seconds = time.perf_counter() - t0
        return self._pipeline

    def _device(self):
        if self.device is None:
            from accelerate import PartialState

            self.device = str(PartialState().device)
        return self.device

    def _model_method(self) -> ModelMethod:
        from omni_r1_lite.systems.reasoner import GlobalReasoner

        if self.model is None:
            self.model, self.processor = load_weights(self.weights, device=self._device(), cfg=self.cfg)
        s1 = dataclasses.replace(self.cfg.system1, max_frames=self.frames)
        reasoner = GlobalReasoner(self.model, self.processor, s1, suppress_tokens_for(self.processor))
        return ModelMethod(self.method, reasoner, self.max_new_tokens)

    def fingerprint(self, dataset: str, split: str) -> dict[str, Any]:
        """What the stored results of a split depend on (compared on resume)."""
        c = to_dict(self.cfg)
        data = {k: v for k, v in c["data"].items()
                if k not in ("data_dir", "max_eval_samples", "eval_splits", "train_splits", "synth_train_clips")}
        weights = self.weights.identity() if self.weights is not None else (
            None if self.model is None else f"in-memory {type(self.model).__name__}")
        fp = {"method": self.method, "dataset": dataset, "split": split, "weights": weights,
              "system1_frames": self.frames, "max_new_tokens": self.max_new_tokens,
              "avs_keyframes": self.avs_keyframes, "seed": c["seed"], "data": data,
              "system1": c["system1"],
              # the feature cache changes speed, not masks: results stay resumable across it
              "system2": {k: v for k, v in c["system2"].items() if k != "sam2_cache_frames"
                          # a field added later stays out at its default: earlier results resume
                          and not (k == "grounder" and v is None)}}
        if self.cfg.eval.protocol != "kit":  # only then: earlier fingerprints stay valid
            fp["protocol"] = self.cfg.eval.protocol
        behaviour = self._system2_settings()
        if behaviour is not None:  # only where there is one: older fingerprints stay valid otherwise
            fp["system2_settings"] = behaviour
        return fp

    def _system2_settings(self) -> dict[str, Any] | None:
        """The OmniSynth stand-in's behaviour (``settings()``), which code, not config, decides: a
        stand-in that answers differently must not resume results of the earlier one."""
        if self.system2 is not None:
            settings = getattr(self.system2, "settings", None)
            return settings() if callable(settings) else None
        if self.cfg.system2.backend == "standin":
            from omni_r1_lite.systems.standin import OmniSynthStandIn

            return OmniSynthStandIn().settings()
        return None

    # -- one sample -------------------------------------------------------------------------------

    def _row(self, index: int | None, sample: Sample) -> dict[str, Any]:
        kind = sample.meta.get("kind") if sample.dataset != "revos" else sample.meta.get("type_id")
        return {"index": index, "sample_id": sample.sample_id, "split": sample.split, "dataset": sample.dataset,
                "method": self.method, "type": sample.expression_type, "kind": kind,
                "expression": sample.expression}

    def evaluate_sample(self, index: int, sample: Sample) -> dict[str, Any]:
        """Run and score one sample: its record (see `omni_r1_lite.evaluation` for the schema)."""
        pipeline = self.pipeline()
        t0 = time.perf_counter()
        if self.validate:
            from omni_r1_lite.data.loading import validate_sample

            validate_sample(sample, cache=self._validated)
        prop = self._impl.propose(sample, pipeline)
        boxes, masks = pipeline.run_plan(sample, prop.keyframes, prop.descriptions)
        gt = sample.load_masks()
        record = self._row(index, sample)
        record.update(
            completion=prop.completion, finished=prop.finished, num_tokens=prop.num_tokens,
            plan_ok=prop.plan_ok, issues=list(prop.issues), keyframes=list(prop.keyframes),
            descriptions=list(prop.descriptions),
            boxes=[np.round(np.asarray(boxes[k], float), 1).tolist() for k in prop.keyframes],
            n_frames=int(gt.shape[0]), gt_frames=int(gt.reshape(len(gt), -1).any(1).sum()),
            pred_frames=int(np.asarray(masks).reshape(len(masks), -1).any(1).sum()),
            score_group=_score_group(sample), tags=_tags(sample),
        )
        record.update(self._score(sample, masks, gt, record["score_group"], record["tags"]))
        if self.cfg.eval.save_predictions:
            self._save_masks(sample, masks)
        record["seconds"] = round(time.perf_counter() - t0, 4)
        record["error"] = None
        return record

    def _score(self, sample: Sample, masks, gt, group, tags) -> dict[str, Any]:
        from omni_r1_lite.metrics import BenchmarkScorer

        out: dict[str, Any] = {"protocol": self.cfg.eval.protocol}
        for bench in BENCHMARKS_OF[sample.dataset]:
            fg = None
            if bench == "revos" and sample.meta.get("foreground") is not None:
                from omni_r1_lite.data.revos import load_foreground

                fg = load_foreground(sample)
            protocol = protocol_for(bench, self.cfg.eval.protocol)
            count = None
            if protocol == "visa":  # VISA adds the objects' masks in uint8
                count = np.asarray(sample.load_object_masks(), dtype=np.uint8).sum(axis=0, dtype=np.uint8)
            r = BenchmarkScorer(bench, keep_records=False, protocol=protocol).add(
                sample.sample_id, group, masks, gt, foreground=fg, tags=tags, gt_count=count)
            for k, v in r.items():
                if k not in ("sample_id", "split", "n_frames", "tags"):
                    out.setdefault(k, v)
        return out

    def _save_masks(self, sample: Sample, masks) -> None:
        from PIL import Image

        folder = self.method_dir / "predictions" / sample.split / sample.sample_id
        folder.mkdir(parents=True, exist_ok=True)
        for name, m in zip(sample.frame_names, np.asarray(masks, bool)):
            Image.fromarray(m.astype(np.uint8) * 255).save(folder / f"{Path(name).stem}.png")

    def _error_row(self, index: int | None, sample: Sample | None, sample_id: str, error: BaseException | str,
                   stage: str, seconds: float = 0.0) -> dict[str, Any]:
        row = self._row(index, sample) if sample is not None else {
            "index": index, "sample_id": sample_id, "split": None, "dataset": self.cfg.data.dataset,
            "method": self.method, "type": None, "kind": None, "expression": None}
        msg = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        row.update(error=msg, stage=stage, seconds=round(seconds, 4))
        return row

    # -- a split ----------------------------------------------------------------------------------

    def _check_meta(self, meta_path: Path, fp: dict, split: str, rank: int) -> None:
        _check_fingerprint(meta_path, fp, split, rank, self.overwrite, self.method_dir,
                           extra=self.method_dir / "predictions" / split)

    def run_split(self, split: str, *, rank: int | None = None, world_size: int | None = None,
                  merge: bool = True) -> SplitResult:
        """Evaluate one split (resuming), merge shards, and return its records.

        ``rank`` / ``world_size`` default to the accelerate process (``PartialState``); passing
        them simulates one process of a sharded run (no barriers; call `merge_split` after).
        """
        state = None
        if rank is None or world_size is None:
            from accelerate import PartialState

            state = PartialState()
            rank, world_size = state.process_index, state.num_processes
        self.rank = rank
        if rank == 0 and not (self.out_dir / "config.json").exists():
            from omni_r1_lite.repro import RunDir

            RunDir.create(self.out_dir, self.cfg)  # a new run folder records its config and versions
        if state is not None and world_size > 1:
            with state.main_process_first():  # rank 0 may generate OmniSynth; the others wait
                samples = self.samples(split)
        else:
            samples = self.samples(split)
        dataset = samples[0].dataset if samples else self.cfg.data.dataset
        name = canonical_split(dataset, split)
        self.method_dir.mkdir(parents=True, exist_ok=True)
        self._check_meta(self.method_dir / f"{name}.meta.json", self.fingerprint(dataset, name), name, rank)
        if state is not None and world_size > 1:
            state.wait_for_everyone()

        target = rec_io.split_path(self.method_dir, name) if world_size == 1 else rec_io.rank_path(
            self.method_dir, name, rank)
        rec_io.read_records(target, repair=True)  # drop a truncated last line before appending
        stored = rec_io.read_split_records(self.method_dir, name)
        done = rec_io.done_ids(stored)
        todo = [i for i in shard(len(samples), rank, world_size) if samples[i].sample_id not in done]
        with target.open("a", encoding="utf-8") as fh:
            if rank == 0:
                listed = {r["sample_id"] for r in stored if r.get("stage") == "listing"}
                for ident, reason in samples.skipped:
                    sid = ident.split(" (", 1)[0]  # RefAVS: "<split>/<uid> (metadata.csv line N)"
                    if sid not in listed:
                        row = self._error_row(None, None, sid, reason, "listing")
                        row["listing_id"] = ident
                        rec_io.append_record(fh, row)
            self._loop(fh, samples, todo, name, rank)
        if state is not None and world_size > 1:
            state.wait_for_everyone()
        if merge and rank == 0:
            self.merge_split(name)
        if state is not None and world_size > 1:
            state.wait_for_everyone()
        return self.result(name, dataset)

    def _loop(self, fh, samples, todo: list[int], name: str, rank: int) -> None:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=f"{self.method} {name}" + (f" [rank {rank}]" if rank else ""),
                   unit="sample", disable=not self.progress or not todo, position=rank, dynamic_ncols=True)
        jf_sum, n = 0.0, 0
        batch = max(1, int(self.cfg.eval.batch_size))
        if todo:
            self.pipeline()  # builds the method (and loads its model) once
        prefetch = getattr(self._impl, "prefetch", None)
        try:
            for pos, i in enumerate(todo):
                if prefetch is not None and batch > 1 and pos % batch == 0:
                    prefetch([samples[j] for j in todo[pos:pos + batch]])
                sample = samples[i]
                t0 = time.perf_counter()
                try:
                    record = self.evaluate_sample(i, sample)
                except Exception as e:  # one bad sample is an error row, not the end of the split
                    if self.strict or _stops_the_split(e):
                        raise
                    record = self._error_row(i, sample, sample.sample_id, e, "evaluate", time.perf_counter() - t0)
                    record["traceback"] = traceback.format_exc(limit=3)
                rec_io.append_record(fh, record)
                if not record.get("error"):
                    jf_sum, n = jf_sum + record["JF"], n + 1
                bar.update(1)
                bar.set_postfix({"J&F": f"{100 * jf_sum / max(n, 1):.1f}", "errors": pos + 1 - n}, refresh=False)
                if self.callback is not None:
                    self.callback(record, pos + 1, len(todo))
        finally:
            bar.close()

    def merge_split(self, split: str) -> list[dict]:
        """Merge rank files into ``<split>.jsonl`` (compacted, in sample order)."""
        return rec_io.merge_shards(self.method_dir, split)

    def result(self, split: str, dataset: str | None = None) -> SplitResult:
        """The stored records of a split as a `SplitResult` (no evaluation)."""
        split = canonical_split(dataset or self.cfg.data.dataset, split)
        records = rec_io.read_split_records(self.method_dir, split)
        return SplitResult(self.method, dataset or self.cfg.data.dataset, split, records,
                           rec_io.split_path(self.method_dir, split))

    def run(self, splits: Sequence[str] | None = None) -> dict[str, SplitResult]:
        """Every split (default ``cfg.data.splits("eval")``; ReVOS: ``valid``)."""
        if splits is None:
            splits = self.cfg.data.splits("eval")
        return {s: self.run_split(s) for s in splits}


def evaluate_split(cfg: KitConfig, data_dir: str | Path, split: str, method: str, out_dir: str | Path,
                   **kwargs) -> SplitResult:
    """Evaluate ``method`` on one split into ``<out_dir>/eval/<method>/<split>.jsonl`` (resuming).

    Keyword arguments are `Evaluator`'s (``adapter``, ``strict``, ``max_samples``, ``overwrite``,
    ``progress``, ``callback``, ...) plus ``rank`` / ``world_size`` / ``merge`` of `run_split`.
    """
    run_kw = {k: kwargs.pop(k) for k in ("rank", "world_size", "merge") if k in kwargs}
    return Evaluator(cfg, data_dir, out_dir, method, **kwargs).run_split(split, **run_kw)


def results_name(method: str, cfg: KitConfig) -> str:
    """The folder name of a method's results under ``<run>/eval/``: the method, or
    ``<method>+<backend>`` when System 2 grounds with a model of its own (``visionreasoner``,
    ``sa2va``), so that the Table-5 settings sit beside each other instead of refusing to resume.

    >>> from omni_r1_lite.config import apply_overrides, get_preset
    >>> results_name("grpo", get_preset("smoke")), results_name("grpo", apply_overrides(
    ...     get_preset("a100-7b"), ["system2.backend=visionreasoner"]))
    ('grpo', 'grpo+visionreasoner')
    """
    from omni_r1_lite.config import EXTERNAL_GROUNDERS

    backend = cfg.system2.backend
    return f"{method}+{backend}" if backend in EXTERNAL_GROUNDERS else method


def _check_fingerprint(meta_path: Path, fp: dict, name: str, rank: int, overwrite: bool, method_dir: Path,
                       extra: Path | None = None) -> None:
    """Compare stored results' fingerprint with ``fp``: same → resume; different → `StaleResultsError`
    unless ``overwrite`` (then rank 0 deletes ``<name>.jsonl``, its rank files and ``extra``); rank 0
    writes the meta file."""
    if meta_path.exists():
        old = json.loads(meta_path.read_text())
        if old.get("fingerprint") == _digest(fp):
            return
        if not overwrite:
            raise StaleResultsError(
                f"{meta_path.parent} holds {name!r} results of other weights or another config "
                f"({_diff(old.get('inputs', {}), fp)}); pass overwrite=True (--overwrite) to discard "
                "them, or use another run folder")
        if rank == 0:
            for p in [rec_io.split_path(method_dir, name), *method_dir.glob(f"{name}.rank*.jsonl")]:
                p.unlink(missing_ok=True)
            if extra is not None:
                shutil.rmtree(extra, ignore_errors=True)
    if rank == 0:
        _write_json(meta_path, {"fingerprint": _digest(fp), "inputs": fp, "created": time.time()})


def _stops_the_split(error: BaseException) -> bool:
    """Failures that are not one sample's: out of (GPU or host) memory."""
    import torch

    return isinstance(error, (MemoryError, torch.cuda.OutOfMemoryError))


def _digest(fp: dict) -> str:
    return hashlib.sha256(json.dumps(fp, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _diff(old: dict, new: dict, prefix: str = "") -> str:
    keys = sorted(set(old) | set(new))
    out = []
    for k in keys:
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            sub = _diff(a, b, f"{prefix}{k}.")
            if sub:
                out.append(sub)
        elif json.dumps(a, sort_keys=True, default=str) != json.dumps(b, sort_keys=True, default=str):
            out.append(f"{prefix}{k}")
    return ", ".join(out[:6]) or "fingerprint"


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(path)
