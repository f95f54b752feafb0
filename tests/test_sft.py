"""SFT: ground-truth targets, the multimodal collator, and TRL's SFTTrainer on the tiny thinker (CPU)."""

from __future__ import annotations

import dataclasses
import json
import os
import time

import numpy as np
import pytest
import tiny_assets
import torch

from omni_r1_lite import sft
from omni_r1_lite.config import get_preset
from omni_r1_lite.data.keyframes import oracle_keyframes, target_area, uniform_keyframes
from omni_r1_lite.data.sources import load_samples
from omni_r1_lite.models import encoder_parameter_names, load_thinker, suppress_token_ids
from omni_r1_lite.systems.parsing import parse_avs_answer, parse_vos_answer
from omni_r1_lite.systems.pipeline import Pipeline
from omni_r1_lite.systems.prompts import sample_frame_indices
from omni_r1_lite.systems.reasoner import GlobalReasoner, resolve_system1

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread: on a 2-core machine shared with another torch process, 2 threads each
    oversubscribe the cores and the learning check took 185 s instead of 17 s (measured)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def world():
    """The smoke preset, its OmniSynth set and the tiny-xs thinker folder (built once)."""
    cfg = get_preset("smoke")
    data_dir = tiny_assets.session_dir() / "sft-data"
    train = list(load_samples(cfg, data_dir, "train"))
    null = list(load_samples(cfg, data_dir, "test_n"))
    path = resolve_system1("tiny-xs", data_dir)
    return {"cfg": cfg, "data_dir": data_dir, "train": train, "null": null, "path": path}


def _load(world, cfg=None):
    cfg = cfg or world["cfg"]
    model, processor = load_thinker(world["path"], device="cpu", local_files_only=True)
    reasoner = GlobalReasoner(model, processor, cfg.system1, suppress_token_ids(processor.tokenizer))
    return model, processor, reasoner


# ----------------------------------------------------------------------------- targets


def test_targets_oracle_random_visible_null_and_avs(world):
    cfg = get_preset("smoke", ["system1.max_frames=4"])  # 8-frame clips → sampled clip frames [0, 2, 4, 7]
    pipe = Pipeline(detail=None, max_frames=4)
    rng = np.random.default_rng(0)
    seen_random = set()
    for s in world["train"]:
        frames = pipe.sampled_frames(s)
        assert frames == sample_frame_indices(8, 4) == [0, 2, 4, 7]
        area = target_area(s)[frames]
        oracle = parse_vos_answer(sft.sft_target(s, pipe, "oracle"), num_frames=4)
        assert oracle.ok and list(oracle.keyframes) == oracle_keyframes(area, 4)
        assert set(oracle.descriptions) == {s.meta["literal"]}
        noisy = parse_vos_answer(sft.sft_target(s, pipe, "random-visible", rng), num_frames=4)
        visible = set(np.flatnonzero(area > 0).tolist())
        assert set(noisy.keyframes) <= visible and len(noisy.keyframes) == min(4, len(visible))
        seen_random.add(noisy.keyframes)
        largest = parse_vos_answer(sft.sft_target(s, pipe, "largest"), num_frames=4)
        if visible:  # the target's largest frames, as many as are visible (at most 4)
            assert len(largest.keyframes) == min(4, len(visible)) and set(largest.keyframes) <= visible
            assert min(area[list(largest.keyframes)]) >= max(area[sorted(set(range(4)) - set(largest.keyframes))],
                                                            default=0)
    assert len(seen_random) > 1
    # the reasoner and the pipeline agree on the sampled frames
    _, _, reasoner = _load(world, cfg)
    s = world["train"][0]
    assert sft.sft_target(s, reasoner, "oracle") == sft.sft_target(s, pipe, "oracle")
    # same seed, same labels
    a = sft.sft_targets(world["train"], pipe, "random-visible", seed=3)
    assert a == sft.sft_targets(world["train"], pipe, "random-visible", seed=3)
    # null expressions: uniform frames, the literal as description
    n = world["null"][0]
    plan = parse_vos_answer(sft.sft_target(n, pipe, "random-visible", rng), num_frames=4)
    assert list(plan.keyframes) == uniform_keyframes(4, 4) and plan.descriptions[0] == n.meta["literal"]
    # AVS: the literal rewrite as the answer
    avs = dataclasses.replace(s, task="AVS")
    assert parse_avs_answer(sft.sft_target(avs, pipe)).descriptions == (s.meta["literal"],)


