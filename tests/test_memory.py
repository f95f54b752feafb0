"""The GPU memory plan: presets fit their GPUs, the estimate scales right, the formulas match torch."""

from __future__ import annotations

import pytest
import torch

from omni_r1_lite import memory
from omni_r1_lite.config import get_preset
from omni_r1_lite.models import MODEL_REGISTRY, lora_target_regex


def test_gpu_presets_fit_their_gpus_with_margin():
    """colab-3b on a "16 GB" T4 (torch reports 14.75 GiB), a100-7b on an 80 GB A100 (79.1 GiB).

    The limits keep 5 % / 9 % headroom for estimation error (`memory.MARGIN_GIB`)."""
    colab = memory.plan_memory(get_preset("colab-3b"))
    a100 = memory.plan_memory(get_preset("a100-7b"))
    assert colab.model == "qwen2.5-omni-3b" and a100.model == "qwen2.5-omni-7b"
    assert 10.0 < colab.total_gib <= memory.MARGIN_GIB["colab-3b"] < 14.75
    assert 25.0 < a100.total_gib <= memory.MARGIN_GIB["a100-7b"] < 79.1
    evaluation = memory.plan_memory(get_preset("eval-omni-r1"))
    assert not evaluation.settings["training"] and evaluation.total_gib <= get_preset("eval-omni-r1").requirements.min_gpu_memory_gb
    # the weights dominate the persistent part and equal params × 2 bytes
    assert a100.row("thinker weights").bytes == pytest.approx(MODEL_REGISTRY["qwen2.5-omni-7b"].params_b * 1e9 * 2)
    for plan in (colab, a100):
        assert plan.total_gib == pytest.approx(plan.persistent_gib + 1.1 * plan.phase_gib(plan.peak_phase))
        assert plan.peak_phase == "train"


def test_estimate_grows_with_generations_completion_length_and_without_checkpointing():
    cfg = get_preset("a100-7b")
    by_g = [memory.plan_memory(cfg, num_generations=g).total_gib for g in (2, 4, 8, 16)]
    by_c = [memory.plan_memory(cfg, max_completion_length=c).total_gib for c in (128, 256, 512, 800)]
    assert by_g == sorted(by_g) and len(set(by_g)) == 4
    assert by_c == sorted(by_c) and len(set(by_c)) == 4
    on = memory.plan_memory(cfg, gradient_checkpointing=True)
    off = memory.plan_memory(cfg, gradient_checkpointing=False)
    assert off.total_gib > 2 * on.total_gib  # why the GPU presets checkpoint
    assert on.row("LM activations without checkpointing").gib == pytest.approx(
        off.row("LM activations (no checkpointing)").gib)
    kv8 = memory.plan_memory(cfg).row("KV cache (generation)")
    kv4 = memory.plan_memory(cfg, num_generations=4).row("KV cache (generation)")
    assert kv8.bytes == pytest.approx(2 * kv4.bytes)
    small = memory.plan_memory(cfg, sam2_config="sam2.1_hiera_t")
    assert small.row("SAM2 weights").bytes < memory.plan_memory(cfg).row("SAM2 weights").bytes
    assert memory.plan_memory(cfg, weight_bits=4).total_gib < memory.plan_memory(cfg, weight_bits=8).total_gib


def test_kv_cache_row_is_the_formula():
    cfg = get_preset("a100-7b")
    plan = memory.plan_memory(cfg)
    p, c, n = plan.tokens["prompt"], plan.tokens["completion"], plan.tokens["sequences"]
    assert n == cfg.grpo.num_generations * cfg.grpo.per_device_prompts
    assert plan.row("KV cache (generation)").bytes == 28 * 2 * 4 * 128 * (p + c) * n * 2


