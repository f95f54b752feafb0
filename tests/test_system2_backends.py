"""System 2's other grounders (issue 18, item 5): VisionReasoner (a small random Qwen2.5-VL with the
real vocabulary and Qwen2.5-VL's processor rebuilt offline) and Sa2VA (an adapter, tested with a fake
of its published ``predict_forward``), selected by ``system2.backend``; Table 5."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import tiny_assets
import torch

from omni_r1_lite import memory
from omni_r1_lite import offline_processor as op
from omni_r1_lite.config import apply_overrides, check_system2, get_preset
from omni_r1_lite.systems import detail
from omni_r1_lite.systems.parsing import parse_box_points
from omni_r1_lite.systems.sa2va import Sa2VAGrounder, mask_boxes
from omni_r1_lite.systems.vision_reasoner import (
    RESIZE,
    VisionReasonerGrounder,
    load_vision_reasoner,
    vision_reasoner_prompt,
)

T, H, W = 6, 96, 128


@pytest.fixture(scope="module")
def vl_processor(tmp_path_factory):
    return op.build_vl_processor(tmp_path_factory.mktemp("qwen25_vl_processor"))


@pytest.fixture(scope="module")
def vl_folder(tmp_path_factory, vl_processor):
    """A Qwen2.5-VL checkpoint folder: real vocabulary and token ids, 32-wide 2-layer stacks, random."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    cfg = Qwen2_5_VLConfig(
        text_config=dict(vocab_size=151936, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32768,
                         tie_word_embeddings=False, eos_token_id=151645, pad_token_id=151643,
                         rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [1, 1, 2]}),
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=4, out_hidden_size=32,
                           patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
                           fullatt_block_indexes=[1]),
        image_token_id=151655, video_token_id=151656, vision_start_token_id=151652, vision_end_token_id=151653,
        tie_word_embeddings=False,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Qwen2_5_VLForConditionalGeneration(cfg).eval()
    folder = tmp_path_factory.mktemp("visionreasoner_tiny")
    model.save_pretrained(folder)
    vl_processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return tiny_assets.write_clip(tmp_path_factory.mktemp("clip"), T, H, W)


# ----------------------------------------------------------------------------- the VL processor


def test_vl_processor_has_qwen25_vl_names_at_the_published_ids(vl_processor):
    tok = vl_processor.tokenizer
    for i, name in {151652: "<|vision_start|>", 151653: "<|vision_end|>", 151655: "<|image_pad|>",
                    151656: "<|video_pad|>", 151645: "<|im_end|>", 151646: "<|object_ref_start|>"}.items():
        assert tok.convert_tokens_to_ids(name) == i
    assert vl_processor.image_token_id == 151655 and vl_processor.video_token_id == 151656
    assert "<|IMAGE|>" not in tok.get_vocab()  # Omni's name is not there
    text = vl_processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "hi"}]}],
        add_generation_prompt=True, tokenize=False)
    assert text == ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                    "<|vision_start|><|image_pad|><|vision_end|>hi<|im_end|>\n<|im_start|>assistant\n")


def test_a_folder_of_one_flavour_is_not_reused_for_the_other(tmp_path):
    op.write_processor_files(tmp_path / "p", flavour="vl")
    with pytest.raises(ValueError, match="'vl' processor, not a 'omni'"):
        op.write_processor_files(tmp_path / "p")
    with pytest.raises(ValueError, match="flavour"):
        op.write_processor_files(tmp_path / "q", flavour="qwen3")


# ----------------------------------------------------------------------------- VisionReasoner