def test_random_targets_ignore_visibility(world):
    pipe = Pipeline(detail=None, max_frames=8)
    rng = np.random.default_rng(0)
    drawn = []
    for _ in range(20):
        for s in world["train"]:
            plan = parse_vos_answer(sft.sft_target(s, pipe, "random", rng), num_frames=8)
            assert plan.ok and len(set(plan.keyframes)) == 4 and list(plan.keyframes) == sorted(plan.keyframes)
            assert set(plan.descriptions) == {s.meta["literal"]}
            drawn.append((s, plan.keyframes))
    # some draws land on frames where the target is not visible: the label says nothing about keyframes
    assert any(not all(target_area(s)[list(k)] > 0) for s, k in drawn)
    with pytest.raises(ValueError, match="noise must be one of"):
        sft.sft_target(world["train"][0], pipe, "uniformly")


def test_expression_descriptions_leave_the_rewrite_to_grpo(world):
    """``sft.descriptions="expression"``: the target describes with the expression as given (what real
    data allows), the keyframes drawn as before; the literal rewrite never appears."""
    pipe = Pipeline(detail=None, max_frames=8)
    rewritten = [s for s in world["train"] if s.meta["literal"] != s.expression]
    assert rewritten
    for s in rewritten:
        a = parse_vos_answer(sft.sft_target(s, pipe, "random-visible", 0, descriptions="expression"), num_frames=8)
        b = parse_vos_answer(sft.sft_target(s, pipe, "random-visible", 0), num_frames=8)
        assert set(a.descriptions) == {" ".join(s.expression.split())} and a.keyframes == b.keyframes
        assert set(b.descriptions) == {s.meta["literal"]}
    with pytest.raises(ValueError, match="descriptions must be"):
        sft.sft_target(rewritten[0], pipe, "random", 0, descriptions="both")