def test_check_fits_refuses_a_7b_preset_on_a_16gb_gpu_with_a_helpful_message():
    cfg = get_preset("a100-7b")
    total = memory.plan_memory(cfg).total_gib
    with pytest.raises(memory.InsufficientGPUMemory) as err:
        memory.check_fits(cfg, gpu_memory_gb=16)
    msg = str(err.value)
    for part in ("'a100-7b'", f"{total:.1f} GiB", "16.0 GiB", "Nothing was loaded", "num_generations",
                 "max_completion_length", "sam2.1_hiera_s", "3B instead of 7B", "8-bit", "4-bit"):
        assert part in msg, part
    memory.check_fits(cfg, gpu_memory_gb=79.1)
    memory.check_fits(get_preset("colab-3b"), gpu_memory_gb=14.75)
    with pytest.raises(memory.InsufficientGPUMemory, match="colab-3b"):
        memory.check_fits(get_preset("colab-3b"), gpu_memory_gb=8)


def test_check_fits_does_nothing_on_cpu_presets():
    for name in ("smoke", "cpu-demo"):
        assert memory.check_fits(get_preset(name)) is None
        assert memory.check_fits(get_preset(name), gpu_memory_gb=0) is None


def test_a_cuda_preset_without_a_gpu_raises_clearly(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(memory.GPUUnavailable) as err:
        memory.check_fits(get_preset("colab-3b"))
    assert isinstance(err.value, memory.InsufficientGPUMemory)
    assert "'colab-3b'" in str(err.value) and "cpu-demo" in str(err.value)


def test_markdown_table():
    plan = memory.plan_memory(get_preset("colab-3b"))
    md = plan.to_markdown()
    assert md.startswith("**Memory plan — preset `colab-3b`**")
    for row in plan.rows:
        assert f"| {row.name} |" in md
    assert f"**{plan.total_gib:.2f}**" in md and "← peak" in md


def test_dimensions_match_the_registry_and_transformers():
    from transformers import Qwen2_5OmniThinkerConfig

    for key in ("qwen2.5-omni-3b", "qwen2.5-omni-7b"):
        d = memory.thinker_dims(key)
        assert memory.count_parameters(d) == pytest.approx(MODEL_REGISTRY[key].params_b * 1e9, rel=0.02)
    t = Qwen2_5OmniThinkerConfig().text_config  # transformers' defaults are the 7B
    d7 = memory.thinker_dims("Qwen/Qwen2.5-Omni-7B")
    assert (d7.hidden, d7.layers, d7.intermediate, d7.heads, d7.kv_heads, d7.vocab) == (
        t.hidden_size, t.num_hidden_layers, t.intermediate_size, t.num_attention_heads, t.num_key_value_heads,
        t.vocab_size)


# ----------------------------------------------------------------------------- formulas vs torch


@pytest.fixture(scope="module")
def small_thinker():
    """A small bf16 Qwen2.5-Omni thinker (h=256, f=704, 2 layers, 4 heads, 2 KV heads) + its dims."""
    from transformers import Qwen2_5OmniThinkerConfig, Qwen2_5OmniThinkerForConditionalGeneration

    h, f, layers, heads, kv_heads = 256, 704, 2, 4, 2
    cfg = Qwen2_5OmniThinkerConfig(
        text_config=dict(vocab_size=300, hidden_size=h, intermediate_size=f, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=kv_heads,
                         rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [8, 12, 12]}),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=32, num_heads=2, out_hidden_size=h),
        audio_config=dict(d_model=32, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=32, output_dim=h),
    )
    cfg._attn_implementation = "sdpa"
    torch.manual_seed(0)
    model = Qwen2_5OmniThinkerForConditionalGeneration(cfg).to(torch.bfloat16)
    dims = memory.ThinkerDims("small", 0.0, layers, h, f, heads, kv_heads, h // heads, 300)
    return model, dims


def _saved_bytes(fn) -> int:
    """Bytes of the distinct storages autograd saves for backward while running ``fn``."""
    saved: dict = {}

    def pack(t):
        saved[(t.untyped_storage().data_ptr(), t.dtype)] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(saved.values())


def test_activation_formula_matches_what_autograd_saves(small_thinker):
    model, d = small_thinker
    lm = model.model.language_model
    for p in model.parameters():
        p.requires_grad_(False)  # frozen base weights, as under LoRA
    tokens = 512
    x = torch.randn(1, tokens, d.hidden, dtype=torch.bfloat16, requires_grad=True)
    mask = torch.ones(1, tokens, dtype=torch.long)
    lm.train()
    full = _saved_bytes(lambda: lm(inputs_embeds=x, attention_mask=mask))
    final_norm = 4 * d.hidden * tokens  # fp32 input of the final RMSNorm (no LM head here to keep its output)
    predicted = d.layers * memory.activation_bytes_per_token_layer(d, 2) * tokens + final_norm
    assert full == pytest.approx(predicted, rel=0.10)
    lm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    try:
        ckpt = _saved_bytes(lambda: lm(inputs_embeds=x, attention_mask=mask))
    finally:
        lm.gradient_checkpointing_disable()
        lm.eval()
    assert ckpt < full / 4
    assert ckpt == pytest.approx(d.layers * 2 * d.hidden * tokens + final_norm, rel=0.02)  # the layer inputs


def test_kv_cache_formula_matches_the_cache(small_thinker):
    model, d = small_thinker
    lm = model.model.language_model
    tokens, batch = 64, 3
    with torch.no_grad():
        out = lm(inputs_embeds=torch.randn(batch, tokens, d.hidden, dtype=torch.bfloat16), use_cache=True)
    cache = out.cache if getattr(out, "cache", None) is not None else out.past_key_values
    measured = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    assert measured == d.layers * 2 * d.kv_dim * tokens * batch * 2


def test_lora_parameter_formula_matches_peft(small_thinker):
    from peft import LoraConfig, get_peft_model

    model, d = small_thinker
    import copy

    peft_model = get_peft_model(copy.deepcopy(model), LoraConfig(r=8, target_modules=lora_target_regex("all-linear")))
    counted = sum(p.numel() for n, p in peft_model.named_parameters() if "lora_" in n)
    assert counted == memory.lora_parameters(d, 8)


# ----------------------------------------------------------------------------- accelerate configs

ACCELERATE_DIR = __import__("pathlib").Path(__file__).resolve().parents[1] / "configs" / "accelerate"
CONFIGS = {"ddp": "MULTI_GPU", "fsdp": "FSDP", "deepspeed_zero2": "DEEPSPEED", "deepspeed_zero3": "DEEPSPEED"}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_accelerate_configs_parse_and_build_their_plugins(name, monkeypatch):
    """Each file loads as accelerate 1.15's ClusterConfig, and the launcher's environment for it
    builds the FSDP / DeepSpeed plugin it describes (what `accelerate launch` does, minus the spawn)."""
    import os

    from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser
    from accelerate.utils.launch import prepare_deepspeed_cmd_env, prepare_multi_gpu_env

    path = ACCELERATE_DIR / f"{name}.yaml"
    cfg = load_config_from_file(str(path))
    assert isinstance(cfg, ClusterConfig)
    assert cfg.distributed_type.value == CONFIGS[name] and cfg.mixed_precision == "bf16"
    assert cfg.num_processes == -1  # the launcher asks for --num_processes

    args = launch_command_parser().parse_args(["--config_file", str(path), "--num_processes", "2", "train.py"])
    args, defaults, _ = _validate_launch_command(args)  # private in accelerate 1.15
    if args.use_deepspeed:
        args.deepspeed_fields_from_accelerate_config = ",".join([*defaults.deepspeed_config, "mixed_precision"])
        _, env = prepare_deepspeed_cmd_env(args)
    else:
        env = prepare_multi_gpu_env(args)
    for key, value in env.items():
        if key.startswith(("ACCELERATE_", "FSDP_")):
            monkeypatch.setenv(key, value)
    assert os.environ["ACCELERATE_MIXED_PRECISION"] == "bf16"
    if name == "ddp":
        assert args.multi_gpu and not args.use_fsdp and not args.use_deepspeed
    if name == "fsdp":
        from accelerate.utils import FullyShardedDataParallelPlugin
        from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as omni

        plugin = FullyShardedDataParallelPlugin()
        assert plugin.fsdp_version == 2 and plugin.reshard_after_forward is True
        assert plugin.transformer_cls_names_to_wrap == [
            "Qwen2_5OmniDecoderLayer", "Qwen2_5OmniVisionBlock", "Qwen2_5OmniAudioEncoderLayer"]
        for cls in plugin.transformer_cls_names_to_wrap:  # the classes exist and are transformers' split units
            assert isinstance(getattr(omni, cls), type)
        no_split = {m for c in (omni.Qwen2_5OmniThinkerTextModel, omni.Qwen2_5OmniVisionEncoder,
                                omni.Qwen2_5OmniAudioEncoder) for m in c._no_split_modules}
        assert set(plugin.transformer_cls_names_to_wrap) == no_split
    if name.startswith("deepspeed"):
        from accelerate.utils import DeepSpeedPlugin

        plugin = DeepSpeedPlugin()
        stage = int(name[-1])
        assert plugin.zero_stage == stage
        ds = plugin.deepspeed_config
        assert ds["zero_optimization"]["stage"] == stage
        assert ds["gradient_clipping"] == get_preset("a100-7b").grpo.max_grad_norm  # DeepSpeed clips itself
        assert ds["gradient_accumulation_steps"] == "auto"  # left to the code's Accelerator


@pytest.mark.parametrize("name", ["sam2.1_hiera_t", "sam2.1_hiera_s"])
def test_sam2_parameter_counts(name):
    """The SAM2 table against the sam2 package (random weights; the larger two were counted once
    the same way: 80.85 M and 224.45 M)."""
    pytest.importorskip("sam2")
    from sam2.build_sam import build_sam2

    model = build_sam2(f"configs/sam2.1/{name}.yaml", None, device="cpu")
    params, channels, _ = memory.SAM2_SPECS[name]
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(params, rel=0.001)
    assert model.image_encoder.trunk.patch_embed.proj.out_channels == channels


def test_sam2_feature_cache_row_is_the_stored_bytes():
    """``system2.sam2_cache_frames``: min(clip frames, cap) × the FPN levels + one copy of the
    position encodings (the bytes `Sam2Segmenter.feature_cache_bytes` counts, see test_detail_sam2);
    off, no row and a smaller plan; a GPU too small for it is told it can switch it off."""
    from omni_r1_lite.config import apply_overrides

    for size in (256, 1024):
        levels = [(size // 4) ** 2, (size // 8) ** 2, (size // 16) ** 2]
        per_frame = 4 * (32 * levels[0] + 64 * levels[1] + 256 * levels[2])
        shared = 4 * 256 * sum(levels)
        for cap, kept in ((50, 50), (500, memory.CLIP_FRAMES["revos"])):
            cfg = apply_overrides(get_preset("a100-7b"), ["data.dataset=revos", f"system2.sam2_cache_frames={cap}",
                                                          f"system2.sam2_image_size={size}"])
            assert memory.plan_memory(cfg).row("SAM2 feature cache").bytes == kept * per_frame + shared
    on = apply_overrides(get_preset("eval-omni-r1"), ["data.dataset=revos"])
    off = apply_overrides(on, ["system2.sam2_cache_frames=0"])
    assert "SAM2 feature cache" not in [r.name for r in memory.plan_memory(off).rows]
    assert memory.plan_memory(off).total_gib < memory.plan_memory(on).total_gib
    with pytest.raises(memory.InsufficientGPUMemory, match="sam2_cache_frames=0"):
        memory.check_fits(on, memory.plan_memory(on).total_gib - 0.5)
