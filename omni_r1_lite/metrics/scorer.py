"""Streaming benchmark scoring: `BenchmarkScorer` turns one sample at a time into a per-sample record
and keeps only scalars, then lays the results out as the paper's tables.

Benchmarks and conventions:

- ``"revos"`` (VISA ``tools/eval_revos.py``): per expression, J, F (DAVIS), A and R are means over
  all frames; per type (``referring`` = type 0, ``reasoning`` = type 1) the mean over expressions;
  **overall = the mean of the referring and reasoning rows** (NaN until both exist). Type 2 (VISA's
  ``nan``) is scored and listed but left out of overall, as VISA does. VISA rounds each expression's
  value to 0.01 percentage points before averaging (``visa_rounding=True`` does the same; the effect
  is below 0.005 points).
- ``"refavs"``: splits ``test_s``/``seen``, ``test_u``/``unseen`` and ``test_n``/``null`` (other
  names are kept as they are and scored like seen). Both families are reported, labelled: DAVIS
  ``J``, ``F_boundary``, ``J&F`` (per-expression means over frames, then the mean over expressions;
  the paper's Table 1 does not say which F it uses) and the Ref-AVS toolkit's ``J_avs``, ``F_avs``,
  ``J&F_avs`` plus the null split's ``S`` (see `omni_r1_lite.metrics.refavs`). The toolkit scores
  batches of ``refavs_batch_size`` consecutive samples of a split (upstream: 4) and averages the
  batches; the default 1 makes the scores independent of sample order.
- ``"vos"``: any split names (MeViS, OmniSynth, ...): DAVIS J, F, J&F, A, R per split and overall =
  the mean over all samples.

``tags`` put a sample into extra rows (e.g. the paper's ReVOS ``single`` / ``multi`` columns).
Tables show J, F, A, R in percent and S as a fraction; records keep every value in [0, 1].

>>> import numpy as np
>>> gt = np.zeros((3, 32, 48), bool); gt[:, 8:24, 10:30] = True
>>> scorer = BenchmarkScorer("revos")
>>> rec = scorer.add("vid1/0", "referring", gt, gt)
>>> rec = scorer.add("vid1/1", 1, np.zeros_like(gt), gt)
>>> rec["J"], rec["F"], rec["R"]
(0.0, 0.0, 1.0)
>>> print(scorer.table().to_markdown())
**ReVOS (R with foreground = ground truth: a lower bound of VISA's R)**
<BLANKLINE>
| group | n | J | F | J&F | A | R |
|---|---|---|---|---|---|---|
| referring | 1 | 100.0 | 100.0 | 100.0 | 100.0 | 100.0 |
| reasoning | 1 | 0.0 | 0.0 | 0.0 | 79.2 | 100.0 |
| overall | 2 | 50.0 | 50.0 | 50.0 | 89.6 | 100.0 |
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from omni_r1_lite.metrics._checks import as_binary, as_probability, check_same_shape
from omni_r1_lite.metrics.counts import check_backend, frame_counts
from omni_r1_lite.metrics.formulas import davis_f, davis_j, visa_accuracy, visa_robustness
from omni_r1_lite.metrics.refavs import AVSStats, avs_stats, stats_from_counts
from omni_r1_lite.metrics.table import Table
from omni_r1_lite.metrics.visa import check_pred_value, foreground_counts

__all__ = ["BENCHMARKS", "PROTOCOLS", "BenchmarkScorer"]

BENCHMARKS = ("revos", "refavs", "vos")
PROTOCOLS = ("kit", "visa", "refavs-toolkit")
"""How the official scripts' arithmetic is followed (see `BenchmarkScorer`): ``kit`` the intended
definitions, ``visa`` VISA's ``eval_revos.py`` to the digit, ``refavs-toolkit`` the Ref-AVS test
loop's batches of 4."""
REVOS_TYPES = {
    "0": "referring",
    "referring": "referring",
    "1": "reasoning",
    "reasoning": "reasoning",
    "2": "nan",
    "nan": "nan",
}
REFAVS_SPLITS = {
    "test_s": "seen",
    "seen": "seen",
    "test_u": "unseen",
    "unseen": "unseen",
    "test_n": "null",
    "null": "null",
}
PERCENT = ("J", "F", "JF", "A", "R", "J_avs", "F_avs", "JF_avs")
_DAVIS_COLUMNS = {"J": "J", "F": "F", "JF": "J&F", "A": "A", "R": "R"}


class _Mean:
    """Running sums of scalar metrics over samples."""

    def __init__(self):
        self.n = 0
        self.sums: dict[str, float] = {}

    def add(self, values: dict[str, float]) -> None:
        self.n += 1
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v

    def mean(self, key: str) -> float:
        return self.sums[key] / self.n if self.n and key in self.sums else math.nan


