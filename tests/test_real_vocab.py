"""The real prompt path: Qwen2.5-Omni's processor rebuilt offline with Qwen's real vocabulary.

Everything a GPU preset sends to or reads from the model goes through here with the real
tokenizer, token ids, chat template and media settings (`omni_r1_lite.offline_processor`), and a
small thinker that has the real vocabulary and token ids but narrow layers (so CI stays fast):
prompt building, token counts against ``compute.py`` and the memory plan, answer parsing of real
token ids, grounding-prompt coordinates, generation and the log-probabilities of the loss.
``benchmarks/rehearsal.py`` runs the same path at full size.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from omni_r1_lite import compute, full_size, memory
from omni_r1_lite import offline_processor as op
from omni_r1_lite.config import get_preset


@pytest.fixture(scope="session")
def processor(tmp_path_factory):
    return op.build_processor(tmp_path_factory.mktemp("qwen25_omni_processor"))


@pytest.fixture(scope="session")
def small_model():
    """The real vocabulary (151,936 rows), token ids and tower layouts; 64-wide, 2-layer stacks."""
    from transformers import Qwen2_5OmniThinkerConfig, Qwen2_5OmniThinkerForConditionalGeneration

    small = Qwen2_5OmniThinkerConfig(
        text_config=dict(vocab_size=151936, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32768,
                         tie_word_embeddings=False, pad_token_id=full_size.PAD_ID, eos_token_id=full_size.EOS_ID,
                         rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]}),
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=4, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2, window_size=112, out_hidden_size=64,
                           fullatt_block_indexes=[1]),
        audio_config=dict(d_model=32, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=64,
                          num_mel_bins=128, max_source_positions=1500, n_window=100, output_dim=64),
        **full_size.TOKEN_IDS, position_id_per_seconds=25, seconds_per_chunk=2, tie_word_embeddings=False,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Qwen2_5OmniThinkerForConditionalGeneration(small).eval()
    return model


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """OmniSynth at 1280×720 in the RefAVS layout (10 frames, 1 s apart, audio) and the ReVOS layout."""
    from omni_r1_lite.data.omnisynth import OmniSynthConfig, generate
    from omni_r1_lite.data.refavs import load_refavs
    from omni_r1_lite.data.revos import load_revos

    root = tmp_path_factory.mktemp("synth720")
    generate(root, OmniSynthConfig(clips={"train": 1}, width=1280, height=720, num_frames=10))
    avs = [s for s in load_refavs(root / "refavs", "train") if not s.is_null][0]
    vos = [s for s in load_revos(root / "revos", "train")][0]
    return avs, vos


def test_the_published_encodings(processor):
    tok = processor.tokenizer
    assert type(tok).__name__ == "Qwen2Tokenizer" and len(tok) == 151665
    assert tok("Hello world")["input_ids"] == [9707, 1879]
    assert tok("You are a helpful assistant.")["input_ids"] == [2610, 525, 264, 10950, 17847, 13]
    assert tok("user")["input_ids"] == [872] and tok("system")["input_ids"] == [8948]
    for i, t in op.SPECIAL_TOKENS.items():
        assert tok.convert_tokens_to_ids(t) == i, t
    assert tok.eos_token == "<|im_end|>" and tok.pad_token_id == 151643 and tok.bos_token is None


def test_special_ids_agree_with_the_thinker_config(processor):
    from transformers import Qwen2_5OmniThinkerConfig

    tok = processor.tokenizer
    default = Qwen2_5OmniThinkerConfig()  # transformers' defaults (= the 7B)
    for name in ("audio_token_index", "image_token_index", "video_token_index", "audio_start_token_id",
                 "audio_end_token_id", "user_token_id"):
        assert getattr(default, name) == full_size.TOKEN_IDS[name], name
    # get_rope_index reads vision_start_token_id, which only the checkpoints' config.json carries
    assert not hasattr(default, "vision_start_token_id")
    cfg = full_size.thinker_config("qwen2.5-omni-3b")
    assert cfg.audio_token_index == tok.convert_tokens_to_ids("<|AUDIO|>") == 151646
    assert cfg.image_token_index == tok.convert_tokens_to_ids("<|IMAGE|>") == 151655
    assert cfg.video_token_index == tok.convert_tokens_to_ids("<|VIDEO|>") == 151656
    assert cfg.audio_start_token_id == tok.convert_tokens_to_ids("<|audio_bos|>") == 151647
    assert cfg.audio_end_token_id == tok.convert_tokens_to_ids("<|audio_eos|>") == 151648
    assert cfg.vision_start_token_id == tok.convert_tokens_to_ids("<|vision_bos|>") == 151652
    assert cfg.vision_end_token_id == tok.convert_tokens_to_ids("<|vision_eos|>") == 151653
    assert cfg.user_token_id == tok("user")["input_ids"][0] == 872
    assert processor.image_token_id == 151655 and processor.video_token_id == 151656
    assert processor.audio_token_id == 151646


def test_byte_level_bpe_equals_tiktoken_on_the_kits_text(processor):
    """The merges recovered from the ranks encode like tiktoken itself (Qwen's own encoder)."""
    import tiktoken

    from omni_r1_lite.systems.prompts import format_vos_answer, tokenizer_corpus

    enc = tiktoken.Encoding("qwen", pat_str=(r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
                                             r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""),
                            mergeable_ranks=op.read_ranks(), special_tokens={})
    texts = tokenizer_corpus(seed=3, repeats=2) + [
        format_vos_answer([0, 5, 11, 23], "the man in the red shirt on the left", think="he speaks first"),
        "Größe, naïve café — 中文测试 日本語のテキスト 한국어 🎉🎈 emoji\n\n\ttabs  and   spaces",
        "x" * 300, "1234567890 3.14159 00:11.50", "'s 're 've 'll 'd don't",
    ]
    for text in texts:
        assert processor.tokenizer(text, add_special_tokens=False)["input_ids"] == enc.encode(text), text[:60]


def test_the_chat_template_adds_the_default_system_turn(processor):
    from omni_r1_lite.systems.prompts import build_system1_messages

    msgs = build_system1_messages("AVS", "the dog that barks")
    text = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                           "<|audio_bos|><|AUDIO|><|audio_eos|><|vision_bos|><|IMAGE|><|vision_eos|>Given ")
    assert text.endswith("<|im_end|>\n<|im_start|>assistant\n")
    vos = processor.apply_chat_template(build_system1_messages("VOS", "x", num_frames=16), add_generation_prompt=True,
                                        tokenize=False)
    assert "<|vision_bos|><|VIDEO|><|vision_eos|>Given a 8.0-second video" in vos


