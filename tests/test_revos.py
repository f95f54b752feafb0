"""ReVOS loader on a tiny tree in the ReVOS-api layout (and the Sa2VA bundle's variant)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from data_fixtures import RH, RW, frame_colour, make_revos_tree

from omni_r1_lite.data.masks import RleMasks, clear_json_cache, shared_json
from omni_r1_lite.data.media import CorruptMediaError, MissingMediaError, read_frames
from omni_r1_lite.data.revos import find_revos_root, load_foreground, load_revos
from omni_r1_lite.data.schema import DataError, EmptyMasks

VIDEO = "UVO/all/-CiPki3XuVI"
OTHER = "LV-VIS/test/00016"


@pytest.fixture()
def tree(tmp_path):
    clear_json_cache()
    root = tmp_path / "ReVOS"
    truth = make_revos_tree(root)
    yield root, truth
    clear_json_cache()


def by_id(result):
    return {s.sample_id: s for s in result}


def test_lists_expressions_without_opening_the_mask_dictionary(tree):
    root, _ = tree
    res = load_revos(root)  # split="valid"
    assert res.skipped == [] and len(res) == 5
    assert [s.sample_id for s in res] == [
        f"{VIDEO}/0",
        f"{VIDEO}/1",
        f"{VIDEO}/2",
        f"{VIDEO}/3",
        f"{OTHER}/0",
    ]
    assert all(
        s.task == "VOS" and s.dataset == "revos" and s.split == "valid" and s.audio_path is None for s in res
    )
    assert not shared_json(root / "mask_dict.json").loaded  # listing never parses it
    s = res[0]
    assert s.frame_dir == root / "JPEGImages" / "UVO" / "all" / "-CiPki3XuVI"
    assert s.frame_names == tuple(f"{t:05d}.jpg" for t in range(5))
    assert s.meta["video"] == VIDEO and s.meta["exp_id"] == "0" and s.meta["vid_id"] == "1"
    assert len(load_revos(root, "train")) == 1


def test_expression_types(tree):
    root, _ = tree
    s = by_id(load_revos(root))
    assert s[f"{VIDEO}/0"].expression_type == "referring" and not s[f"{VIDEO}/0"].meta["visa_excluded"]
    assert s[f"{VIDEO}/1"].expression_type == "reasoning"
    two = s[f"{VIDEO}/2"]
    assert two.meta["type_id"] == 2 and two.meta["visa_excluded"] and two.expression_type == "referring"
    null = s[f"{VIDEO}/3"]
    assert null.is_null and null.object_ids == () and isinstance(null.masks, EmptyMasks)
    assert null.load_masks().shape == (5, RH, RW) and not null.load_masks().any()
    assert [x.sample_id for x in load_revos(root, type_ids=(1,))] == [f"{VIDEO}/1", f"{VIDEO}/3"]


def test_single_and_multi_object_masks_round_trip(tree):
    root, truth = tree
    s = by_id(load_revos(root))
    one = s[f"{VIDEO}/0"]
    m = one.load_masks()
    assert m.shape == (5, RH, RW) and m.dtype == bool
    np.testing.assert_array_equal(m, truth["anno"]["0"])
    assert not m[4].any()  # a null RLE is an empty frame
    multi = s[f"{VIDEO}/1"]
    assert multi.object_ids == (1, 2) and multi.meta["anno_ids"] == ("1", "2")
    per_obj = multi.load_object_masks()
    assert per_obj.shape == (2, 5, RH, RW)
    np.testing.assert_array_equal(per_obj[0], truth["anno"]["1"])
    np.testing.assert_array_equal(per_obj[1], truth["anno"]["2"])
    np.testing.assert_array_equal(multi.load_masks([3, 1]), (truth["anno"]["1"] | truth["anno"]["2"])[[3, 1]])


def test_mask_dictionary_is_parsed_once_and_shared(tree):
    root, _ = tree
    res = load_revos(root)
    stores = {id(s.masks.store) for s in res if isinstance(s.masks, RleMasks)}
    assert len(stores) == 1
    store = res[0].masks.store
    res[0].load_masks()
    assert store.loaded
    data = store.data
    res[1].load_masks()
    assert store.data is data
    assert load_revos(root)[0].masks.store is store  # a second listing reuses the parsed file


def test_frames_stored_out_of_order(tree):
    root, truth = tree
    s = by_id(load_revos(root))[f"{OTHER}/0"]
    assert s.frame_names == ("00000.jpg", "00001.jpg", "00002.jpg", "00003.jpg")
    np.testing.assert_array_equal(s.load_masks(), truth["anno"]["3"])  # realigned to time order
    greys = [round(float(f.mean())) for f in read_frames(s)]
    assert greys == pytest.approx([frame_colour(3 + t) for t in range(4)], abs=2)


def test_foreground_for_robustness(tree):
    root, truth = tree
    s = by_id(load_revos(root))
    fg = load_foreground(s[f"{VIDEO}/0"])
    union = truth["anno"]["0"] | truth["anno"]["1"] | truth["anno"]["2"]
    assert fg.shape == (5, RH, RW) and fg.dtype == bool
    np.testing.assert_array_equal(fg, union)
    np.testing.assert_array_equal(load_foreground(s[f"{OTHER}/0"], [0, 2]), truth["anno"]["3"][[0, 2]])
    (root / "mask_dict_foreground.json").unlink()
    clear_json_cache()
    bare = load_revos(root)[0]
    assert "foreground" not in bare.meta
    with pytest.raises(DataError, match="mask_dict_foreground.json"):
        load_foreground(bare)


def test_sa2va_layout_and_size_from_frames(tmp_path):
    clear_json_cache()
    root = tmp_path / "video_datas" / "revos"
    truth = make_revos_tree(root, layout="sa2va", with_size=False)
    assert find_revos_root(tmp_path) == root
    res = load_revos(root)
    s = res[0]
    assert s.frame_dir == root / "UVO" / "all" / "-CiPki3XuVI"
    np.testing.assert_array_equal(s.load_masks(), truth["anno"]["0"])
    assert by_id(res)[f"{VIDEO}/3"].load_masks().shape == (5, RH, RW)  # null: size from the first frame
    with pytest.raises(DataError, match="no ReVOS root"):
        find_revos_root(root / "UVO")


# --------------------------------------------------------------------------- bad input


def test_missing_index_files(tree):
    root, _ = tree
    with pytest.raises(MissingMediaError, match="meta_expressions_test_.json"):
        load_revos(root, "test")
    (root / "mask_dict.json").unlink()
    with pytest.raises(MissingMediaError, match="mask_dict.json"):
        load_revos(root, strict=False)


def test_missing_frame_file(tree):
    root, _ = tree
    missing = root / "JPEGImages" / OTHER / "00002.jpg"
    missing.unlink()
    with pytest.raises(MissingMediaError, match="00002.jpg"):
        load_revos(root)
    res = load_revos(root, strict=False)
    assert len(res) == 4 and res.num_skipped == 1
    assert res.skipped[0][0] == f"{OTHER}/0" and str(missing) in res.skipped[0][1]


def test_missing_video_folder(tree):
    root, _ = tree
    shutil.rmtree(root / "JPEGImages" / "UVO")
    res = load_revos(root, strict=False)
    assert len(res) == 1 and res.num_skipped == 4  # every expression of that video
    assert all("UVO/all/-CiPki3XuVI" in reason for _, reason in res.skipped)


def test_missing_anno_id_is_a_read_time_error(tree):
    root, _ = tree
    d = json.loads((root / "mask_dict.json").read_text())
    del d["2"]
    (root / "mask_dict.json").write_text(json.dumps(d))
    res = load_revos(root)
    assert len(res) == 5  # listing does not open the mask dictionary
    multi = by_id(res)[f"{VIDEO}/1"]
    with pytest.raises(DataError, match=r"anno_id '2'.*mask_dict.json"):
        multi.load_masks()
    checked = load_revos(root, strict=False, validate=True)
    assert checked.num_skipped == 1 and checked.skipped[0][0] == f"{VIDEO}/1"
    assert "mask_dict.json" in checked.skipped[0][1]


def test_corrupt_mask_dictionary_and_jpeg(tree):
    root, _ = tree
    bad = root / "JPEGImages" / VIDEO / "00001.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    checked = load_revos(root, strict=False, validate=True)
    assert checked.num_skipped == 4 and len(checked) == 1  # every expression of that video
    assert all("00001.jpg" in r for _, r in checked.skipped)
    with pytest.raises(CorruptMediaError, match="00001.jpg"):
        load_revos(root, validate=True)
    (root / "mask_dict.json").write_text('{"0": [')
    clear_json_cache()
    s = load_revos(root)[0]
    with pytest.raises(CorruptMediaError, match="mask_dict.json"):
        s.load_masks()


def test_samples_pickle_without_copying_the_mask_dictionary(tree):
    import pickle

    root, truth = tree
    s = by_id(load_revos(root))[f"{VIDEO}/1"]
    s.load_masks()  # parse it here first
    blob = pickle.dumps(s)
    assert len(blob) < 5000  # paths and ids, not the parsed dictionary
    back = pickle.loads(blob)
    assert back.masks.store is s.masks.store  # same process: re-attached to the cache
    np.testing.assert_array_equal(back.load_masks(), truth["anno"]["1"] | truth["anno"]["2"])
    np.testing.assert_array_equal(load_foreground(back), load_foreground(s))
