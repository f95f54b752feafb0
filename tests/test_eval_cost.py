"""benchmarks/eval_cost.py's arithmetic: ReVOS sizes read from its metadata, the estimate's scaling."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
eval_cost = pytest.importorskip("eval_cost")


def test_revos_sizes_from_its_metadata(tmp_path):
    """Frames are counted per expression (each expression segments its whole video)."""
    meta = {"videos": {
        "UVO/all/a": {"frames": ["0", "5", "10"], "height": 480, "width": 854,
                      "expressions": {"0": {"exp": "x", "anno_id": [1], "obj_id": [1], "type_id": 0},
                                      "1": {"exp": "y", "anno_id": [2], "obj_id": [2], "type_id": 1}}},
        "MOSE/b": {"frames": ["0", "1", "2", "3", "4"], "height": 720, "width": 1280,
                   "expressions": {"0": {"exp": "z", "anno_id": [3], "obj_id": [1], "type_id": 0}}},
    }}
    path = tmp_path / "meta_expressions_valid_.json"
    path.write_text(json.dumps(meta))
    got = eval_cost.revos_from_meta(path)
    assert got["videos"] == 2 and got["expressions"] == 3
    assert got["frames"] == pytest.approx((3 * 2 + 5 * 1) / 3)
    assert (got["height"], got["width"]) == (600, 1067)


def _units():
    s1 = {"prompt_tokens": 500, "towers_s": 10.0, "prefill_s": 30.0, "decode_s_per_token": 0.8}
    return {"model": "qwen2.5-omni-3b", "decoder_layers": 36, "system1_refavs": dict(s1), "system1_revos": dict(s1),
            "grounding": dict(s1, prompt_tokens=530)}


def test_estimate_scales_with_the_gpu_and_the_feature_reuse():
    args = Namespace(mfu=0.35, bw_eff=0.6, launch_ms=0.4, s1_tokens=256, grounding_tokens=40)
    sam = {"encoder_per_frame_s": 4.0, "rest_per_frame_s": 2.0}
    metric = {"revos_jf_s_per_frame": 0.005, "refavs_s_per_frame": 0.02, "pixels": 720 * 1280}
    probe = {"gemm_gflops": 100.0}
    est = eval_cost.estimate("colab-3b", _units(), sam, metric, probe, args)
    assert est["gpu"] == "T4"
    row = est["splits"]["refavs/test_s"]
    # the T4's fp16 tensor rate beats the emulated bf16 the kit runs; reuse only lowers SAM2
    assert row["t4_fp16"]["hours"]["sam2"] < row["kit"]["hours"]["sam2"]
    assert row["kit+reuse"]["hours"]["sam2"] < row["kit"]["hours"]["sam2"]
    assert row["kit+reuse"]["hours"]["system1"] == row["kit"]["hours"]["system1"]
    # SAM2 without reuse: frames × per-frame CPU seconds × (CPU rate / (8.1 TFLOPS × 0.35))
    want = 2288 * 10 * 6.0 * 100.0 / (8.1e3 * 0.35) / 3600
    assert row["kit"]["hours"]["sam2"] == pytest.approx(want, rel=1e-3)
    # decoding reads the 3B's 16-bit decoder layers + LM head per token at 60 % of 320 GB/s
    read = eval_cost.decode_bytes("qwen2.5-omni-3b", 500)
    assert 5.5e9 < read["weights"] < 7e9
    a100 = eval_cost.estimate("a100-7b", dict(_units(), model="qwen2.5-omni-7b", decoder_layers=28), sam, metric,
                              probe, args)
    assert a100["splits"]["revos/valid"]["kit"]["hours"]["sam2"] < est["splits"]["revos/valid"]["kit"]["hours"]["sam2"]