class _AVSBatches:
    """Ref-AVS batching: ``AVSStats`` of ``size`` consecutive samples form one batch."""

    def __init__(self, size: int):
        self.size = size
        self.done = _Mean()
        self.pending: AVSStats | None = None
        self.count = 0

    def add(self, stats: AVSStats) -> None:
        self.pending = stats if self.pending is None else self.pending + stats
        self.count += 1
        if self.count == self.size:
            self.done.add(self.pending.scores())
            self.pending, self.count = None, 0

    def means(self) -> dict[str, float]:
        total = _Mean()
        total.n, total.sums = self.done.n, dict(self.done.sums)
        if self.pending is not None:  # upstream's last, shorter batch
            total.add(self.pending.scores())
        return {k: total.mean(k) for k in ("J_avs", "F_avs", "S")}


class BenchmarkScorer:
    """Scores samples one at a time; keeps per-sample scalars only.

    Args:
        benchmark: ``"revos"``, ``"refavs"`` or ``"vos"`` (see the module docstring).
        bound_th: DAVIS boundary tolerance (fraction of the diagonal, or pixels when >= 1).
        backend, device: ``"numpy"`` or ``"torch"`` (on ``device``) for the per-frame counts.
        refavs_batch_size: samples per Ref-AVS toolkit batch for J_avs, F_avs and S (upstream: 4).
        visa_pred_value: 1 (0/1 masks) or 255 (VISA's 0/255 PNG comparison) for A and R.
        visa_rounding: round per-expression values to 0.01 points before averaging, as VISA does.
        keep_records: keep the per-sample records in ``self.records`` (the tables never need them).
        protocol: ``"kit"`` (default: the intended definitions, scores independent of sample order),
            ``"visa"`` (``revos``/``vos``: VISA's ``eval_revos.py`` to the digit: predictions compared
            as 0/255 PNGs, the ground truth as the uint8 *sum* of the expression's object masks
            (`add`'s ``gt_count``), with uint8 wrap-around in R: a predicted pixel where k >= 1
            objects overlap adds k - 1, a false positive 255; values rounded to 0.01 points per
            expression) or ``"refavs-toolkit"`` (``refavs``: the test loop's batches of 4
            consecutive samples, each batch's mean, then the mean over batches, the last shorter
            batch weighing as much as a full one). It overrides ``visa_pred_value``,
            ``visa_rounding`` and ``refavs_batch_size``.
    """

    def __init__(
        self,
        benchmark: str = "revos",
        *,
        bound_th: float = 0.008,
        backend: str = "numpy",
        device=None,
        refavs_batch_size: int = 1,
        visa_pred_value: int = 1,
        visa_rounding: bool = False,
        keep_records: bool = True,
        protocol: str = "kit",
    ):
        if benchmark not in BENCHMARKS:
            raise ValueError(f"benchmark must be one of {BENCHMARKS}; got {benchmark!r}")
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}; got {protocol!r}")
        if protocol == "visa":
            if benchmark == "refavs":
                raise ValueError("protocol 'visa' is ReVOS's (benchmark 'revos' or 'vos'), not RefAVS's")
            visa_pred_value, visa_rounding = 255, True
        elif protocol == "refavs-toolkit":
            if benchmark != "refavs":
                raise ValueError("protocol 'refavs-toolkit' needs benchmark 'refavs'")
            refavs_batch_size = 4
        self.protocol = protocol
        check_backend(backend)
        if int(refavs_batch_size) != refavs_batch_size or refavs_batch_size < 1:
            raise ValueError(f"refavs_batch_size must be a positive integer; got {refavs_batch_size}")
        self.benchmark = benchmark
        self.bound_th = bound_th
        self.backend, self.device = backend, device
        self.refavs_batch_size = int(refavs_batch_size)
        self.visa_pred_value = check_pred_value(visa_pred_value)
        self.visa_rounding = visa_rounding
        self.keep_records = keep_records
        self.records: list[dict] = []
        self._groups: dict[str, _Mean] = {}
        self._tags: dict[str, _Mean] = {}
        self._avs: dict[str, _AVSBatches] = {}
        self._gt_foreground = 0

    def __len__(self) -> int:
        return sum(g.n for g in self._groups.values())

    def canonical_split(self, split) -> str:
        """The table row a split / type name belongs to (``test_s`` → ``seen``, ``0`` → ``referring``)."""
        name = str(split).strip()
        if self.benchmark == "revos":
            if name.lower() not in REVOS_TYPES:
                raise ValueError(
                    f"ReVOS expression type must be 0/1/2 or referring/reasoning/nan; got {split!r}"
                )
            return REVOS_TYPES[name.lower()]
        if self.benchmark == "refavs":
            return REFAVS_SPLITS.get(name.lower(), name)
        return name

    def add(self, sample_id, split, pred, gt, *, foreground=None, tags: Iterable[str] = (),
            gt_count=None) -> dict:
        """Score one sample and return its record.

        Args:
            sample_id: any id (stored as ``str``).
            split: split or expression type (see `canonical_split`).
            pred: ``bool[T, H, W]`` (0/1 accepted; for ``"refavs"`` also probabilities
                ``float[T, H, W]`` in [0, 1], binarised at 0.5 for the DAVIS metrics).
            gt: ``bool[T, H, W]``, the union of the referred objects.
            foreground: optional ``bool[T, H, W]`` video foreground for VISA's R (see
                `omni_r1_lite.metrics.visa`); without it R uses ``gt``.
            tags: extra table rows this sample also counts in.
            gt_count: protocol ``"visa"`` only: ``uint8[T, H, W]``, how many of the expression's
                objects cover each pixel (VISA adds their masks); default ``gt`` itself.
        """
        group = self.canonical_split(split)
        p, binary = (
            as_probability(pred, "pred") if self.benchmark == "refavs" else (as_binary(pred, "pred"), True)
        )
        g = as_binary(gt, "gt")
        check_same_shape(p, g, ("pred", "gt"))
        mask = p if binary else p > np.float32(0.5)
        c = frame_counts(mask, g, bound_th=self.bound_th, backend=self.backend, device=self.device)
        j, f = float(davis_j(c).mean()), float(davis_f(c).mean())
        values = {"J": j, "F": f, "JF": (j + f) / 2}
        if self.benchmark == "refavs":
            values.update(self._refavs_values(group, c, p, g, binary))
        elif self.protocol == "visa":
            values.update(self._visa_literal(mask, g if gt_count is None else gt_count, foreground))
        else:
            values.update(self._visa_values(c, foreground, p.shape))
        record = {"sample_id": str(sample_id), "split": group, "n_frames": int(p.shape[0])}
        record.update(values)
        tags = [str(t) for t in tags]
        record["tags"] = tags
        self._accumulate(group, tags, values)
        if self.keep_records:
            self.records.append(record)
        return record

    def _refavs_values(self, group: str, c, p, g, binary: bool) -> dict:
        stats = stats_from_counts(c) if binary else avs_stats(p, g, backend=self.backend, device=self.device)
        self._avs.setdefault(group, _AVSBatches(self.refavs_batch_size)).add(stats)
        s = stats.scores()
        out = {
            "J_avs": s["J_avs"],
            "F_avs": s["F_avs"],
            "JF_avs": (s["J_avs"] + s["F_avs"]) / 2,
            "S": s["S"],
        }
        if self.refavs_batch_size != 1:  # what a replay into batches needs (see records.replay)
            out["avs_stats"] = stats.to_dict()
        return out

    def _visa_values(self, c, foreground, shape) -> dict:
        fg = None if foreground is None else foreground_counts(foreground, shape)
        self._gt_foreground += fg is None
        return {
            "A": float(visa_accuracy(c, self.visa_pred_value).mean()),
            "R": float(visa_robustness(c, fg, self.visa_pred_value).mean()),
            "R_foreground": "gt" if fg is None else "video",
        }

    def _visa_literal(self, pred: np.ndarray, gt_count, foreground) -> dict:
        """A and R with ``eval_revos.py``'s own arithmetic (uint8 0/255 prediction, uint8 summed
        ground truth, wrap-around products, ``.sum()`` in uint64)."""
        t = pred.shape[0]
        count = np.asarray(gt_count)
        if count.shape != pred.shape:
            raise ValueError(f"gt_count has shape {count.shape}, expected {pred.shape}")
        gt_u8 = count.astype(np.uint8)
        pred_u8 = pred.astype(np.uint8) * np.uint8(255)
        neg = ((np.uint8(1) - gt_u8) * pred_u8).reshape(t, -1).sum(axis=1, dtype=np.uint64)
        if foreground is None:
            self._gt_foreground += 1
            fg = (gt_u8 > 0).reshape(t, -1).sum(axis=1)
        else:
            fg = as_binary(foreground, "foreground").reshape(t, -1).sum(axis=1)
        robust = np.maximum(1 - neg.astype(np.float64) / (fg + 1e-6), 0.0)
        accuracy = (gt_u8 == pred_u8).reshape(t, -1).mean(axis=1)
        return {"A": float(accuracy.mean()), "R": float(robust.mean()),
                "R_foreground": "gt" if foreground is None else "video"}

    def _accumulate(self, group: str, tags: list[str], values: dict) -> None:
        nums = {k: v for k, v in values.items() if isinstance(v, float)}
        if self.visa_rounding and self.benchmark == "revos":
            # VISA: round(100 * value, 2) on numpy float64, i.e. numpy's rounding
            nums = {
                k: (float(np.round(100 * np.float64(v), 2)) / 100 if k in PERCENT else v)
                for k, v in nums.items()
            }
        self._groups.setdefault(group, _Mean()).add(nums)
        for tag in tags:
            self._tags.setdefault(tag, _Mean()).add(nums)

    # ------------------------------------------------------------------ tables

    def table(self) -> Table:
        """The results table of the benchmark (percent; ``S`` as a fraction)."""
        if self.benchmark == "refavs":
            return self._refavs_table()
        return self._vos_table()

    def _davis_row(self, name: str, acc: _Mean) -> dict:
        row = {"group": name, "n": acc.n}
        for key, col in _DAVIS_COLUMNS.items():
            row[col] = 100 * acc.mean(key)
        row["J&F"] = (row["J"] + row["F"]) / 2  # VISA: from the (rounded) J and F means
        return row

    def _vos_table(self) -> Table:
        rows = []
        if self.benchmark == "revos":
            order = ["referring", "reasoning"]
            rows = [self._davis_row(name, self._groups.get(name, _Mean())) for name in order]
            overall = {"group": "overall", "n": rows[0]["n"] + rows[1]["n"]}
            overall.update({col: (rows[0][col] + rows[1][col]) / 2 for col in _DAVIS_COLUMNS.values()})
            rows.append(overall)
            if "nan" in self._groups:
                rows.append(self._davis_row("nan (not in overall)", self._groups["nan"]))
        else:
            total = _Mean()
            for name, acc in self._groups.items():
                rows.append(self._davis_row(name, acc))
                total.n += acc.n
                for k, v in acc.sums.items():
                    total.sums[k] = total.sums.get(k, 0.0) + v
            rows.append(self._davis_row("overall", total))
        rows += [self._davis_row(tag, acc) for tag, acc in self._tags.items()]
        title = "ReVOS" if self.benchmark == "revos" else "VOS"
        if self.protocol != "kit":
            title += f" [protocol {self.protocol}]"
        if self._gt_foreground:
            title += " (R with foreground = ground truth: a lower bound of VISA's R)"
        return Table(title, ["group", "n", *_DAVIS_COLUMNS.values()], rows)

    @staticmethod
    def _refavs_row(name: str, acc: _Mean, avs: dict[str, float], kind: str) -> dict:
        """``kind``: ``"null"`` (S only), ``"split"`` (everything but S) or ``"tag"`` (everything)."""
        j_avs, f_avs = avs["J_avs"], avs["F_avs"]
        values = {
            "J": 100 * acc.mean("J"),
            "F_boundary": 100 * acc.mean("F"),
            "J&F": 50 * (acc.mean("J") + acc.mean("F")),
            "J_avs": 100 * j_avs,
            "F_avs": 100 * f_avs,
            "J&F_avs": 100 * (j_avs + f_avs) / 2,
        }
        row = {"split": name, "n": acc.n}
        row.update({k: (None if kind == "null" else v) for k, v in values.items()})
        row["S"] = None if kind == "split" else avs["S"]
        return row

    def _refavs_table(self) -> Table:
        known = [s for s in ("seen", "unseen", "null") if s in self._groups]
        names = known + sorted(s for s in self._groups if s not in known)
        rows = [
            self._refavs_row(n, self._groups[n], self._avs[n].means(), "null" if n == "null" else "split")
            for n in names
        ]
        for tag, acc in self._tags.items():
            avs = {"J_avs": acc.mean("J_avs"), "F_avs": acc.mean("F_avs"), "S": acc.mean("S")}
            rows.append(self._refavs_row(tag, acc, avs, "tag"))
        columns = ["split", "n", "J", "F_boundary", "J&F", "J_avs", "F_avs", "J&F_avs", "S"]
        title = "RefAVS (DAVIS J / boundary F, and the Ref-AVS toolkit's J_avs / F_avs / S)"
        if self.protocol != "kit":
            title += f" [protocol {self.protocol}: batches of {self.refavs_batch_size}]"
        return Table(title, columns, rows, digits={"S": 4})

    def write_jsonl(self, path: str | Path) -> Path:
        """Write the kept records, one JSON object per line."""
        path = Path(path)
        with path.open("w", encoding="utf-8") as fh:
            for rec in self.records:
                fh.write(json.dumps(rec) + "\n")
        return path
