"""Benchmark evaluation: methods on RefAVS / ReVOS / OmniSynth splits, resumable, sharded, in the
paper's table layouts. (The official Omni-R1 release has no evaluation code; this is the kit's.)

Quick start::

    from omni_r1_lite.config import get_preset
    from omni_r1_lite.evaluation import evaluate_split, results_table
    cfg = get_preset("cpu-demo")
    for method in ("uniform", "oracle", "grpo"):
        for split in cfg.data.splits("eval"):
            evaluate_split(cfg, "data", split, method, "runs/cpu-demo")
    print(results_table("runs/cpu-demo"))

or ``omni-r1-lite evaluate --preset cpu-demo --method grpo`` (``accelerate launch -m
omni_r1_lite.cli evaluate ...`` shards the samples over processes).

Files: ``<run>/eval/<method>/<split>.jsonl`` (records), ``<split>.meta.json`` (fingerprint),
``<run>/eval/results.json`` (`collect_results`), headline numbers in ``<run>/metrics.json["eval"]``.

**Record schema** (one JSON object per line; values in [0, 1]):

==================  ============================================================================
index               position of the sample in its split's listing (``None``: listing error)
sample_id, split    the `Sample`'s id and dataset split (OmniSynth: seen / unseen / null)
dataset, method     ``omnisynth`` | ``refavs`` | ``revos``; the evaluation method
type, kind          expression type (referring, reasoning, audio-visual, null); OmniSynth's
                    kind (``literal``, ``enter-last``, ...) or ReVOS ``type_id``
expression          the benchmark's expression
completion          System 1's greedy text (``None`` for ``uniform`` / ``oracle``)
finished            the completion ended with EOS; ``num_tokens`` its length
plan_ok, issues     the answer parsed into a plan; parser issue codes (`systems.parsing.ISSUES`)
keyframes           clip frame indices given to System 2; ``descriptions`` one per keyframe
boxes               System 2's boxes per keyframe, ``[[x1, y1, x2, y2], ...]`` (original pixels)
n_frames            frames scored (every frame of the clip); ``gt_frames`` / ``pred_frames``:
                    frames whose ground truth / prediction is non-empty
score_group, tags   the scorer row (split, or ReVOS type_id) and extra rows (``type: ...``,
                    ``single`` / ``multi``)
J, F, JF            DAVIS region J, boundary F and their mean, averaged over frames
A, R, R_foreground  VISA accuracy and robustness (OmniSynth, ReVOS)
J_avs, F_avs, S     the Ref-AVS toolkit's J, F (and JF_avs), and S (RefAVS, OmniSynth)
seconds             wall time of the sample (System 1 + System 2 + scoring)
error               ``None``, or ``"<Exception>: message"`` for an error row (then ``stage``:
                    ``listing`` or ``evaluate``, and no metrics); error rows are not scored
==================  ============================================================================

A completion that does not parse gives no keyframe, hence empty masks: it is scored (J = F = 1
on frames whose ground truth is empty, 0 elsewhere), never skipped.
"""

from omni_r1_lite.evaluation.methods import (
    METHODS,
    MODEL_METHODS,
    MissingWeightsError,
    Weights,
    build_system2,
    load_weights,
    resolve_weights,
)
from omni_r1_lite.evaluation.records import RecordsError, merge_shards, read_records, read_split_records
from omni_r1_lite.evaluation.runner import (
    Evaluator,
    SplitResult,
    StaleResultsError,
    build_scorer,
    canonical_split,
    evaluate_split,
    results_name,
    shard,
)
from omni_r1_lite.evaluation.tables import collect_results, headline, render_results, results_table

__all__ = [
    "METHODS",
    "MODEL_METHODS",
    "Evaluator",
    "MissingWeightsError",
    "RecordsError",
    "SplitResult",
    "StaleResultsError",
    "Weights",
    "build_scorer",
    "build_system2",
    "canonical_split",
    "collect_results",
    "evaluate_split",
    "headline",
    "load_weights",
    "merge_shards",
    "read_records",
    "read_split_records",
    "render_results",
    "resolve_weights",
    "results_table",
    "results_name",
    "shard",
]
