"""System 2: the grounder (tiny thinker, adapters disabled) and SAM2 (random weights, 256 px, CPU)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import tiny_assets

from omni_r1_lite import models
from omni_r1_lite.systems import detail
from omni_r1_lite.systems.detail import (
    DetailSystem,
    PaperDetailSystem,
    QwenGrounder,
    Sam2Segmenter,
    clip_boxes,
    ground_and_segment,
)

T, H, W = 6, 96, 128
TINY_IMAGE = models.PIXEL_BUDGETS["tiny"]["image"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return tiny_assets.write_clip(tmp_path_factory.mktemp("clip"), T, H, W)


@pytest.fixture(scope="module")
def segmenter():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", detail.RandomWeightsWarning)
        seg = Sam2Segmenter("sam2.1_hiera_t", image_size=256, device="cpu", cache_features=16)
        seg.predictor  # noqa: B018 - build once for the module
    return seg


def _spy_propagation(seg, monkeypatch):
    calls = []
    original = seg.predictor.propagate_in_video

    def spy(state, **kw):
        frames = []
        calls.append((kw, frames))
        for out in original(state, **kw):
            frames.append(out[0])
            yield out

    monkeypatch.setattr(seg.predictor, "propagate_in_video", spy)
    return calls


# ----------------------------------------------------------------------------- SAM2


def test_sam2_masks_cover_every_frame_both_ways(clip, segmenter, monkeypatch):
    calls = _spy_propagation(segmenter, monkeypatch)
    prompts = {2: tiny_assets.square_box(2, T, H, W), 4: tiny_assets.square_box(4, T, H, W)}
    ids, tracks = segmenter.segment_tracks(clip, prompts)
    assert ids == [1, 2]
    assert tracks.shape == (2, T, H, W) and tracks.dtype == bool
    forward, backward = calls
    assert forward[0] == {"start_frame_idx": 2} and forward[1] == [2, 3, 4, 5]
    assert backward[0] == {"start_frame_idx": 2, "reverse": True} and backward[1] == [2, 1, 0]
    assert set(forward[1]) | set(backward[1]) == set(range(T))


def test_sam2_on_chosen_frames_and_without_prompts(clip, segmenter, monkeypatch):
    calls = _spy_propagation(segmenter, monkeypatch)
    prompts = {3: tiny_assets.square_box(3, T, H, W)}
    masks = segmenter.segment(clip, prompts, frames=[1, 3, 5])
    assert masks.shape == (3, H, W) and masks.dtype == bool
    assert [frames for _, frames in calls] == [[1, 2], [1, 0]]  # local indices of frames 3, 5 and 3, 1
    # segment() is the union of segment_tracks() (second call: cached state and encoder features)
    ids, tracks = segmenter.segment_tracks(clip, prompts, frames=[1, 3, 5])
    assert ids == [1] and tracks.shape == (1, 3, H, W)
    np.testing.assert_array_equal(masks, tracks.any(axis=0))
    with pytest.raises(ValueError):
        segmenter.segment(clip, {2: tiny_assets.square_box(2, T, H, W)}, frames=[1, 3])
    calls.clear()
    empty = segmenter.segment(
        clip, {1: np.zeros((0, 4), np.float32), 2: np.array([[5, 5, 5, 30]], np.float32)}
    )
    assert empty.shape == (T, H, W) and not empty.any() and calls == []  # nothing to track: SAM2 not run


def _encoder_calls(seg, monkeypatch) -> list[int]:
    calls: list[int] = []
    original = seg.predictor.forward_image

    def counted(image):
        calls.append(1)
        return original(image)

    monkeypatch.setattr(seg.predictor, "forward_image", counted)
    return calls


def test_sam2_feature_reuse_same_masks_encoder_once_per_frame(clip, monkeypatch):
    """A clip's expressions one after another: with ``cache_features`` every frame is encoded once
    (SAM2 alone re-encodes every frame for every expression), the masks are identical, the position
    encodings are held once for the clip, and the cap is kept."""
    import torch

    expressions = [{2: tiny_assets.square_box(2, T, H, W)}, {4: tiny_assets.square_box(4, T, H, W)},
                   {0: np.array([[10, 10, 60, 50]], np.float32)}]
    out, encoded = {}, {}
    for cache in (0, T, 3):
        torch.manual_seed(0)  # the same random weights in every arm
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", detail.RandomWeightsWarning)
            seg = Sam2Segmenter("sam2.1_hiera_t", image_size=256, device="cpu", cache_features=cache)
            seg.predictor  # noqa: B018 - built here, under the warning filter
        calls = _encoder_calls(seg, monkeypatch)
        out[cache] = [seg.segment(clip, p) for p in expressions]
        encoded[cache] = len(calls)
        if cache == T:
            assert seg.feature_cache_frames() == T
            per_frame = seg.feature_cache_bytes(shared=False) / T
            shared = seg.feature_cache_bytes() - seg.feature_cache_bytes(shared=False)
            # 256 px: FPN levels 32·64² + 64·32² + 256·16² floats; the shared position encodings
            # 256·(64² + 32² + 16²) floats, once for the clip
            assert per_frame == 4 * (32 * 64**2 + 64 * 32**2 + 256 * 16**2)
            assert shared == 4 * 256 * (64**2 + 32**2 + 16**2)
        if cache == 3:
            assert seg.feature_cache_frames() == 3
    assert encoded[0] == 3 * T  # SAM2 alone: every frame of every expression
    assert encoded[T] == T  # reused: once per frame of the clip
    assert T < encoded[3] < 3 * T  # the cap: frames beyond it are encoded again
    for cache in (T, 3):
        for a, b in zip(out[0], out[cache]):
            np.testing.assert_array_equal(a, b)
    assert any(m.any() for m in out[0])


def test_sam2_feature_cache_is_per_clip(tmp_path, monkeypatch):
    """Another clip starts a new store: its frames are encoded, nothing from the first is used."""
    a = tiny_assets.write_clip(tmp_path / "a", T, H, W)
    b = tiny_assets.write_clip(tmp_path / "b", T, H, W, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", detail.RandomWeightsWarning)
        seg = Sam2Segmenter("sam2.1_hiera_t", image_size=256, device="cpu", cache_features=T)
        seg.predictor  # noqa: B018
    calls = _encoder_calls(seg, monkeypatch)
    box = {1: tiny_assets.square_box(1, T, H, W)}
    seg.segment(a, box)
    seg.segment(b, box)
    seg.segment(b, box)
    assert len(calls) == 2 * T and seg.feature_cache_frames() == T


def test_sam2_video_folder(tmp_path):
    sample = tiny_assets.write_clip(tmp_path / "own", 3, 32, 32, name_width=0)
    with detail._sam2_video_dir(sample, None) as folder:
        assert folder == str(sample.frame_dir)  # 0.jpg 1.jpg 2.jpg: SAM2 reads it as is
    (sample.frame_dir / "7.jpg").write_bytes((sample.frame_dir / "0.jpg").read_bytes())  # a stray frame
    with detail._sam2_video_dir(sample, None) as folder:
        assert folder != str(sample.frame_dir) and sorted(os.listdir(folder)) == [
            "00000.jpg",
            "00001.jpg",
            "00002.jpg",
        ]
    assert not os.path.exists(folder)
    with detail._sam2_video_dir(sample, [2, 0]) as folder:
        assert os.path.realpath(os.path.join(folder, "00000.jpg")) == str(
            (sample.frame_dir / "2.jpg").resolve()
        )


def test_sam2_configs():
    assert detail.resolve_sam2_config("l") == "configs/sam2.1/sam2.1_hiera_l.yaml"
    assert set(detail.SAM2_CHECKPOINT_URLS) == set(detail.SAM2_CONFIGS)
    with pytest.raises(ValueError):
        detail.resolve_sam2_config("xl")
    with pytest.raises(ValueError):
        Sam2Segmenter(track="per_frame")


# ----------------------------------------------------------------------------- grounder


def test_grounder_with_random_weights_returns_valid_boxes(clip):
    model, processor = tiny_assets.load_tiny_thinker("xs")
    lo, hi = TINY_IMAGE
    grounder = QwenGrounder(model, processor, max_pixels=hi, min_pixels=lo, max_new_tokens=24)
    boxes = grounder.ground(clip, 2, "the red square")
    assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 4
    assert ((boxes >= 0) & (boxes <= [W, H, W, H])).all()
    assert grounder.ground(clip, 2, "  ").shape == (0, 4)


def test_grounder_prompt_rescaling_and_disabled_adapters(tmp_path, monkeypatch):
    import torch
    from peft import LoraConfig, get_peft_model

    sample = tiny_assets.write_clip(tmp_path / "big", 2, 240, 320, task="AVS")
    model, processor = tiny_assets.load_tiny_thinker("xs")
    policy = get_peft_model(model, LoraConfig(r=4, target_modules=models.lora_target_regex(["q_proj"])))
    lora_layer = policy.base_model.model.model.language_model.layers[0].self_attn.q_proj
    seen = {}
    known = '```json\n[{"bbox_2d": [126, 21, 84, 63], "label": "square"}, {"bbox_2d": [0, 0, 0, 5]}]\n```'

    def fake_generate(**inputs):
        seen["prompt"] = processor.tokenizer.decode(inputs["input_ids"][0])
        seen["grid"] = inputs["image_grid_thw"].tolist()
        seen["do_sample"] = inputs.get("do_sample")
        seen["adapters_off"] = bool(lora_layer.disable_adapters)
        answer = processor.tokenizer(known, return_tensors="pt").input_ids
        return torch.cat([inputs["input_ids"], answer], dim=1)

    monkeypatch.setattr(policy, "generate", fake_generate)
    lo, hi = TINY_IMAGE
    grounder = QwenGrounder(policy, processor, max_pixels=hi, min_pixels=lo)
    boxes = grounder.ground(sample, 1, "The red square.")
    # 240x320 under 224*224 px resizes to 168x252 (12x18 patches of 14 px)
    assert seen["grid"] == [[1, 12, 18]]
    assert seen["do_sample"] is False and seen["adapters_off"]
    assert "Find the bounding box of 'the red square'" in seen["prompt"]  # AVS sample: RefAVS prompt
    assert "<|vision_bos|><|IMAGE|>" in seen["prompt"]
    np.testing.assert_allclose(
        boxes, [[84 * 320 / 252, 21 * 240 / 168, 126 * 320 / 252, 63 * 240 / 168]], rtol=1e-6
    )
    assert not lora_layer.disable_adapters  # re-enabled after grounding
    grounder.style = "qwen"
    grounder.ground(sample, 0, "the red square")
    assert "Locate every object that matches 'the red square'" in seen["prompt"]


# ----------------------------------------------------------------------------- interface


class _FakeGrounder:
    def ground(self, sample, frame_index, description):
        return (
            tiny_assets.square_box(frame_index, sample.num_frames, H, W)
            if "square" in description
            else np.zeros((0, 4), np.float32)
        )


class _FakeSegmenter:
    def __init__(self):
        self.calls = []

    def segment(self, sample, prompts, frames=None):
        self.calls.append(({k: v.copy() for k, v in prompts.items()}, frames))
        n = sample.num_frames if frames is None else len(frames)
        return np.zeros((n, H, W), dtype=bool)


def test_paper_detail_system_interface(clip):
    seg = _FakeSegmenter()
    system = PaperDetailSystem(_FakeGrounder(), seg)
    assert isinstance(system, DetailSystem)
    assert isinstance(Sam2Segmenter(), detail.Segmenter) and not isinstance(Sam2Segmenter(), detail.Grounder)
    result = ground_and_segment(system, clip, [1, 4], ["the red square", "nothing"])
    assert sorted(result.boxes) == [1, 4] and result.boxes[4].shape == (0, 4)
    assert result.masks.shape == (T, H, W)
    prompts, frames = seg.calls[0]
    np.testing.assert_array_equal(prompts[1], tiny_assets.square_box(1, T, H, W))
    assert frames is None
    with pytest.raises(ValueError):
        ground_and_segment(system, clip, [1], [])


def test_clip_boxes_bounds():
    out = clip_boxes(np.array([[-10, -10, 500, 500], [np.nan, 0, 4, 4], [3, 3, 1, 1]], np.float32), 20, 30)
    np.testing.assert_array_equal(out, [[0, 0, 30, 20], [1, 1, 3, 3]])
    assert clip_boxes(np.zeros((0, 4)), 5, 5).shape == (0, 4)
