"""Model loading and the tiny offline thinker: real classes, offline round trip, short task text."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import tiny_assets

from omni_r1_lite import models
from omni_r1_lite.systems import prompts

VIDEO = "<|VIDEO|>"


@pytest.fixture(scope="module")
def tiny():
    return tiny_assets.load_tiny_thinker("xs")


def test_importing_the_kit_stays_light():
    code = (
        "import sys; import omni_r1_lite, omni_r1_lite.models, omni_r1_lite.systems.prompts, "
        "omni_r1_lite.systems.parsing, omni_r1_lite.systems.detail; "
        "print(any(m in sys.modules for m in ('torch', 'transformers', 'tokenizers', 'sam2')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_registry():
    assert set(models.MODEL_REGISTRY) == {"qwen2.5-omni-3b", "qwen2.5-omni-7b", "omni-r1"}
    r1 = models.get_model_spec("Haoz0206/Omni-R1")
    assert r1.thinker_only and r1.processor_id == "Qwen/Qwen2.5-Omni-7B"
    assert models.get_model_spec("qwen/qwen2.5-omni-7b").key == "qwen2.5-omni-7b"
    assert models.get_model_spec("/some/folder") is None


@pytest.mark.parametrize("key", ["qwen2.5-omni-3b", "qwen2.5-omni-7b"])
def test_registry_parameter_counts_match_the_architecture(key):
    """Counted on the meta device from the published sizes (no download)."""
    import torch
    from transformers import Qwen2_5OmniThinkerConfig, Qwen2_5OmniThinkerForConditionalGeneration

    text = {
        "qwen2.5-omni-3b": dict(
            hidden_size=2048,
            intermediate_size=11008,
            num_hidden_layers=36,
            num_attention_heads=16,
            num_key_value_heads=2,
            vocab_size=151936,
        ),
        "qwen2.5-omni-7b": dict(
            hidden_size=3584,
            intermediate_size=18944,
            num_hidden_layers=28,
            num_attention_heads=28,
            num_key_value_heads=4,
            vocab_size=152064,
        ),
    }[key]
    width = text["hidden_size"]
    cfg = Qwen2_5OmniThinkerConfig(
        text_config=text,
        vision_config=dict(hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=width),
        audio_config=dict(output_dim=width),
    )
    with torch.device("meta"):
        model = Qwen2_5OmniThinkerForConditionalGeneration(cfg)
    counts = models.count_parameters(model)
    spec = models.MODEL_REGISTRY[key]
    assert counts["total"] / 1e9 == pytest.approx(spec.params_b, rel=0.02)
    assert (counts["total"] - counts["encoders"]) / 1e9 == pytest.approx(spec.llm_params_b, rel=0.02)


def test_device_dtype_attention_on_cpu():
    import torch

    assert models.resolve_dtype("cpu") == torch.float32
    assert models.resolve_dtype("cuda", "bfloat16") == torch.bfloat16
    assert models.resolve_attn_implementation("cpu") == "sdpa"
    assert models.resolve_attn_implementation("cuda", "eager") == "eager"
    assert models.mrope_section(16) == [2, 3, 3] and sum(models.mrope_section(24)) == 12


def test_tiny_thinker_loads_through_the_real_classes(tiny):
    model, processor = tiny
    assert type(model).__name__ == "Qwen2_5OmniThinkerForConditionalGeneration"
    assert type(processor).__name__ == "Qwen2_5OmniProcessor"
    assert not model.training and next(model.parameters()).dtype.is_floating_point
    counts = models.count_parameters(model)
    assert 200_000 < counts["total"] < 300_000  # xs ≈ 0.24 M
    assert counts["trainable"] == counts["total"] - counts["encoders"] > 0
    # towers live under model.model.* in transformers 5.x and are frozen
    assert all(
        n.startswith(("model.visual.", "model.audio_tower.")) for n in models.encoder_parameter_names(model)
    )
    tok = processor.tokenizer
    cfg = model.config
    assert tok.convert_tokens_to_ids(models.SPECIAL_TOKENS) == list(range(len(models.SPECIAL_TOKENS)))
    assert (cfg.image_token_id, cfg.video_token_id, cfg.audio_token_id) == (
        processor.image_token_id,
        processor.video_token_id,
        processor.audio_token_id,
    )
    assert cfg.vision_start_token_id == tok.convert_tokens_to_ids("<|vision_bos|>")
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    assert model.generation_config.eos_token_id == tok.eos_token_id
    assert sum(cfg.text_config.rope_parameters["mrope_section"]) * 2 == cfg.text_config.hidden_size // 4
    meta = json.loads((tiny_assets.tiny_thinker_dir("xs") / models.TINY_METADATA).read_text())
    assert meta["num_parameters"] == counts["total"] and meta["size"] == "xs"
    assert models.pixel_budgets(tiny_assets.tiny_thinker_dir("xs")) == models.PIXEL_BUDGETS["tiny"]
    assert models.pixel_budgets("Qwen/Qwen2.5-Omni-7B") == models.PIXEL_BUDGETS["paper"]


def test_build_is_deterministic(tmp_path):
    ref = tiny_assets.tiny_thinker_dir("xs")
    again = models.build_tiny_thinker(tmp_path / "again", tiny_assets.TINY_CORPUS, size="xs", seed=0)
    for name in ("tokenizer.json", "model.safetensors", "config.json", models.TINY_METADATA):
        assert (ref / name).read_bytes() == (again / name).read_bytes(), name
    other = models.build_tiny_thinker(tmp_path / "other", tiny_assets.TINY_CORPUS, size="xs", seed=1)
    assert (ref / "tokenizer.json").read_bytes() == (other / "tokenizer.json").read_bytes()
    assert (ref / "model.safetensors").read_bytes() != (other / "model.safetensors").read_bytes()


def test_task_text_is_short(tiny):
    _, processor = tiny
    tok = processor.tokenizer
    descs = [
        "the small red circle",
        "the small red circle on the left",
        "the red circle",
        "the small red circle",
    ]
    text = prompts.format_vos_answer([3, 8, 14, 21], descs, think="the red circle enters late")
    n = len(tok(text).input_ids)
    print(f"typical 4-moment VOS completion: {n} tokens")
    assert n < 100
    assert tok.decode(tok(text).input_ids) == text
    for tag in models.REASONING_TAGS:
        assert len(tok(tag).input_ids) == 1
    assert all(len(tok(prompts.index_to_timestamp(i)).input_ids) == 1 for i in range(prompts.MAX_FRAMES))


def test_chat_template_and_processor_budgets(tiny):
    _, processor = tiny
    msgs = prompts.build_system1_messages("VOS", "the circle that enters last", num_frames=10, seed=3)
    rendered = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    assert rendered.startswith("<|im_start|>user\n<|vision_bos|><|VIDEO|><|vision_eos|>Given a 5.0-second")
    assert rendered.endswith("<|im_end|>\n<|im_start|>assistant\n")
    video = tiny_assets.clip_frames(10, 112, 112)
    inputs = models.prepare_inputs(processor, msgs, videos=[video])
    assert inputs["video_grid_thw"].tolist() == [[5, 8, 8]]  # 112 px stays 112 px
    ids = inputs["input_ids"][0]
    n_video = int((ids == processor.tokenizer.convert_tokens_to_ids(VIDEO)).sum())
    print(f"10-frame VOS prompt: {ids.numel()} tokens ({n_video} video)")
    assert n_video == 5 * 4 * 4
    # the pitfall: without explicit kwargs the processor's class default upscales every frame
    plain = processor(text=[rendered], videos=[video], return_tensors="pt")
    assert plain["video_grid_thw"][0, 1] > 8
    compact = prompts.build_system1_messages("VOS", "the circle", num_frames=10, template="compact")
    short = models.prepare_inputs(processor, compact, videos=[video])
    assert short["input_ids"].shape[1] < ids.numel() / 2


def test_generate_with_video_and_suppression(tiny):
    import torch

    model, processor = tiny
    msgs = prompts.build_system1_messages("VOS", "the red square", num_frames=8, template="compact")
    inputs = models.prepare_inputs(processor, msgs, videos=[tiny_assets.clip_frames(8, 112, 112)])
    banned = models.suppress_token_ids(processor.tokenizer)
    assert processor.tokenizer.eos_token_id not in banned and processor.video_token_id in banned
    torch.manual_seed(0)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=24, do_sample=True, suppress_tokens=banned)
    new = out[0, inputs["input_ids"].shape[1] :].tolist()
    assert new and not set(new) & set(banned)


def test_audio_and_image_inputs(tiny):
    import torch

    model, processor = tiny
    msgs = prompts.build_system1_messages("AVS", "the object making the high beep", audio_seconds=2)
    audio = (0.1 * np.sin(2 * np.pi * 440 * np.arange(32000) / 16000)).astype(np.float32)
    frame = tiny_assets.clip_frames(1, 112, 112)[0]
    inputs = models.prepare_inputs(processor, msgs, images=[frame], audio=[audio])
    ids = inputs["input_ids"][0]
    assert int((ids == processor.audio_token_id).sum()) == 50  # 2 s of audio
    assert int((ids == processor.image_token_id).sum()) == 16  # 112 px image, merge 2
    with torch.no_grad():
        logits = model(**inputs).logits
    assert logits.shape == (1, ids.numel(), len(processor.tokenizer)) and torch.isfinite(logits).all()


def test_freeze_and_adapters_under_peft():
    import torch
    from peft import LoraConfig, get_peft_model

    model, processor = tiny_assets.load_tiny_thinker("xs")  # a fresh copy: PEFT edits it in place
    names = models.encoder_parameter_names(model)
    lora = LoraConfig(
        r=4, target_modules=models.lora_target_regex(["q_proj", "v_proj"]), init_lora_weights=False
    )
    peft_model = get_peft_model(model, lora)
    assert all("language_model" in n for n, p in peft_model.named_parameters() if p.requires_grad)
    wrapped = models.encoder_parameter_names(peft_model)
    assert len(wrapped) == len(names) and all(w.endswith(n) for w, n in zip(wrapped, names))
    assert models.freeze_encoders(peft_model) == models.count_parameters(model)["encoders"]
    inputs = processor.tokenizer(["<think>the red circle</think>"], return_tensors="pt")
    with torch.no_grad():
        adapted = peft_model(**inputs).logits
        with models.adapters_disabled(peft_model):
            base = peft_model(**inputs).logits
        again = peft_model(**inputs).logits
        plain = tiny_assets.load_tiny_thinker("xs")[0](**inputs).logits
    assert not torch.allclose(adapted, base)
    torch.testing.assert_close(base, plain)
    torch.testing.assert_close(adapted, again)
    with pytest.raises(ValueError):
        models.freeze_encoders(torch.nn.Linear(2, 2))



def test_adapters_disabled_on_the_module_a_peft_model_wraps():
    """System 2's grounder keeps the model it was built with; GRPO then wraps that same module with
    LoRA (``get_peft_model`` injects the layers in place). Grounding must still see the base weights
    (the rehearsal found it ran with the policy's adapters)."""
    import torch
    from peft import LoraConfig, get_peft_model

    bare, processor = tiny_assets.load_tiny_thinker("xs")
    inputs = processor.tokenizer(["<answer>the red circle</answer>"], return_tensors="pt")
    with torch.no_grad():
        before = bare(**inputs).logits
    lora = LoraConfig(r=4, target_modules=models.lora_target_regex(), init_lora_weights=False)
    peft_model = get_peft_model(bare, lora)
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    with torch.no_grad():
        adapted = bare(**inputs).logits  # the bare module now runs its injected adapters
        with models.adapters_disabled(bare):
            base = bare(**inputs).logits
        again = bare(**inputs).logits
    assert not torch.allclose(adapted, before)
    torch.testing.assert_close(base, before)
    torch.testing.assert_close(again, adapted)
    assert {n for n, p in peft_model.named_parameters() if p.requires_grad} == trainable

def test_loads_a_full_omni_checkpoint_layout(tiny, tmp_path):
    """Hub checkpoints keep the thinker under ``thinker.`` with the 4.5x key layout and a composite
    config; ``load_thinker`` must read them through the same ``from_pretrained`` path."""
    import torch
    from safetensors.torch import save_file

    model, processor = tiny
    legacy = {}
    for key, value in model.state_dict().items():
        key = key.replace("model.language_model.", "model.").replace("model.visual.", "visual.")
        key = key.replace("model.audio_tower.", "audio_tower.")
        legacy["thinker." + key] = value.contiguous()
    legacy["talker.codec_head.weight"] = torch.zeros(2, 2)
    save_file(legacy, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    thinker_cfg = model.config.to_dict()
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "model_type": "qwen2_5_omni",
                "architectures": ["Qwen2_5OmniModel"],
                "thinker_config": thinker_cfg,
            }
        )
    )
    loaded, proc = models.load_thinker(
        tmp_path,
        device="cpu",
        processor_name_or_path=tiny_assets.tiny_thinker_dir("xs"),
        local_files_only=True,
    )
    inputs = processor.tokenizer(["<answer>the red circle</answer>"], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(loaded(**inputs).logits, model(**inputs).logits)
    assert type(proc).__name__ == "Qwen2_5OmniProcessor"