@pytest.mark.parametrize("task", ["AVS", "VOS"])
def test_system1_token_counts_match_compute_and_the_plan(processor, clips, task):
    """colab-3b's System-1 prompt through the real processor: media tokens as ``compute.py`` counts
    them, audio at 25 tokens a second, and the memory plan's estimate not below the real length."""
    from omni_r1_lite.systems.reasoner import GlobalReasoner

    cfg = get_preset("colab-3b")
    sample = clips[0] if task == "AVS" else clips[1]
    reasoner = GlobalReasoner(None, processor, cfg.system1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the real video processor must not warn on every call
        inputs = reasoner.encode(sample)
    ids = inputs["input_ids"][0]
    px = cfg.system1.frame_max_pixels
    planned = memory.prompt_tokens(cfg)
    if task == "AVS":
        assert int((ids == 151655).sum()) == compute.image_tokens(720, 1280, max_pixels=px, min_pixels=16 * 28 * 28)
        assert int((ids == 151646).sum()) == 250 == planned["audio"]  # 10 s of audio
        assert tuple(inputs["input_features"].shape) == (1, 128, 30000)  # the checkpoint's 300-s feature window
        assert ids.numel() <= planned["avs"]
    else:
        frames = len(reasoner.sampled_frames(sample))
        assert int((ids == 151656).sum()) == compute.video_tokens(frames, 720, 1280, max_pixels=px,
                                                                  min_pixels=16 * 28 * 28)
        assert inputs["video_second_per_grid"].tolist() == [1.0]  # 2 frames a temporal patch at 2 fps
    text = int(((ids != 151655) & (ids != 151656) & (ids != 151646)).sum())
    chars = len(processor.tokenizer.decode(ids[(ids < 151643)]))
    assert 2.5 < chars / text < 6.0  # the plan's 3 characters a token is on the safe side of English


def test_parsing_answers_written_in_real_token_ids(processor):
    from omni_r1_lite.systems.parsing import check_format, parse_vos_answer
    from omni_r1_lite.systems.prompts import format_vos_answer
    from omni_r1_lite.systems.reasoner import GlobalReasoner

    text = format_vos_answer([1, 6, 9, 14], "the woman in the blue coat", think="she enters at 00:00.50")
    ids = processor.tokenizer(text, add_special_tokens=False)["input_ids"] + [151645, 151643, 151643]
    reasoner = GlobalReasoner(None, processor, get_preset("colab-3b").system1)
    (c,) = reasoner.decode(torch.tensor([ids]))
    assert c.text == text and c.finished and c.num_tokens == len(ids) - 2
    plan = parse_vos_answer(c.text, num_frames=16)
    assert plan.ok and plan.keyframes == (1, 6, 9, 14) and check_format(c.text)


def test_grounding_coordinates_round_trip_at_the_preset_budget(processor, clips, monkeypatch):
    """A box the grounder reads in the resized keyframe's pixels lands on the object in the original."""
    from omni_r1_lite.systems.detail import QwenGrounder, _load_frame

    avs, _ = clips
    cfg = get_preset("colab-3b")
    g = QwenGrounder(None, processor, max_pixels=cfg.system2.grounding_max_pixels)
    image = _load_frame(avs, 0)
    inputs, (rh, rw) = g.prepare(image, "the red circle")
    assert int((inputs["input_ids"] == 151655).sum()) == compute.image_tokens(
        720, 1280, max_pixels=cfg.system2.grounding_max_pixels, min_pixels=64 * 28 * 28)
    assert rh % 28 == 0 and rw % 28 == 0 and rh * rw <= cfg.system2.grounding_max_pixels
    x1, y1, x2, y2 = 100, 50, 300, 250  # in the resized image
    monkeypatch.setattr(g, "generate_text",
                        lambda inputs: f'```json\n[{{"bbox_2d": [{x1}, {y1}, {x2}, {y2}], "label": "circle"}}]\n```')
    (box,) = g.ground(avs, 0, "the red circle")
    sx, sy = 1280 / rw, 720 / rh
    np.testing.assert_allclose(box, [x1 * sx, y1 * sy, x2 * sx, y2 * sy], rtol=1e-5)


def test_generation_never_emits_media_placeholders(processor, small_model, clips):
    """A random policy that prefers ``<|VIDEO|>`` still cannot write one (it would break the next
    forward over prompt + completion), and the shared-prefix log-probabilities equal the naive ones."""
    from omni_r1_lite.systems.factory import suppress_tokens_for
    from omni_r1_lite.systems.generation import (
        completion_logps,
        make_prompt_batch,
        naive_completion_logps,
        sample_group,
    )
    from omni_r1_lite.systems.reasoner import GlobalReasoner

    _, vos = clips
    cfg = get_preset("colab-3b", ["system1.max_frames=4"])
    model = small_model
    with torch.no_grad():
        saved = model.lm_head.weight[151656].clone()
        model.lm_head.weight[151656] = model.lm_head.weight[151656] * 0 + 10.0  # <|VIDEO|> dominates
    try:
        suppress = suppress_tokens_for(processor)
        assert {151646, 151647, 151648, 151652, 151653, 151655, 151656} <= set(suppress) and 151645 not in suppress
        reasoner = GlobalReasoner(model, processor, cfg.system1, suppress)
        processor.tokenizer.padding_side = "left"
        batch = make_prompt_batch(model, dict(reasoner.encode(vos)))
        gen = torch.Generator().manual_seed(0)
        out = sample_group(model, batch, 3, 6, reasoner.eos_id, reasoner.pad_id, temperature=1.0, top_p=0.95,
                           suppress_tokens=suppress, generator=gen)
        assert out.ids.shape == (3, 6) and not torch.isin(out.ids, torch.tensor(suppress)).any()
        comps = reasoner.decode(out.ids)
        assert all(isinstance(c.text, str) and c.num_tokens == 6 for c in comps)
        with torch.no_grad():
            shared = completion_logps(model, batch, out.ids, out.mask, 3)
            naive = naive_completion_logps(model, batch, out.ids, out.mask, 3)
        torch.testing.assert_close(shared, naive, atol=1e-4, rtol=1e-4)
        (greedy,) = reasoner.generate(vos, n=1, max_new_tokens=4)
        assert "<|VIDEO|>" not in greedy.text and greedy.num_tokens == 4
    finally:
        with torch.no_grad():
            model.lm_head.weight[151656] = saved


def test_full_size_shapes_on_the_meta_device():
    """The 3B and 7B thinkers at their published sizes: parameter counts against the registry."""
    from omni_r1_lite.models import MODEL_REGISTRY, count_parameters

    for key in ("qwen2.5-omni-3b", "qwen2.5-omni-7b"):
        model = full_size.meta_thinker(full_size.thinker_config(key))
        counts = count_parameters(model)
        assert counts["total"] / 1e9 == pytest.approx(MODEL_REGISTRY[key].params_b, rel=0.01)
        assert model.lm_head.weight.shape[0] == full_size.PUBLISHED_TEXT[key]["vocab_size"]
        dims = memory.dims_from_config(model.config)
        assert dims.params == pytest.approx(counts["total"], rel=0.02)
        assert dims.layers == memory.thinker_dims(key).layers and dims.hidden == memory.thinker_dims(key).hidden


def test_the_released_layout_loads_through_the_kit(processor, small_model, tmp_path):
    """A thinker-only checkpoint in shards with the 4.5x keys, processor from the base: equal logits."""
    import json

    from omni_r1_lite.models import load_thinker

    folder = full_size.save_released_layout(small_model, tmp_path / "Omni-R1", shard_bytes=8 * 2**20)
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    shards = sorted({v for v in index["weight_map"].values()})
    assert len(shards) >= 2 and "model.layers.0.self_attn.q_proj.weight" in index["weight_map"]
    assert "visual.blocks.0.attn.q.weight" in index["weight_map"] and "lm_head.weight" in index["weight_map"]
    base = op.write_processor_files(tmp_path / "Qwen2.5-Omni-7B")
    model, proc = load_thinker(folder, device="cpu", dtype="float32", processor_name_or_path=base,
                               local_files_only=True)
    ids = proc.tokenizer(["<|im_start|>user\nHello world<|im_end|>"], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(model(**ids).logits, small_model(**ids).logits)
