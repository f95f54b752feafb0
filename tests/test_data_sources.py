"""Preset → samples (OmniSynth on demand), reference keyframes, and the synth CLI."""

import json

import numpy as np

from omni_r1_lite.cli import main
from omni_r1_lite.config import apply_overrides, get_preset
from omni_r1_lite.data.keyframes import (
    oracle_keyframes,
    target_area,
    target_visibility,
    uniform_keyframes,
    worst_keyframes,
)
from omni_r1_lite.data.sources import ensure_omnisynth, load_samples


def test_omnisynth_generated_once_per_config_and_reloaded(tmp_path):
    cfg = get_preset("smoke")
    root = ensure_omnisynth(cfg, tmp_path)
    stamp = (root / "omnisynth.json").stat().st_mtime_ns
    assert ensure_omnisynth(cfg, tmp_path) == root
    assert (root / "omnisynth.json").stat().st_mtime_ns == stamp  # reused, not regenerated
    other = ensure_omnisynth(apply_overrides(cfg, ["data.synth_seed=1"]), tmp_path)
    assert other != root
    s = load_samples(cfg, tmp_path, "test_n")
    assert s and all(x.expression_type == "null" and not x.load_masks().any() for x in s)


def test_interrupted_generation_is_redone(tmp_path):
    cfg = get_preset("smoke")
    root = ensure_omnisynth(cfg, tmp_path)
    (root / "omnisynth.json").unlink()  # as if killed before the end
    assert ensure_omnisynth(cfg, tmp_path) == root
    assert (root / "omnisynth.json").exists()


def test_reference_keyframes_order_oracle_uniform_worst(tmp_path):
    cfg = get_preset("smoke")
    for s in load_samples(cfg, tmp_path, "test_s"):
        area = target_area(s)
        masks_area = s.load_masks().reshape(s.num_frames, -1).sum(1)
        assert np.allclose(area, masks_area)  # annotation agrees with the decoded masks
        vis = target_visibility(s)
        assert vis.shape == (s.num_frames,) and (0 <= vis).all() and (vis <= 1).all()
        o, u, w = oracle_keyframes(area, 4), uniform_keyframes(s.num_frames, 4), worst_keyframes(area, 4)
        assert len(set(o)) == len(o) == 4 and len(w) == 4
        assert area[o].mean() >= area[u].mean() >= area[w].mean()


def test_synth_cli_passes_options_to_the_generator(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "s"), "--preset", "smoke", "--seen", "1", "--train", "0",
                 "--val", "0", "--unseen", "0", "--null", "0", "--no-revos", "--seconds-per-frame", "1.0",
                 "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    assert summary["clips"] == {"seen": 1} and "8 frames at 1 s" in out[0] and len(out) <= 6
    assert (tmp_path / "s" / "refavs" / "metadata.csv").exists() and not (tmp_path / "s" / "revos").exists()


def test_load_samples_validates_every_dataset_on_request(tmp_path):
    """One `validate=` for every dataset: a corrupt OmniSynth frame loads unless validated."""
    cfg = get_preset("smoke")
    root = ensure_omnisynth(cfg, tmp_path)
    listed = load_samples(cfg, tmp_path, "test_s")
    victim = listed[0]
    (victim.frame_dir / victim.frame_names[3]).write_bytes(b"\xff\xd8 truncated")
    assert len(load_samples(cfg, tmp_path, "test_s", strict=False)) == len(listed)
    checked = load_samples(cfg, tmp_path, "test_s", strict=False, validate=True)
    bad = [s for s in listed if s.frame_dir == victim.frame_dir]
    assert len(checked) == len(listed) - len(bad) and checked.num_skipped == len(bad)
    assert all(victim.frame_names[3] in reason for _, reason in checked.skipped)
    assert root.exists()


def test_a_missing_real_dataset_says_where_it_looked_and_what_to_run(tmp_path):
    import pytest

    from omni_r1_lite.data.schema import DataError

    for dataset, item in (("refavs", "--only refavs"), ("revos", "--only revos"), ("mevis", "--only mevis")):
        cfg = apply_overrides(get_preset("colab-3b"), [f"data.dataset={dataset}"])
        with pytest.raises(DataError, match=f"no {dataset} data under .*data_download.sh` `{item}"):
            load_samples(cfg, tmp_path, cfg.data.splits("eval")[0])
    assert not any(tmp_path.iterdir())  # nothing created on the way


def test_revos_files_placed_for_revos_official_are_found(tmp_path):
    from data_fixtures import make_revos_tree

    make_revos_tree(tmp_path / "revos_official")
    cfg = apply_overrides(get_preset("colab-3b"), ["data.dataset=revos"])
    assert len(load_samples(cfg, tmp_path, "valid")) == 5
