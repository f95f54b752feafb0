"""RefAVS loader on a tiny tree in the official release layout."""

from __future__ import annotations

import numpy as np
import pytest
from data_fixtures import REFAVS_FRAMES, H, W, frame_colour, make_refavs_tree

from omni_r1_lite.data.loading import LoadResult, validate_sample
from omni_r1_lite.data.media import CorruptMediaError, MissingMediaError, read_audio, read_frames
from omni_r1_lite.data.refavs import REFAVS_SPLITS, find_refavs_root, load_refavs
from omni_r1_lite.data.schema import DataError, EmptyMasks


@pytest.fixture()
def tree(tmp_path):
    root = tmp_path / "REFAVS"
    truth = make_refavs_tree(root)
    return root, truth


def by_uid(result):
    return {s.meta["uid"]: s for s in result}


def test_loads_every_split_and_drops_todo(tree):
    root, _ = tree
    res = load_refavs(root)
    assert isinstance(res, LoadResult) and res.skipped == []
    assert res.splits() == {"train": 2, "test_s": 1, "test_u": 1, "test_n": 2}
    assert res.info["dropped_todo_rows"] == 1
    assert all(s.task == "AVS" and s.dataset == "refavs" for s in res)
    assert all(s.num_frames == REFAVS_FRAMES for s in res)
    assert [s.sample_id for s in res][:2] == ["train/vidA_0_10000_guitar_1", "train/vidA_0_10000_man_1"]


def test_sample_fields_and_round_trip(tree):
    root, truth = tree
    s = by_uid(load_refavs(root, "train"))["vidA_0_10000_man_1"]
    assert s.expression == "The man singing, then silent."
    assert s.expression_type == "audio-visual" and s.object_ids == (1,)
    assert s.frame_dir == root / "media" / "vidA_0_10000" / "frames"
    assert s.frame_names == tuple(f"{t}.jpg" for t in range(10))
    assert s.audio_path == root / "media" / "vidA_0_10000" / "audio.wav"
    assert s.meta["category"] == "man" and s.meta["fid"] == "1" and s.meta["folder"] == "vidA_0_10000"
    masks = s.load_masks()
    assert masks.shape == (10, H, W) and masks.dtype == bool
    np.testing.assert_array_equal(masks, truth["masks"][("vidA_0_10000", "1")])
    np.testing.assert_array_equal(s.load_masks([9, 0]), truth["masks"][("vidA_0_10000", "1")][[9, 0]])
    frames = read_frames(s, [0, 9])
    assert frames.shape == (2, H, W, 3)
    assert [round(float(f.mean())) for f in frames] == pytest.approx(
        [frame_colour(0), frame_colour(9)], abs=2
    )
    np.testing.assert_allclose(read_audio(s.audio_path), truth["audio"], atol=1e-4)


def test_null_rows_prefer_the_official_folder_then_the_vid_column(tree):
    root, _ = tree
    null = by_uid(load_refavs(root, ["test_n"]))
    own = null["null_c-vidC_1000_11000_null_1"]
    fallback = null["null_m-vidB_5000_15000_null_1"]
    assert own.meta["folder"] == "null_c-vidC_1000_11000"  # uid.rsplit('_', 2)[0], as the official code
    assert fallback.meta["folder"] == "vidB_5000_15000"  # no null_m-... folder: the vid column
    for s in (own, fallback):
        assert s.is_null and s.object_ids == ()
        assert isinstance(s.masks, EmptyMasks)
        m = s.load_masks()
        assert m.shape == (10, H, W) and not m.any()
    # the null clip's own frames are read, not the vid column's
    assert round(float(read_frames(own, [0]).mean())) == pytest.approx(frame_colour(3), abs=2)


def test_split_selection_and_type_column(tree):
    root, _ = tree
    assert len(load_refavs(root, "test_s")) == 1
    assert len(load_refavs(root, ["test_s", "test_u"])) == 2
    with pytest.raises(ValueError, match="test_x"):
        load_refavs(root, "test_x")
    text = (root / "metadata.csv").read_text().splitlines()
    rows = [text[0] + ",type"] + [line + (",reasoning" if "guitar" in line else ",") for line in text[1:]]
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    res = by_uid(load_refavs(root))
    assert res["vidA_0_10000_guitar_1"].expression_type == "reasoning"
    assert res["vidA_0_10000_man_1"].expression_type == "audio-visual"
    assert res["null_c-vidC_1000_11000_null_1"].expression_type == "null"


