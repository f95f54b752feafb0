"""Loaders against trees written as the dataset authors' code reads them (tests/upstream_layouts.py)."""

from __future__ import annotations

import numpy as np
import pytest
from upstream_layouts import (
    mevis_tree,
    refavs_mask_modes,
    refavs_release,
    revos_sampled_frames,
    toolkit_reads,
)

from omni_r1_lite.data.masks import read_mask_png
from omni_r1_lite.data.mevis import find_mevis_root, load_mevis
from omni_r1_lite.data.revos import load_revos
from omni_r1_lite.data.schema import DataError


def test_revos_non_consecutive_frame_ids_listed_out_of_order(tmp_path):
    """Frames are read in time order (00120 ...) and each mask list position follows the listing."""
    up = revos_sampled_frames(tmp_path)
    samples = {s.meta["exp_id"]: s for s in load_revos(tmp_path, "valid")}
    one, two = samples["0"], samples["1"]
    assert one.frame_names == ("00120.jpg", "00125.jpg", "00130.jpg", "00135.jpg")
    order = np.argsort([int(i) for i in up["ids"]])  # listed position of each frame in time order
    assert np.array_equal(one.load_masks(), up["truth"]["7"][order])
    assert np.array_equal(two.load_masks(), (up["truth"]["7"] | up["truth"]["8"])[order])
    assert not up["truth"]["8"][2].any() and two.expression_type == "reasoning"


def test_mevis_valid_u_and_train_read_valid_refused(tmp_path):
    truth = mevis_tree(tmp_path / "extracted" / "mevis")
    root = find_mevis_root(tmp_path / "extracted")
    res = load_mevis(root, "valid_u")
    assert len(res) == 4 and {s.dataset for s in res} == {"mevis"} and res.splits() == {"valid_u": 4}
    for s in res:
        video, exp = s.meta["video"], s.meta["exp_id"]
        assert np.array_equal(s.load_masks(), truth[f"valid_u/{video}"][exp]), s.sample_id
        assert s.expression_type == "referring" and s.task == "VOS"
    assert len(load_mevis(root, "train")) == 2
    with pytest.raises(DataError, match="challenge server"):
        load_mevis(root, "valid")
    with pytest.raises(ValueError, match="unknown MeViS split"):
        load_mevis(root, "test")


def test_mevis_through_load_samples_and_its_splits(tmp_path):
    from omni_r1_lite.config import apply_overrides, get_preset
    from omni_r1_lite.data.sources import load_samples

    mevis_tree(tmp_path / "mevis")
    cfg = apply_overrides(get_preset("colab-3b"), ["data.dataset=mevis"])
    assert cfg.data.splits("eval") == ("valid_u",)
    assert len(load_samples(cfg, tmp_path, cfg.data.splits("eval")[0])) == 4


def test_refavs_masks_in_every_png_mode_read_as_the_toolkit_reads_them(tmp_path):
    mask = np.zeros((24, 32), bool)
    mask[4:12, 5:20] = True
    for kind, path in refavs_mask_modes(tmp_path, mask).items():
        assert np.array_equal(toolkit_reads(path), mask), kind  # the toolkit's own reading
        assert np.array_equal(read_mask_png(path), mask), kind


def test_mevis_evaluation_gives_its_table_with_the_papers_rows(tmp_path):
    """evaluate on MeViS valid_u (uniform keyframes, a System 2 that returns the truth), and the
    report's MeViS table, with the paper's J&F rows for a paper preset."""
    from omni_r1_lite.config import apply_overrides, get_preset
    from omni_r1_lite.evaluation import collect_results, evaluate_split, render_results

    mevis_tree(tmp_path / "data" / "mevis")

    class Truth:
        def ground(self, sample, frame, description):
            m = sample.load_masks()[frame]
            ys, xs = np.nonzero(m)
            return np.array([[xs.min(), ys.min(), xs.max(), ys.max()]], np.float32) if len(xs) else np.zeros((0, 4))

        def segment(self, sample, prompts, frames=None):
            return sample.load_masks()

    cfg = apply_overrides(get_preset("eval-omni-r1"), ["data.dataset=mevis"])
    res = evaluate_split(cfg, tmp_path / "data", "valid_u", "uniform", tmp_path / "run", progress=False,
                         system2=Truth())
    assert len(res.scored) == 4 and not res.errors and all(r["J"] == 1.0 for r in res.scored)
    text = render_results(collect_results(tmp_path / "run", preset="eval-omni-r1"))
    assert "MeViS valid_u" in text and "| uniform | 100.0 | 100.0 | 100.0 |" in text
    assert "| paper: Qwen2.5-Omni-7B † | – | – | 33.6 |" in text and "| paper: Omni-R1-8B ‡ (Sa2VA-1B) | – | – | 55.4 |" in text


def test_refavs_release_null_rows_from_the_uid_and_palette_masks(tmp_path):
    from omni_r1_lite.data.refavs import load_refavs

    up = refavs_release(tmp_path)
    rows = {s.meta["uid"]: s for s in load_refavs(tmp_path, validate=True)}
    seen, null = rows[f"{up['vid']}_guitar_1"], rows[f"null_c-{up['vid']}_null_1"]
    assert np.array_equal(seen.load_masks(), up["masks"][seen.meta["uid"]])
    assert null.meta["folder"] == f"null_c-{up['vid']}" and null.is_null and not null.load_masks().any()
    assert null.audio_path == tmp_path / "media" / f"null_c-{up['vid']}" / "audio.wav"
    assert len(seen.frame_names) == 10


def test_a_null_rows_audio_comes_from_media_cross_when_the_release_has_it(tmp_path):
    import shutil

    from omni_r1_lite.data.refavs import load_refavs

    up = refavs_release(tmp_path)
    folder = f"null_c-{up['vid']}"
    (tmp_path / "media_cross" / folder).mkdir(parents=True)
    shutil.copy(tmp_path / "media" / folder / "audio.wav", tmp_path / "media_cross" / folder / "audio.wav")
    rows = {s.meta["uid"]: s for s in load_refavs(tmp_path)}
    null = rows[f"{folder}_null_1"]
    assert null.audio_path == tmp_path / "media_cross" / folder / "audio.wav" and null.meta["audio_source"] == "media_cross"
    assert rows[f"{up['vid']}_guitar_1"].audio_path == tmp_path / "media" / up["vid"] / "audio.wav"
