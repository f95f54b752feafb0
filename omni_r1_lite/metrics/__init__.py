"""Benchmark metrics of the Omni-R1 evaluations, exact to the official toolkits and vectorised.

Which benchmark uses what:

============  ==========================================================================
ReVOS         DAVIS J, F, J&F per expression (mean over all frames), VISA's A and R;
              referring / reasoning rows and overall = their mean (``cilinyan/VISA``
              ``tools/eval_revos.py``, ``tools/metrics.py``). Also MeViS and OmniSynth VOS.
RefAVS        The paper does not say which toolkit: both are computed and labelled. DAVIS
              ``J``, ``F_boundary``, ``J&F``; the Ref-AVS toolkit's ``J_avs`` (``mask_iou``),
              ``F_avs`` (``Eval_Fmeasure``, beta² = 0.3, max over 255 thresholds) and the
              null split's ``S`` (``GeWu-Lab/Ref-AVS`` ``utils/metric/utility.py``).
============  ==========================================================================

Definitions: DAVIS J and F follow ``davisvideochallenge/davis2017-evaluation``
``davis2017/metrics.py`` (seg2bmap boundaries, tolerance disk of radius
``ceil(0.008 * ||(H, W)||)``, the DAVIS empty-mask cases); details in `davis`, `formulas`,
`refavs` and `visa`. Everything is computed from per-frame integer counts (`frame_counts`), one
pass over the masks; boundaries are found, dilated and matched on bit planes (64 pixels to a word),
with identical results (``tests/test_metrics.py`` checks against per-frame transcriptions of the upstream code
and the PyPI ``vos-benchmark`` package). ``backend="torch"`` computes the same counts with torch
(e.g. on a GPU).

`BenchmarkScorer` streams samples (``add(sample_id, split, pred, gt)``), keeps scalars only and
returns the paper's tables (`Table.to_markdown`) and per-sample records (JSONL).

Masks are ``bool[T, H, W]`` (or ``[H, W]``; 0/1 integers and floats are accepted). Anything else,
NaN, or mismatched shapes raise `ValueError`.

>>> import numpy as np
>>> from omni_r1_lite.metrics import j_and_f
>>> gt = np.zeros((2, 36, 64), bool); gt[:, 10:26, 20:44] = True
>>> j_and_f(gt, gt)
{'J': 1.0, 'F': 1.0, 'JF': 1.0}
"""

from omni_r1_lite.metrics._boundary import boundary_map, boundary_radius
from omni_r1_lite.metrics.counts import FrameCounts, frame_counts
from omni_r1_lite.metrics.davis import boundary_f, j_and_f, jaccard, jf_per_frame
from omni_r1_lite.metrics.refavs import AVSStats, avs_fmeasure, avs_iou, avs_stats, avs_thresholds, null_s
from omni_r1_lite.metrics.scorer import BENCHMARKS, BenchmarkScorer
from omni_r1_lite.metrics.table import Table
from omni_r1_lite.metrics.visa import visa_accuracy, visa_robustness

__all__ = [
    "AVSStats",
    "BENCHMARKS",
    "BenchmarkScorer",
    "FrameCounts",
    "Table",
    "avs_fmeasure",
    "avs_iou",
    "avs_stats",
    "avs_thresholds",
    "boundary_f",
    "boundary_map",
    "boundary_radius",
    "frame_counts",
    "j_and_f",
    "jaccard",
    "jf_per_frame",
    "null_s",
    "visa_accuracy",
    "visa_robustness",
]