def test_duplicate_uids_get_distinct_ids(tree):
    root, _ = tree
    with open(root / "metadata.csv", "a") as f:
        f.write("vidB_5000_15000,vidB_5000_15000_dog_1,test_s,0,The barking dog again.,dog\n")
    ids = [s.sample_id for s in load_refavs(root, "test_s")]
    assert ids == ["test_s/vidB_5000_15000_dog_1", "test_s/vidB_5000_15000_dog_1#2"]


def test_find_root_in_an_extracted_archive(tree):
    root, _ = tree
    assert find_refavs_root(root.parent) == root
    with pytest.raises(DataError, match="no RefAVS root"):
        find_refavs_root(root / "media" / "vidA_0_10000" / "frames")


# --------------------------------------------------------------------------- bad input


def test_missing_metadata_and_columns(tmp_path):
    with pytest.raises(MissingMediaError, match="metadata.csv"):
        load_refavs(tmp_path)
    (tmp_path / "metadata.csv").write_text("vid,uid,split\nx,y,train\n")
    with pytest.raises(DataError, match=r"lacks columns \['fid', 'exp'\]"):
        load_refavs(tmp_path, strict=False)  # a broken index is never "skipped"


def test_missing_audio_file(tree):
    root, _ = tree
    wav = root / "media" / "vidB_5000_15000" / "audio.wav"
    wav.unlink()
    with pytest.raises(MissingMediaError, match=str(wav)):
        load_refavs(root)
    res = load_refavs(root, strict=False)
    # vidB's own row and the null row falling back to vidB are skipped; the rest loads
    assert len(res) == 4 and res.num_skipped == 2
    assert all("audio.wav" in reason and "vidB_5000_15000" in reason for _, reason in res.skipped)
    relaxed = by_uid(load_refavs(root, allow_missing_audio=True))
    assert relaxed["vidB_5000_15000_dog_1"].audio_path is None
    assert relaxed["vidB_5000_15000_dog_1"].meta["audio_missing"] is True


def test_missing_mask_file(tree):
    root, _ = tree
    png = root / "gt_mask" / "vidC_1000_11000" / "fid_0" / "00007.png"
    png.unlink()
    with pytest.raises(MissingMediaError, match="00007.png"):
        load_refavs(root, "test_u")
    res = load_refavs(root, strict=False)
    assert res.num_skipped == 1 and "00007.png" in res.skipped[0][1]
    assert res.skipped[0][0].startswith("test_u/vidC_1000_11000_car_1")
    assert len(res) == 5


def test_mask_deleted_after_listing_fails_at_read_time(tree):
    root, _ = tree
    s = load_refavs(root, "test_u")[0]
    (root / "gt_mask" / "vidC_1000_11000" / "fid_0" / "00003.png").unlink()
    with pytest.raises(MissingMediaError, match="00003.png"):
        s.load_masks()


def test_row_pointing_nowhere(tree):
    root, _ = tree
    with open(root / "metadata.csv", "a") as f:
        f.write("ghost_0_10000,ghost_0_10000_cat_1,val,0,The cat.,cat\n")
    with pytest.raises(MissingMediaError, match="ghost_0_10000"):
        load_refavs(root)
    res = load_refavs(root, strict=False)
    assert res.num_skipped == 1 and len(res) == 6
    ident, reason = res.skipped[0]
    assert "ghost_0_10000_cat_1" in ident and "line 9" in ident
    assert str(root / "media" / "ghost_0_10000") in reason