def test_visionreasoner_prompt_and_the_840_square(vl_processor, clip):
    """The keyframe reaches Qwen2.5-VL as 840 x 840 whatever its shape: 30 x 30 merged patches."""
    g = VisionReasonerGrounder(None, vl_processor)
    image = detail._load_frame(clip, 0)
    inputs = g.prepare(image, "The Red Square.")
    assert inputs["image_grid_thw"].tolist() == [[1, RESIZE // 14, RESIZE // 14]]
    assert int((inputs["input_ids"] == 151655).sum()) == (RESIZE // 28) ** 2 == 900
    text = vl_processor.tokenizer.decode(inputs["input_ids"][0])
    assert 'Please find "the red square" with bboxs and points.Compare' in text
    assert '<answer>[{"bbox_2d": [10,100,200,210], "point_2d": [30,110]}' in text
    assert vision_reasoner_prompt('a dog?"') == vision_reasoner_prompt("A dog")


def test_visionreasoner_boxes_scale_back_from_the_square(vl_processor, clip, monkeypatch):
    g = VisionReasonerGrounder(None, vl_processor)
    answer = ('<think>the square is left</think>\n<answer>[{"bbox_2d": [105, 280, 315, 560], '
              '"point_2d": [210, 420]}, {"bbox_2d": [700, 0, 900, 100]}]</answer>')
    monkeypatch.setattr(g, "generate_text", lambda inputs: answer)
    boxes, points = g.ground_points(detail._load_frame(clip, 0), "the square")
    sx, sy = W / RESIZE, H / RESIZE
    expected = np.floor(np.array([[105 * sx, 280 * sy, 315 * sx, 560 * sy]]) + 0.5)
    np.testing.assert_array_equal(boxes[0], expected[0])
    np.testing.assert_array_equal(points[0], np.floor(np.array([210 * sx, 420 * sy]) + 0.5))
    # the second box runs past the square's edge: clipped to the frame, no point given
    assert boxes[1].tolist() == [float(np.floor(700 * sx + 0.5)), 0.0, float(W), float(np.floor(100 * sy + 0.5))]
    assert points[1] is None
    assert boxes.dtype == np.float32 and g.ground(clip, 0, "the square").shape == (2, 4)
    for bad in ("no answer at all", "<answer>[{'bbox_2d': 'oops'}]</answer>", "<answer>[", ""):
        monkeypatch.setattr(g, "generate_text", lambda inputs, bad=bad: bad)
        assert g.ground(clip, 0, "the square").shape == (0, 4)
    assert g.ground(clip, 0, "  ").shape == (0, 4)  # nothing to ground: no model call


def test_visionreasoner_generates_with_a_random_qwen25_vl(vl_folder, clip):
    """The kit's loader and generation on a Qwen2.5-VL checkpoint: real ids, 900 image tokens."""
    model, processor = load_vision_reasoner(str(vl_folder), device="cpu")
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration" and processor.tokenizer.padding_side == "left"
    from omni_r1_lite.systems.factory import suppress_tokens_for

    g = VisionReasonerGrounder(model, processor, max_new_tokens=6, suppress_tokens=suppress_tokens_for(processor))
    inputs = g.prepare(detail._load_frame(clip, 2), "the square")
    with torch.inference_mode():
        out = model.generate(**inputs, max_new_tokens=6, do_sample=False, suppress_tokens=g.suppress_tokens)
    new = out[0, inputs["input_ids"].shape[1]:].tolist()
    assert len(new) >= 1 and not set(new) & set(g.suppress_tokens)
    boxes = g.ground(clip, 2, "the square")  # random weights: whatever it says is read, never raised
    assert boxes.dtype == np.float32 and boxes.shape[1:] == (4,)


def test_system2_backend_visionreasoner_builds_grounder_and_sam2(vl_folder, clip, monkeypatch):
    from omni_r1_lite.systems.factory import build_system2

    cfg = apply_overrides(get_preset("smoke"), ["system2.backend=visionreasoner", f"system2.grounder={vl_folder}",
                                                "system2.sam2_image_size=256"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", detail.RandomWeightsWarning)
        system = build_system2(cfg, device="cpu")
        assert isinstance(system, detail.PaperDetailSystem)
        assert isinstance(system.grounder, VisionReasonerGrounder)
        sx, sy = RESIZE / W, RESIZE / H
        x1, y1, x2, y2 = tiny_assets.square_box(1, T, H, W)[0]
        monkeypatch.setattr(system.grounder, "generate_text", lambda inputs: (
            f'<answer>[{{"bbox_2d": [{x1 * sx:.0f}, {y1 * sy:.0f}, {x2 * sx:.0f}, {y2 * sy:.0f}], '
            '"point_2d": [1, 1]}]</answer>'))
        result = detail.ground_and_segment(system, clip, [1], ["the square"])
    np.testing.assert_allclose(result.boxes[1][0], [x1, y1, x2, y2], atol=1.0)
    assert result.masks.shape == (T, H, W) and result.masks.dtype == bool


# ----------------------------------------------------------------------------- Sa2VA (adapter)


class FakeSa2VA:
    """Answers as Sa2VA's ``predict_forward`` does: text with ``[SEG]`` and one mask per ``[SEG]``."""

    def __init__(self, masks):
        self.masks, self.calls = masks, []

    def predict_forward(self, image=None, video=None, text=None, past_text="", mask_prompts=None, tokenizer=None):
        self.calls.append({"size": image.size, "text": text, "past_text": past_text, "tokenizer": tokenizer})
        return {"prediction": "Sure, [SEG]." if self.masks else "Sorry.", "prediction_masks": self.masks}


def _mask(boxes, h=H, w=W):
    m = np.zeros((1, h, w), bool)
    for x1, y1, x2, y2 in boxes:
        m[0, y1:y2, x1:x2] = True
    return m


def test_sa2va_masks_become_boxes_on_the_keyframe(clip):
    fake = FakeSa2VA([_mask([(10, 20, 40, 50)]), np.zeros((1, H, W), bool), _mask([(60, 5, 70, 9), (80, 30, 90, 40)])])
    g = Sa2VAGrounder(fake, tokenizer="tok")
    boxes = g.ground(clip, 3, "The Red Square.")
    assert boxes.tolist() == [[10, 20, 40, 50], [60, 5, 90, 40]]  # one box per non-empty [SEG] mask
    assert fake.calls == [{"size": (W, H), "text": "<image>Please segment the red square.", "past_text": "",
                           "tokenizer": "tok"}]
    assert Sa2VAGrounder(FakeSa2VA([]), None).ground(clip, 0, "x").shape == (0, 4)  # no [SEG]: no box
    assert Sa2VAGrounder(fake, None, max_boxes=1).ground(clip, 0, "x").shape == (1, 4)
    with pytest.raises(ValueError, match=r"mask of shape \(1, 10, 10\)"):
        Sa2VAGrounder(FakeSa2VA([np.ones((1, 10, 10), bool)]), None).ground(clip, 0, "x")
    with pytest.raises(ValueError, match="<image>"):
        Sa2VAGrounder(fake, None, prompt="segment {description}")
    assert mask_boxes([np.ones((2, 4, 5), bool)], 4, 5).tolist() == [[0, 0, 5, 4]]


def test_system2_backend_sa2va_selects_the_adapter(monkeypatch, tmp_path):
    from omni_r1_lite.systems import factory, sa2va

    fake, real_load = FakeSa2VA([]), sa2va.load_sa2va
    seen = {}

    def fake_load(path, device=None, dtype=None):
        seen["path"] = path
        return fake, "tokenizer"

    monkeypatch.setattr(sa2va, "load_sa2va", fake_load)
    cfg = apply_overrides(get_preset("smoke"), ["system2.backend=sa2va", "system2.sam2_image_size=256"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", detail.RandomWeightsWarning)
        system = factory.build_system2(cfg, device="cpu")
    assert isinstance(system.grounder, Sa2VAGrounder) and system.grounder.model is fake
    assert seen["path"] == sa2va.SA2VA_MODEL
    with pytest.raises(FileNotFoundError, match="huggingface-cli download ByteDance/Sa2VA-4B"):
        real_load(str(tmp_path / "missing"))


# ----------------------------------------------------------------------------- config, results, memory


def test_backend_checks_and_fingerprints(tmp_path):
    from omni_r1_lite.evaluation.runner import Evaluator, results_name

    with pytest.raises(ValueError, match="unknown system2.backend 'lisa'"):
        check_system2(apply_overrides(get_preset("smoke"), ["system2.backend=lisa"]))
    with pytest.raises(ValueError, match="read only by the backends visionreasoner, sa2va"):
        check_system2(apply_overrides(get_preset("a100-7b"), ["system2.grounder=x"]))
    base = get_preset("smoke")
    fp = Evaluator(base, tmp_path, tmp_path / "a", "uniform").fingerprint("omnisynth", "seen")
    assert "grounder" not in json.dumps(fp)  # results stored before the field existed still resume
    paper = get_preset("a100-7b")
    vr = apply_overrides(paper, ["system2.backend=visionreasoner"])
    assert results_name("grpo", paper) == "grpo" and results_name("grpo", vr) == "grpo+visionreasoner"
    named = apply_overrides(vr, ["system2.grounder=ckpt/vr"])
    fp_vr = Evaluator(vr, tmp_path, tmp_path / "b", "uniform").fingerprint("revos", "valid")
    fp_named = Evaluator(named, tmp_path, tmp_path / "b", "uniform").fingerprint("revos", "valid")
    assert fp_vr["system2"]["backend"] == "visionreasoner" and fp_named["system2"]["grounder"] == "ckpt/vr"
    assert Evaluator(vr, tmp_path, tmp_path / "b", "uniform").method_dir.name == "uniform+visionreasoner"


def test_grpo_run_fingerprint_names_a_separate_grounder():
    from omni_r1_lite.grpo.trainer import run_fingerprint

    model = torch.nn.Linear(3, 2)
    cfg = get_preset("a100-7b")
    a = run_fingerprint(cfg, model, 0)
    assert a == run_fingerprint(apply_overrides(cfg, ["system2.sam2_config=sam2.1_hiera_t"]), model, 0)
    vr = apply_overrides(cfg, ["system2.backend=visionreasoner"])
    assert run_fingerprint(vr, model, 0) not in (a, run_fingerprint(
        apply_overrides(vr, ["system2.grounder=other"]), model, 0))


def test_qwen25_vl_7b_shapes_on_the_meta_device():
    """The published parameter count: what the memory plan's grounder row multiplies."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    from omni_r1_lite import full_size

    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration(full_size.vl_config())
    assert sum(p.numel() for p in model.parameters()) == full_size.VL_PARAMS_7B
    assert memory.GROUNDER_DIMS["visionreasoner"][0].params == pytest.approx(full_size.VL_PARAMS_7B, rel=1e-3)


def test_memory_plan_holds_the_separate_grounder():
    paper = memory.plan_memory(get_preset("a100-7b"))
    vr = memory.plan_memory(apply_overrides(get_preset("a100-7b"), ["system2.backend=visionreasoner"]))
    rows = {r.name: r.bytes for r in vr.rows}
    assert rows["visionreasoner grounder weights"] == pytest.approx(8.29e9 * 2)
    assert "grounding (adapters disabled, greedy)" in {r.name for r in paper.rows}
    assert rows["visionreasoner grounding (greedy)"] > 0 and "SAM2 weights" in rows
    assert vr.total_gib - paper.total_gib > 15


def test_table5_layout(tmp_path):
    from omni_r1_lite.evaluation.tables import render_results

    def revos(overall):
        return {"splits": {}, "tables": {"revos": [{"group": c, "J&F": overall} for c in
                                                   ("referring", "reasoning", "single", "multi", "overall")]}}

    results = {"preset": "a100-7b", "paper_setting": True,
               "datasets": {"revos": {"methods": {"grpo": revos(40.0), "grpo+visionreasoner": revos(42.0)}}}}
    text = render_results(results)
    assert "Table 5 layout" in text and "| grpo, System 2: visionreasoner | 42.0" in text
    assert "| paper: VisionReasoner at training and inference | 55.5 | 41.7 | 49.1 | 44.7 | 48.6 |" in text
    assert "| grpo, System 2: the base model (paper) | 40.0" in text


def test_parse_box_points_never_raises_and_keeps_pairs():
    assert parse_box_points('[{"bbox_2d": [1, 2, 3, 4], "point_2d": [true, 2]}]')[0][1] is None
    assert parse_box_points('[{"bbox_2d": [1, 2, 1, 4], "point_2d": [1, 2]}]') == []  # no area
    assert [b.tolist() for b, _ in parse_box_points('{"bbox_2d": [5, 6, 1, 2]}')] == [[1, 2, 5, 6]]
    for junk in (None, 3, "", "[[[[", "<answer></answer>", '{"point_2d": [1, 2]}'):
        assert parse_box_points(junk) == []
