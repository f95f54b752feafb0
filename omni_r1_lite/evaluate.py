"""Benchmark runner and result tables: the public names of `omni_r1_lite.evaluation`, re-exported.

The implementation lives in the `omni_r1_lite.evaluation` package (methods, records, runner,
tables); see its docstring for the protocol, the files and the per-sample record schema.
"""

from omni_r1_lite.evaluation import *  # noqa: F403
from omni_r1_lite.evaluation import __all__  # noqa: F401