def test_corrupt_jpeg_is_a_read_time_error_unless_validated(tree):
    root, _ = tree
    bad = root / "media" / "vidA_0_10000" / "frames" / "4.jpg"
    bad.write_bytes(bad.read_bytes()[:100])
    res = load_refavs(root, "train")  # listing does not decode
    assert len(res) == 2
    with pytest.raises(CorruptMediaError, match="4.jpg"):
        read_frames(res[0])
    with pytest.raises(CorruptMediaError, match="4.jpg"):
        validate_sample(res[0])
    with pytest.raises(CorruptMediaError, match="4.jpg"):
        load_refavs(root, validate=True)
    checked = load_refavs(root, strict=False, validate=True)
    assert len(checked) == 4 and checked.num_skipped == 2
    assert all("4.jpg" in reason for _, reason in checked.skipped)


def test_validate_catches_corrupt_mask_and_audio(tree):
    root, _ = tree
    (root / "gt_mask" / "vidB_5000_15000" / "fid_0" / "00002.png").write_bytes(b"\x89PNG broken")
    (root / "media" / "vidC_1000_11000" / "audio.wav").write_bytes(b"RIFF0000WAVEjunk")
    res = load_refavs(root, strict=False, validate=True)
    reasons = " | ".join(r for _, r in res.skipped)
    assert "00002.png" in reasons and str(root / "media" / "vidC_1000_11000" / "audio.wav") in reasons
    assert res.num_skipped == 2 and len(res) == 4


def test_all_splits_constant():
    assert REFAVS_SPLITS == ("train", "val", "test_s", "test_u", "test_n")


def test_a_deleted_frame_is_named_and_a_further_one_is_not_read(tree):
    """Frames are 0.jpg ... 9.jpg, as the toolkit reads them: a deleted 5.jpg used to give a shorter
    clip (9 frames, its 9 masks) that validation passed; a 10.jpg is not part of the clip."""
    import shutil

    root, _ = tree
    frames = root / "media" / "vidA_0_10000" / "frames"
    (frames / "5.jpg").unlink()
    other = root / "media" / "vidB_5000_15000" / "frames"
    shutil.copy(other / "0.jpg", other / "10.jpg")
    with pytest.raises(MissingMediaError, match=r"frames/5\.jpg"):
        load_refavs(root, "train")
    res = load_refavs(root, strict=False, validate=True)
    assert sorted(i.split(" ")[0] for i, _ in res.skipped) == ["train/vidA_0_10000_guitar_1",
                                                              "train/vidA_0_10000_man_1"]
    assert all("5.jpg" in reason and "1 of the clip's 10 frames" in reason for _, reason in res.skipped)
    dog = by_uid(res)["vidB_5000_15000_dog_1"]
    assert len(res) == 4 and dog.frame_names == tuple(f"{t}.jpg" for t in range(REFAVS_FRAMES))
    assert dog.load_masks().shape[0] == REFAVS_FRAMES
    with pytest.raises(MissingMediaError, match="000010.png"):  # the folder as it is: 10.jpg needs a mask
        load_refavs(root, "test_s", num_frames=None)


def test_a_training_listing_skips_a_row_without_its_mask_folder_and_counts_it(tree):
    """Omni-R1's training loader passes over a row whose fid_<n> folder is missing; an evaluation
    listing stays strict. allow_missing_audio is reachable from load_samples."""
    import shutil

    from omni_r1_lite.config import apply_overrides, get_preset
    from omni_r1_lite.data.sources import load_samples

    root, _ = tree
    shutil.rmtree(root / "gt_mask" / "vidA_0_10000" / "fid_1")
    with pytest.raises(MissingMediaError, match="fid_1"):
        load_refavs(root, "train")
    listed = load_refavs(root, "train", skip_missing_mask_folders=True)
    assert [s.meta["uid"] for s in listed] == ["vidA_0_10000_guitar_1"] and not listed.skipped
    assert listed.info["skipped_missing_mask_folders"] == 1
    cfg = apply_overrides(get_preset("smoke"), ["data.dataset=refavs"])
    data = root.parent
    (data / "refavs").symlink_to(root)
    assert len(load_samples(cfg, data, "train", training=True)) == 1
    with pytest.raises(MissingMediaError):
        load_samples(cfg, data, "train")
    (root / "media" / "vidB_5000_15000" / "audio.wav").unlink()
    relaxed = load_samples(cfg, data, "test_s", allow_missing_audio=True)
    assert relaxed[0].audio_path is None and relaxed[0].meta["audio_missing"] is True
