"""omni_r1_lite.metrics against per-frame transcriptions of the official toolkits
(tests/reference_metrics.py) and the PyPI vos-benchmark package: max abs difference <= 1e-6."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference_metrics as ref  # noqa: E402

from omni_r1_lite.metrics import (  # noqa: E402
    BenchmarkScorer,
    avs_fmeasure,
    avs_iou,
    avs_stats,
    avs_thresholds,
    boundary_f,
    boundary_map,
    frame_counts,
    j_and_f,
    jaccard,
    jf_per_frame,
    null_s,
    visa_accuracy,
    visa_robustness,
)
from omni_r1_lite.metrics._boundary import disk_geometry  # noqa: E402

TOL = 1e-6
pytest.importorskip("cv2")
pytest.importorskip("skimage")
FAST = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- mask makers


def blobs(rng: np.random.Generator, shape: tuple[int, int, int], n_max: int = 3) -> np.ndarray:
    """Random ellipses (sometimes cut by the frame border) in every frame."""
    t, h, w = shape
    yy, xx = np.mgrid[:h, :w]
    out = np.zeros(shape, bool)
    for i in range(t):
        for _ in range(rng.integers(0, n_max + 1)):
            cy, cx = rng.uniform(-0.1, 1.1) * h, rng.uniform(-0.1, 1.1) * w
            ry, rx = rng.uniform(0.5, 0.45 * h + 1), rng.uniform(0.5, 0.45 * w + 1)
            out[i] |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    return out


def perturb(rng: np.random.Generator, m: np.ndarray, flips: float = 0.02) -> np.ndarray:
    """A shifted copy of ``m`` with a few random pixel flips."""
    out = np.roll(m, (int(rng.integers(-3, 4)), int(rng.integers(-3, 4))), axis=(1, 2))
    return out ^ (rng.random(m.shape) < flips)


def random_pair(rng: np.random.Generator, shape, kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "noise":
        return rng.random(shape) < rng.uniform(0, 1), rng.random(shape) < rng.uniform(0, 1)
    gt = blobs(rng, shape)
    pred = perturb(rng, gt) if kind == "close" else blobs(rng, shape)
    return pred, gt


def edge_cases() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    h, w = 23, 41
    z = np.zeros((1, h, w), bool)

    def px(y, x, shape=(1, h, w)):
        m = np.zeros(shape, bool)
        m[0, y, x] = True
        return m

    full = np.ones((1, h, w), bool)
    rect = z.copy()
    rect[0, 5:15, 8:30] = True
    cases = {
        "both_empty": (z, z),
        "empty_gt": (rect, z),
        "empty_pred": (z, rect),
        "identical": (rect, rect),
        "full_frames": (full, full),
        "full_vs_rect": (full, rect),
        "pixel_center_same": (px(11, 20), px(11, 20)),
        "pixel_center_near": (px(11, 20), px(12, 21)),
        "pixel_far": (px(0, 0), px(22, 40)),
        "pixel_last_corner": (px(22, 40), px(22, 40)),
        "pixel_first_corner": (px(0, 0), px(0, 0)),
        "pixel_vs_rect": (px(5, 8), rect),
        "last_row": (np.pad(np.ones((1, 1, w), bool), ((0, 0), (h - 1, 0), (0, 0))), rect),
        "last_col": (np.pad(np.ones((1, h, 1), bool), ((0, 0), (0, 0), (w - 1, 0))), rect),
        "first_row_vs_last_row": (
            np.pad(np.ones((1, 1, w), bool), ((0, 0), (0, h - 1), (0, 0))),
            np.pad(np.ones((1, 1, w), bool), ((0, 0), (h - 1, 0), (0, 0))),
        ),
        "one_by_one_on": (np.ones((1, 1, 1), bool), np.ones((1, 1, 1), bool)),
        "one_by_one_off": (np.zeros((1, 1, 1), bool), np.ones((1, 1, 1), bool)),
        "single_row": (np.array([[[0, 1, 1, 0, 1]]], bool), np.array([[[0, 1, 0, 0, 1]]], bool)),
        "single_col": (np.array([[[0], [1], [1], [0]]], bool), np.array([[[1], [1], [0], [0]]], bool)),
        "several_objects": (
            np.isin(np.arange(h * w).reshape(1, h, w) % 7, (0, 1)),
            np.isin(np.arange(h * w).reshape(1, h, w) % 5, (0,)),
        ),
        "checkerboard": ((np.indices((h, w)).sum(0) % 2 == 0)[None], rect),
    }
    return cases


def davis_reference(pred, gt, bound_th=0.008):
    return ref.davis_jf(pred, gt, bound_th)


def assert_close(a, b, tol=TOL):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    assert np.abs(a - b).max(initial=0.0) <= tol, (a, b)


# --------------------------------------------------------------------------- DAVIS J / F


@pytest.mark.parametrize("name", list(edge_cases()))
def test_davis_edge_cases_match_reference_and_vos_benchmark(name):
    pred, gt = edge_cases()[name]
    j, f = jf_per_frame(pred, gt)
    j_ref, f_ref = davis_reference(pred, gt)
    assert_close(j, j_ref)
    assert_close(f, f_ref)
    vb = np.array([ref.vos_benchmark_frame(p, g) for p, g in zip(pred, gt)])
    assert_close(j, vb[:, 0])
    assert_close(f, vb[:, 1])


def test_davis_edge_case_values():
    c = edge_cases()
    assert jaccard(*c["both_empty"]).tolist() == [1.0]
    assert boundary_f(*c["both_empty"]).tolist() == [1.0]
    assert jaccard(*c["empty_gt"]).tolist() == [0.0] and boundary_f(*c["empty_gt"]).tolist() == [0.0]
    assert jaccard(*c["empty_pred"]).tolist() == [0.0] and boundary_f(*c["empty_pred"]).tolist() == [0.0]
    # a full frame has no seg2bmap boundary at all: both "no boundary" -> F = 1
    assert boundary_f(*c["full_frames"]).tolist() == [1.0]
    assert j_and_f(*c["identical"]) == {"J": 1.0, "F": 1.0, "JF": 1.0}


@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    t=st.integers(1, 3),
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    kind=st.sampled_from(["noise", "close", "blobs"]),
    bound_th=st.sampled_from([0.008, 0.05, 0.2, 1, 2, 2.5, 4]),
)
def test_davis_random_masks_match_reference(seed, t, h, w, kind, bound_th):
    rng = np.random.default_rng(seed)
    pred, gt = random_pair(rng, (t, h, w), kind)
    j, f = jf_per_frame(pred, gt, bound_th=bound_th)
    j_ref, f_ref = davis_reference(pred, gt, bound_th)
    assert_close(j, j_ref)
    assert_close(f, f_ref)


@pytest.mark.parametrize("bound_th", [0.008, 0.03, 0.08, 12, 7.5, 64, 70.5])
def test_davis_larger_frames_and_wide_disks(bound_th):
    """Non-square frames, radii up to 70 px: moves of the bit planes by more than one 64-bit word
    (``reach >= 64``), footprints that are not symmetric (half-integer radii)."""
    rng = np.random.default_rng(int(bound_th * 1000))
    pred, gt = random_pair(rng, (4, 90, 160), "close")
    pred[1] = blobs(rng, (1, 90, 160))[0]  # far-apart boundaries too
    j, f = jf_per_frame(pred, gt, bound_th=bound_th)
    j_ref, f_ref = davis_reference(pred, gt, bound_th)
    assert_close(j, j_ref)
    assert_close(f, f_ref)


def test_davis_hd_frames_match_vos_benchmark():
    rng = np.random.default_rng(7)
    gt = blobs(rng, (2, 360, 640), n_max=2)
    pred = perturb(rng, gt, flips=0.0005)
    j, f = jf_per_frame(pred, gt)
    vb = np.array([ref.vos_benchmark_frame(p, g) for p, g in zip(pred, gt)])
    assert_close(j, vb[:, 0])
    assert_close(f, vb[:, 1])


def test_boundary_map_matches_seg2bmap():
    rng = np.random.default_rng(3)
    for shape in [(2, 1, 1), (2, 1, 9), (2, 9, 1), (3, 17, 29)]:
        m = rng.random(shape) < 0.5
        expected = np.stack([ref.seg2bmap_frame(f) for f in m])
        assert np.array_equal(boundary_map(m), expected)


def test_disk_geometry_matches_skimage_disk():
    from skimage.morphology import disk

    for radius in [1.0, 2.0, 3.0, 12.0, 2.5, 7.5]:
        fp = disk(radius).astype(bool)
        k = fp.shape[0]
        offsets = {(i - k // 2, j - k // 2) for i, j in zip(*np.nonzero(fp))}
        geo = disk_geometry(radius)
        mine = {(dy, dx) for dy, lo, hi in geo.rows for dx in range(lo, hi + 1)}
        assert mine == offsets


def test_chunking_does_not_change_results():
    rng = np.random.default_rng(11)
    pred, gt = random_pair(rng, (9, 30, 50), "close")
    a = frame_counts(pred, gt, chunk_frames=1)
    b = frame_counts(pred, gt, chunk_frames=4)
    c = frame_counts(pred, gt, chunk_frames=100)
    for x, y in [(a, b), (a, c)]:
        for fa, fb in zip(x, y):
            assert np.array_equal(fa, fb)


def test_accepts_01_integers_floats_single_frames_and_strided_arrays():
    rng = np.random.default_rng(5)
    pred, gt = random_pair(rng, (1, 20, 30), "close")
    expected = jf_per_frame(pred, gt)
    wide = np.repeat(pred, 2, axis=2)  # a strided view: every other column of a wider array
    for p, g in [
        (pred.astype(np.uint8), gt.astype(np.int64)),
        (pred.astype(np.float32), gt.astype(float)),
        (pred[0], gt[0]),
        (wide[:, :, ::2], np.asfortranarray(gt)),
        (pred[:, ::-1][:, ::-1], gt[::-1][::-1]),
    ]:
        got = jf_per_frame(p, g)
        assert_close(got[0], expected[0])
        assert_close(got[1], expected[1])


@pytest.mark.parametrize("width", [63, 64, 65, 128, 129])
def test_bit_planes_at_word_edges_and_without_bitwise_count(monkeypatch, width):
    """Crops whose width is just under, at and over a multiple of 64 (the last word of a row, the
    right margin), objects touching every border of the frame, and the popcount of numpy < 2 (a byte
    table): the same integers as the DAVIS code."""
    from omni_r1_lite.metrics import _bitplanes
    from omni_r1_lite.metrics.davis import davis_f

    rng = np.random.default_rng(width)
    pred, gt = random_pair(rng, (4, 37, width), "close")
    pred[0, :, :3] = gt[1, -2:, :] = True  # left and bottom borders
    pred[2, :2, :] = gt[2, :, -1] = True  # top and right borders
    plain = frame_counts(pred, gt)
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    table = frame_counts(pred, gt)
    assert _bitplanes.popcount(np.array([2**64 - 1, 5], np.uint64)) == 66
    for a, b in zip(plain, table):
        assert np.array_equal(a, b)
    j, f = davis_reference(pred, gt)
    assert_close(davis_f(plain), f)


# --------------------------------------------------------------------------- torch backend


@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    h=st.integers(1, 48),
    w=st.integers(1, 48),
    kind=st.sampled_from(["noise", "close", "blobs"]),
    bound_th=st.sampled_from([0.008, 0.1, 2.5, 5]),
)
def test_torch_backend_counts_equal_numpy(seed, h, w, kind, bound_th):
    pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    pred, gt = random_pair(rng, (2, h, w), kind)
    from omni_r1_lite.metrics._torch_backend import frame_counts_torch

    a = frame_counts(pred, gt, bound_th=bound_th)
    # the dense conv2d path (what runs on a GPU), forced on the CPU
    b = frame_counts_torch(pred, gt, boundary=True, bound_th=bound_th, device="cpu", chunk_frames=16, dense=True)
    assert a.n_pixels == b.n_pixels
    for fa, fb in zip(a[:3] + a[4:], b[:3] + b[4:]):
        assert np.array_equal(fa, fb)


def test_torch_backend_public_functions_and_tensors():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    pred, gt = random_pair(rng, (3, 40, 56), "close")
    j, f = jf_per_frame(torch.from_numpy(pred), torch.from_numpy(gt), backend="torch", device="cpu")
    j_ref, f_ref = davis_reference(pred, gt)
    assert_close(j, j_ref)
    assert_close(f, f_ref)
    prob = rng.integers(0, 256, pred.shape).astype(np.float32) / 255
    a = avs_stats(prob, gt).scores()
    b = avs_stats(torch.from_numpy(prob), gt, backend="torch", device="cpu").scores()
    assert a == pytest.approx(b, abs=1e-12)
    with pytest.raises(ValueError, match="binary"):
        frame_counts(pred * 255, gt, backend="torch", device="cpu")


# --------------------------------------------------------------------------- Ref-AVS


def avs_cases(rng: np.random.Generator):
    gt = blobs(rng, (5, 24, 36))
    gt[1] = False  # an empty ground-truth frame (skipped by F, background IoU for J)
    binary = perturb(rng, gt)
    prob = np.clip(gt * rng.uniform(0.3, 1.0, gt.shape) + rng.uniform(0, 0.5, gt.shape), 0, 1)
    prob = np.round(prob * 255).astype(np.float32) / 255  # 8-bit probabilities
    return gt, {
        "binary": binary,
        "probability": prob,
        "empty_pred": np.zeros_like(gt),
        "full_pred": np.ones_like(gt),
    }


@pytest.mark.parametrize("kind", ["binary", "probability", "empty_pred", "full_pred"])
def test_refavs_metrics_match_toolkit(kind):
    gt, preds = avs_cases(np.random.default_rng(0))
    pred = preds[kind]
    scores = avs_stats(pred, gt).scores()
    assert abs(scores["J_avs"] - ref.avs_mask_iou(pred, gt)) <= TOL
    assert abs(scores["F_avs"] - ref.avs_fmeasure(pred, gt)) <= TOL
    assert abs(scores["S"] - ref.avs_null_s(pred)) <= TOL
    assert abs(avs_fmeasure(pred, gt) - scores["F_avs"]) <= 1e-12
    assert abs(avs_iou(pred, gt).mean() - scores["J_avs"]) <= 1e-12
    assert abs(null_s(pred) - scores["S"]) <= 1e-12


def test_refavs_all_empty_ground_truth_scores_f_zero_and_background_iou():
    pred = np.zeros((3, 8, 8), bool)
    pred[0, 0, :4] = True
    gt = np.zeros_like(pred)
    s = avs_stats(pred, gt).scores()
    assert s["F_avs"] == 0.0 == ref.avs_fmeasure(pred, gt)
    assert abs(s["J_avs"] - ref.avs_mask_iou(pred, gt)) <= TOL
    assert abs(s["J_avs"] - (1 - 4 / 64 + 2) / 3) <= TOL


def test_refavs_thresholds_match_torch_linspace():
    torch = pytest.importorskip("torch")
    mine = avs_thresholds()
    theirs = torch.linspace(0, 1 - 1e-10, 255).numpy()
    assert mine.dtype == np.float32 and mine[0] == 0.0 and mine[-1] == 1.0
    assert np.abs(mine - theirs).max() <= np.spacing(np.float32(1.0))


def test_refavs_batched_split_scores_match_toolkit_loop():
    rng = np.random.default_rng(4)
    samples = []
    for i in range(6):
        gt = blobs(rng, (4, 20, 28))
        if i == 2:
            gt[:] = False
        pred = perturb(rng, gt) if i % 2 else np.round(rng.random(gt.shape) * 255).astype(np.float32) / 255
        samples.append((pred, gt))
    for batch in (1, 4):
        scorer = BenchmarkScorer("refavs", refavs_batch_size=batch)
        for i, (p, g) in enumerate(samples):
            scorer.add(f"s{i}", "test_s", p, g)
            scorer.add(f"n{i}", "test_n", p, np.zeros_like(g))
        groups = [samples[k : k + batch] for k in range(0, len(samples), batch)]
        batches = [
            (np.concatenate([p for p, _ in grp]), np.concatenate([g for _, g in grp])) for grp in groups
        ]
        expected = ref.avs_split_scores(batches)
        null = ref.avs_split_scores([(p, np.zeros_like(g)) for p, g in batches], null=True)
        seen, nrow = scorer.table().row("seen"), scorer.table().row("null")
        assert abs(seen["J_avs"] / 100 - expected["J"]) <= TOL
        assert abs(seen["F_avs"] / 100 - expected["F"]) <= TOL
        assert abs(nrow["S"] - null["S"]) <= TOL
        assert nrow["J"] is None and seen["S"] is None


# --------------------------------------------------------------------------- VISA


@pytest.mark.parametrize("pred_value", [1, 255])
def test_visa_accuracy_and_robustness_match_reference(pred_value):
    rng = np.random.default_rng(9)
    pred, gt = random_pair(rng, (6, 18, 26), "close")
    gt[2] = False
    fg = gt | blobs(rng, gt.shape)
    fg[4] = False
    gt8, pred8, fg8 = gt.astype(np.uint8), pred.astype(np.uint8) * pred_value, fg.astype(np.uint8)
    assert_close(visa_accuracy(pred, gt, pred_value=pred_value), ref.visa_accuracy(gt8, pred8))
    assert_close(visa_robustness(pred, gt, fg, pred_value=pred_value), ref.visa_robustness(gt8, pred8, fg8))
    assert_close(visa_robustness(pred, gt, pred_value=pred_value), ref.visa_robustness(gt8, pred8, gt8))


def test_visa_robustness_default_is_a_lower_bound():
    rng = np.random.default_rng(1)
    pred, gt = random_pair(rng, (5, 16, 16), "blobs")
    fg = gt | blobs(rng, gt.shape)
    assert np.all(visa_robustness(pred, gt) <= visa_robustness(pred, gt, fg) + 1e-12)


# --------------------------------------------------------------------------- scorer and tables


def revos_samples(rng, n=8):
    out = []
    for i in range(n):
        gt = blobs(rng, (3, 20, 30))
        pred = perturb(rng, gt) if i % 3 else blobs(rng, gt.shape)
        fg = gt | blobs(rng, gt.shape)
        out.append((f"v{i}/0", i % 2, pred, gt, fg))
    return out


@pytest.mark.parametrize("rounding", [False, True])
def test_revos_table_matches_eval_revos(rounding):
    samples = revos_samples(np.random.default_rng(8))
    scorer = BenchmarkScorer("revos", visa_rounding=rounding)
    rows = []
    for sid, type_id, pred, gt, fg in samples:
        rec = scorer.add(sid, type_id, pred, gt, foreground=fg, tags=["single"] if type_id else ["multi"])
        j_ref, f_ref = davis_reference(pred, gt)
        assert abs(rec["J"] - j_ref.mean()) <= TOL and abs(rec["F"] - f_ref.mean()) <= TOL
        assert rec["R_foreground"] == "video"
        rows.append({"J": rec["J"], "F": rec["F"], "A": rec["A"], "R": rec["R"], "type_id": type_id})
    expected = ref.revos_summary(rows)
    table = scorer.table()
    assert "lower bound" not in table.title
    tol = 1e-9 if rounding else 0.006  # VISA rounds each expression to 0.01 points
    for name in ("referring", "reasoning", "overall"):
        row = table.row(name)
        for key, col in (("J", "J"), ("F", "F"), ("JF", "J&F"), ("A", "A"), ("R", "R")):
            assert abs(row[col] - expected[name][key]) <= tol, (name, col)
    assert table.row("single")["n"] + table.row("multi")["n"] == len(samples)


def test_revos_overall_is_nan_until_both_types_exist_and_type_2_is_left_out():
    gt = np.zeros((2, 10, 10), bool)
    gt[:, 2:6, 2:6] = True
    scorer = BenchmarkScorer("revos")
    scorer.add("a", "referring", gt, gt)
    assert np.isnan(scorer.table().row("overall")["J"])
    scorer.add("b", 2, np.zeros_like(gt), gt)
    scorer.add("c", "reasoning", gt, gt)
    table = scorer.table()
    assert table.row("overall")["J"] == 100.0 and table.row("overall")["n"] == 2
    assert table.row("nan (not in overall)")["J"] == 0.0
    assert "lower bound" in table.title


def test_refavs_table_layout_and_records(tmp_path):
    rng = np.random.default_rng(6)
    scorer = BenchmarkScorer("refavs")
    for split in ("test_s", "test_u", "test_n", "val"):
        for i in range(2):
            gt = blobs(rng, (3, 16, 24)) if split != "test_n" else np.zeros((3, 16, 24), bool)
            scorer.add(f"{split}-{i}", split, perturb(rng, gt), gt, tags=["demo"])
    table = scorer.table()
    assert [r["split"] for r in table.rows] == ["seen", "unseen", "null", "val", "demo"]
    assert table.columns == ["split", "n", "J", "F_boundary", "J&F", "J_avs", "F_avs", "J&F_avs", "S"]
    seen = table.row("seen")
    recs = [r for r in scorer.records if r["split"] == "seen"]
    assert abs(seen["J"] - 100 * np.mean([r["J"] for r in recs])) <= 1e-9
    assert abs(seen["J&F"] - (seen["J"] + seen["F_boundary"]) / 2) <= 1e-9
    md = table.to_markdown()
    assert "| null | 2 | – |" in md and "F_avs" in md
    path = scorer.write_jsonl(tmp_path / "records.jsonl")
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(lines) == len(scorer) == 8 and lines[0]["split"] == "seen"


def test_vos_table_overall_is_mean_over_samples():
    rng = np.random.default_rng(12)
    scorer = BenchmarkScorer("vos", keep_records=False)
    js = []
    for i in range(5):
        gt = blobs(rng, (2, 12, 12))
        pred = perturb(rng, gt)
        js.append(scorer.add(str(i), "valid_u" if i < 2 else "other", pred, gt)["J"])
    assert scorer.records == []
    assert abs(scorer.table().row("overall")["J"] - 100 * np.mean(js)) <= 1e-9


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "pred, gt, message",
    [
        (np.zeros((2, 4, 4), bool), np.zeros((2, 4, 5), bool), "same \\[T, H, W\\] shape"),
        (np.full((1, 4, 4), np.nan), np.zeros((1, 4, 4), bool), "NaN"),
        (np.full((1, 4, 4), 255, np.uint8), np.zeros((1, 4, 4), bool), "must be binary"),
        (np.full((1, 4, 4), 0.5), np.zeros((1, 4, 4), bool), "must be binary"),
        (np.zeros((1, 1, 4, 4), bool), np.zeros((1, 1, 4, 4), bool), "shape \\[T, H, W\\]"),
        (np.zeros((0, 4, 4), bool), np.zeros((0, 4, 4), bool), "no pixels or no frames"),
        (np.array([["a"]]), np.zeros((1, 1), bool), "dtype"),
    ],
)
def test_bad_masks_raise_value_error(pred, gt, message):
    with pytest.raises(ValueError, match=message):
        jf_per_frame(pred, gt)


def test_bad_arguments_raise_value_error():
    m = np.zeros((1, 4, 4), bool)
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        avs_stats(np.full((1, 4, 4), 2.0), m)
    with pytest.raises(ValueError, match="NaN"):
        avs_stats(np.full((1, 4, 4), np.nan), m)
    with pytest.raises(ValueError, match="backend"):
        jaccard(m, m, backend="jax")
    with pytest.raises(ValueError, match="bound_th"):
        boundary_f(m, m, bound_th=-1)
    with pytest.raises(ValueError, match="pred_value"):
        visa_accuracy(m, m, pred_value=0)
    with pytest.raises(ValueError, match="foreground must have"):
        visa_robustness(m, m, np.zeros((1, 4, 5), bool))
    with pytest.raises(ValueError, match="benchmark"):
        BenchmarkScorer("davis")
    with pytest.raises(ValueError, match="ReVOS expression type"):
        BenchmarkScorer("revos").add("x", "test_s", m, m)
    with pytest.raises(ValueError, match="must be binary"):
        BenchmarkScorer("revos").add("x", 0, m.astype(float) + 0.5, m)


def test_import_does_not_pull_torch():
    code = "import sys, omni_r1_lite.metrics; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_protocol_visa_reproduces_eval_revos_arithmetic_by_hand():
    """VISA's eval_revos.py: 0/255 predictions, the objects' masks *added* in uint8, wrap-around in
    (1 - gt) * pred. Frame 0: two objects overlap on 2 predicted pixels, no false positive; frame 1: one
    false positive. By hand: frame 0 neg = 1 + 1 = 2 (a pixel covered twice adds 2 - 1), A = 1/4 (only
    the both-background pixel agrees with 255); frame 1 neg = 255, A = 3/4."""
    from omni_r1_lite.metrics import BenchmarkScorer

    count = np.zeros((2, 1, 4), np.uint8)
    count[0, 0] = [2, 2, 1, 0]
    pred = np.zeros((2, 1, 4), bool)
    pred[0, 0, :3] = True
    pred[1, 0, 0] = True
    fg = np.ones((2, 1, 4), bool)
    visa = BenchmarkScorer("revos", protocol="visa")
    rec = visa.add("v/0", 0, pred, count > 0, foreground=fg, gt_count=count)
    assert rec["A"] == pytest.approx((1 / 4 + 3 / 4) / 2)
    assert rec["R"] == pytest.approx((1 - 2 / (4 + 1e-6) + 0.0) / 2)  # frame 1: max(1 - 255/4, 0) = 0
    row = visa.table().to_dicts()[0]
    assert row["R"] == 25.0 and row["A"] == 50.0 and "[protocol visa]" in visa.table().title
    kit = BenchmarkScorer("revos").add("v/0", 0, pred, count > 0, foreground=fg)
    assert kit["A"] == pytest.approx((1 + 3 / 4) / 2) and kit["R"] == pytest.approx((1 + 1 - 1 / (4 + 1e-6)) / 2)
    assert kit["J"] == rec["J"] and kit["F"] == rec["F"]  # J and F read masks as bool either way
    with pytest.raises(ValueError):
        BenchmarkScorer("refavs", protocol="visa")


def test_protocol_refavs_toolkit_scores_batches_of_four_by_hand(tmp_path):
    """The Ref-AVS test loop: the mean of each batch of 4 samples, then the mean over batches (the
    last, shorter batch weighing as much): J_avs per sample 1, 0, 0, 0, 1 -> (0.25 + 1) / 2 = 0.625,
    against 0.4 sample by sample; records of such a run replay to the same value."""
    from omni_r1_lite.evaluation.runner import build_scorer
    from omni_r1_lite.metrics import BenchmarkScorer

    gt = np.zeros((1, 4, 4), bool)
    gt[0, :2, :2] = True
    miss = np.zeros_like(gt)
    miss[0, 2:, 2:] = True
    preds = [gt, miss, miss, miss, gt]
    toolkit, kit = BenchmarkScorer("refavs", protocol="refavs-toolkit"), BenchmarkScorer("refavs")
    records = []
    for i, p in enumerate(preds):
        r = toolkit.add(f"s{i}", "test_s", p, gt)
        kit.add(f"s{i}", "test_s", p, gt)
        records.append({**r, "score_group": "test_s", "protocol": "refavs-toolkit"})
    seen = lambda s: next(r for r in s.table().to_dicts() if r["split"] == "seen")  # noqa: E731
    assert seen(toolkit)["J_avs"] == pytest.approx(62.5) and seen(kit)["J_avs"] == pytest.approx(40.0)
    assert seen(build_scorer("refavs", records))["J_avs"] == pytest.approx(62.5)
    plain = [{k: v for k, v in r.items() if k != "avs_stats"} for r in records]
    with pytest.raises(ValueError, match="avs_stats"):
        build_scorer("refavs", plain)
    assert seen(build_scorer("refavs", plain, protocol="kit"))["J_avs"] == pytest.approx(40.0)