def test_stratified_targets_take_one_frame_per_stretch(world):
    pipe = Pipeline(detail=None, max_frames=8)
    rng = np.random.default_rng(0)
    drawn = set()
    for _ in range(20):
        for s in world["train"]:
            plan = parse_vos_answer(sft.sft_target(s, pipe, "stratified", rng), num_frames=8)
            assert plan.ok and set(plan.descriptions) == {s.meta["literal"]}
            # 8 frames, 4 keyframes: one from each of {0,1}, {2,3}, {4,5}, {6,7}
            assert [k // 2 for k in plan.keyframes] == [0, 1, 2, 3]
            drawn.add(plan.keyframes)
    assert len(drawn) == 16  # every combination comes up: the label is not a fixed set
    assert tuple(uniform_keyframes(8, 4)) in drawn
    # fewer frames than keyframes: every frame once; uneven stretches still cover the clip
    assert sft.stratified_keyframes(3, 4, rng) == [0, 1, 2]
    for _ in range(50):
        keys = sft.stratified_keyframes(10, 4, rng)
        assert len(keys) == 4 and keys == sorted(set(keys)) and keys[0] <= 2 and keys[-1] >= 8


def test_targets_on_real_style_samples_use_masks_and_the_expression(world):
    """No annotation and no literal (RefAVS / ReVOS): areas from the GT masks, description = expression."""
    pipe = Pipeline(detail=None, max_frames=8)
    for s in world["train"][:6]:
        real = dataclasses.replace(s, meta={})
        frames = pipe.sampled_frames(s)
        from_masks = sft.sampled_target_area(real, frames)
        assert ((from_masks > 0) == (target_area(s)[frames] > 0)).all()
        plan = parse_vos_answer(sft.sft_target(real, pipe, "oracle"), num_frames=8)
        assert list(plan.keyframes) == oracle_keyframes(from_masks, 4)
        assert set(plan.descriptions) == {" ".join(s.expression.split())}


# ----------------------------------------------------------------------------- collator


def test_collator_reproduces_rollout_inputs_masks_the_prompt_and_pads_right(world):
    model, processor, reasoner = _load(world)
    tok = processor.tokenizer
    samples = world["train"][:3]
    targets = sft.sft_targets(samples, reasoner, "oracle")
    targets[1] = targets[1].replace("visible in these frames", "visible")  # rows of different lengths
    collator = sft.MultimodalCollator(reasoner, samples)
    batch = collator([{"index": i, "target": t} for i, t in enumerate(targets)])
    for key in ("pixel_values_videos", "video_grid_thw", "video_second_per_grid", "input_features",
                "feature_attention_mask"):
        assert key in batch
    encs = [reasoner.encode(s) for s in samples]
    lengths = batch["attention_mask"].sum(1).tolist()
    assert len(set(lengths)) > 1
    for i, (enc, target) in enumerate(zip(encs, targets)):
        p, n = enc["input_ids"].shape[1], lengths[i]
        assert torch.equal(batch["input_ids"][i, :p], enc["input_ids"][0])  # the rollout prompt, token for token
        assert (batch["labels"][i, :p] == -100).all()
        answer = batch["labels"][i, p:n]
        assert (answer != -100).all() and (batch["labels"][i, n:] == -100).all()
        assert tok.decode(answer.tolist(), skip_special_tokens=False) == target + "<|im_end|>"
        assert answer[-1].item() == tok.convert_tokens_to_ids("<|im_end|>")
        assert (batch["attention_mask"][i, :n] == 1).all() and (batch["attention_mask"][i, n:] == 0).all()
        assert (batch["input_ids"][i, n:] == tok.pad_token_id).all()  # right padding
    assert torch.equal(batch["pixel_values_videos"], torch.cat([e["pixel_values_videos"] for e in encs]))
    assert torch.equal(batch["video_grid_thw"], torch.cat([e["video_grid_thw"] for e in encs]))
    for i, enc in enumerate(encs):  # audio trimmed to its valid frames, then padded to the batch's longest
        valid = int(enc["feature_attention_mask"].sum())
        assert int(batch["feature_attention_mask"][i].sum()) == valid
        assert torch.equal(batch["input_features"][i, :, :valid], enc["input_features"][0, :, :valid])

    # batched forward == unbatched forward on every real token (padding and media batching are right)
    model.eval()
    with torch.no_grad():
        batched = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
        for i in range(len(samples)):
            one = collator.collate([collator.example({"index": i, "target": targets[i]})])
            alone = model(**{k: v for k, v in one.items() if k != "labels"}).logits[0]
            torch.testing.assert_close(batched[i, : lengths[i]], alone, atol=2e-4, rtol=1e-4)


def test_collator_answer_never_merges_with_the_prompt(world):
    """A target starting with whitespace would merge with the prompt's final newline if prompt and
    answer were tokenised together; the collator keeps the rollout prompt intact."""
    _, processor, reasoner = _load(world)
    s = world["train"][0]
    target = "\n " + sft.sft_target(s, reasoner)
    ex = sft.MultimodalCollator(reasoner).example((s, target))
    prompt = reasoner.encode(s)["input_ids"][0]
    assert torch.equal(ex["input_ids"][: len(prompt)], prompt)
    answer = ex["labels"][len(prompt):]
    assert (ex["labels"][: len(prompt)] == -100).all()
    assert processor.tokenizer.decode(answer.tolist(), skip_special_tokens=False) == target + "<|im_end|>"


def test_collator_avs_examples_carry_image_and_audio(world):
    model, processor, reasoner = _load(world)
    s = dataclasses.replace(world["train"][0], task="AVS")
    target = sft.sft_target(s, reasoner)
    batch = sft.MultimodalCollator(reasoner)([(s, target), {"sample": s, "target": target}])
    enc = reasoner.encode(s)
    assert {"pixel_values", "image_grid_thw", "input_features"} <= set(batch)
    assert "pixel_values_videos" not in batch
    assert torch.equal(batch["pixel_values"], torch.cat([enc["pixel_values"]] * 2))
    with torch.no_grad():
        out = model(**batch)
    assert torch.isfinite(out.loss)


# ----------------------------------------------------------------------------- training


def test_train_sft_full_parameter_trains_the_language_model_only(world, tmp_path):
    model, processor, reasoner = _load(world)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    encoders = set(encoder_parameter_names(model))
    seen: list[set[str]] = []

    def record(module, args, kwargs):
        seen.append({k for k, v in kwargs.items() if v is not None})

    handle = model.register_forward_pre_hook(record, with_kwargs=True)
    try:
        res = sft.train_sft(model, processor, world["train"][:8], world["cfg"], tmp_path, max_steps=8,
                            noise="oracle", batch_size=4, learning_rate=3e-3, seed=0)
    finally:
        handle.remove()
    trained = res.pop("model")
    assert trained is model and "forward" not in vars(model)  # TRL's fused-head patch is removed
    assert res["steps"] == 8 and res["full_parameter"] and res["final_loss"] < res["initial_loss"]
    log = [json.loads(line) for line in (tmp_path / "sft_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, 9))
    assert all({"loss", "lr", "seconds"} <= set(r) for r in log)
    assert json.loads((tmp_path / "sft_summary.json").read_text())["steps"] == 8

    # the media reached the training forward
    assert seen and all({"pixel_values_videos", "video_grid_thw", "input_features", "feature_attention_mask",
                         "labels"} <= keys for keys in seen)
    # towers frozen and untouched; the language model and its head trained
    changed = {n for n, p in model.named_parameters() if not torch.equal(p.detach(), before[n])}
    assert not changed & encoders
    lm = {n for n in before if n not in encoders}
    layer_weights = {n for n in lm if ".layers." in n and n.endswith("proj.weight")}
    assert layer_weights and layer_weights <= changed
    assert "lm_head.weight" in changed and any("embed_tokens" in n for n in changed)
    assert all(not p.requires_grad for n, p in model.named_parameters() if n in encoders)

    # the saved folder reloads with load_thinker and gives the same logits
    reloaded, processor2 = load_thinker(tmp_path, device="cpu", local_files_only=True)
    collator = sft.MultimodalCollator(reasoner, world["train"][:2])
    batch = collator([{"index": i, "target": sft.sft_target(s, reasoner)} for i, s in enumerate(world["train"][:2])])
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**inputs).logits, model(**inputs).logits, atol=1e-5, rtol=1e-5)
    assert processor2.tokenizer.get_vocab() == processor.tokenizer.get_vocab()
    assert (tmp_path / "omni_r1_lite.json").exists()  # tiny pixel budgets travel with the weights


def test_train_sft_lora_trains_adapters_on_the_language_model(world, tmp_path):
    cfg = get_preset("smoke", ["sft.full_parameter=False"])
    model, processor, _ = _load(world, cfg)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    res = sft.train_sft(model, processor, world["train"][:4], cfg, tmp_path, max_steps=3, batch_size=2,
                        learning_rate=3e-3)
    peft_model = res.pop("model")
    assert not res["full_parameter"] and (tmp_path / "adapter_config.json").exists()
    lora = [n for n, p in peft_model.named_parameters() if "lora_" in n]
    assert lora and all("language_model.layers" in n for n in lora)
    assert all(p.requires_grad == ("lora_" in n) for n, p in peft_model.named_parameters())
    assert any(not torch.allclose(p, torch.zeros_like(p)) for n, p in peft_model.named_parameters()
               if "lora_B" in n)  # B starts at zero: it moved
    base = peft_model.get_base_model()
    for name, p in base.named_parameters():
        if "lora_" not in name:
            key = name.replace(".base_layer", "")
            assert torch.equal(p.detach(), before[key]), name


def test_sft_learning_check(world, tmp_path):
    """100 full-parameter steps (batch 2) on oracle targets of 8 smoke clips, with the full System-1
    inputs (video, audio, perception track), lower the answer loss from ≈ ln(vocab) to below 1."""
    model, processor, _ = _load(world)
    t0 = time.perf_counter()
    res = sft.train_sft(model, processor, world["train"][:8], world["cfg"], tmp_path, max_steps=100,
                        noise="oracle", batch_size=2, learning_rate=3e-3, seed=0)
    seconds = time.perf_counter() - t0
    losses = [json.loads(line)["loss"] for line in (tmp_path / "sft_log.jsonl").read_text().splitlines()]
    first, last = float(np.mean(losses[:5])), float(np.mean(losses[-10:]))
    print(f"SFT learning check: loss {first:.3f} -> {last:.3f} in {res['steps']} steps, {seconds:.1f} s")
    assert res["steps"] == 100
    assert first > 5.5  # ≈ ln(vocab): the random init knows nothing
    assert last < min(first / 3, 1.0)


def test_sft_expression_types_train_on_those_types_only(world, tmp_path):
    types = sorted({s.expression_type for s in world["train"][:8]})
    cfg = get_preset("smoke", [f"sft.expression_types={[types[0]]!r}"])
    model, processor, _ = _load(world, cfg)
    res = sft.train_sft(model, processor, world["train"][:8], cfg, tmp_path, max_steps=1, batch_size=2)
    want = sum(s.expression_type == types[0] for s in world["train"][:8])
    assert 0 < want < 8 and res["num_samples"] == want
    assert json.loads((tmp_path / sft.SFT_SUMMARY).read_text())["expression_types"] == [types[0]]
    with pytest.raises(ValueError, match="expression_types"):
        sft.train_sft(model, processor, world["train"][:8], get_preset("smoke", ["sft.expression_types=['nope']"]),
                      tmp_path / "none", max_steps=1)
