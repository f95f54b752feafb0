"""The GRPO trainer: TRL-equal loss, prompt-once rollouts, media in every log-prob forward, LoRA on the
language model only, learning signal, checkpoints that resume to the same adapter, the log."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from omni_r1_lite.config import apply_overrides, get_preset
from omni_r1_lite.data.sources import load_samples
from omni_r1_lite.grpo.loss import grpo_loss
from omni_r1_lite.grpo.trainer import GRPOTrainer, read_log
from omni_r1_lite.models import load_thinker, prepare_inputs, suppress_token_ids
from omni_r1_lite.systems.generation import (
    completion_logps,
    make_prompt_batch,
    naive_completion_logps,
    sample_group,
    token_logps,
)
from omni_r1_lite.systems.pipeline import Pipeline
from omni_r1_lite.systems.reasoner import GlobalReasoner
from omni_r1_lite.systems.standin import OmniSynthStandIn


@pytest.mark.parametrize("loss_type", ["grpo", "dr_grpo", "dapo"])
def test_loss_equals_trl_grpotrainer_on_text(loss_type, tmp_path, tiny_thinker_dir):
    from datasets import Dataset
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
    from trl import GRPOConfig
    from trl import GRPOTrainer as TRLTrainer

    tok = AutoTokenizer.from_pretrained(tiny_thinker_dir)
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2))
    model.save_pretrained(tmp_path / "text-model")
    model.config._name_or_path = str(tmp_path / "text-model")
    args = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, beta=0.04, loss_type=loss_type,
                      num_generations=2, per_device_train_batch_size=2, max_completion_length=5,
                      report_to="none", temperature=0.7)
    trl = TRLTrainer(model=model, reward_funcs=[lambda completions, **kw: [0.0] * len(completions)], args=args,
                     train_dataset=Dataset.from_list([{"prompt": "a b"}] * 4), processing_class=tok)
    trl.current_gradient_accumulation_steps = 1
    g = torch.Generator().manual_seed(1)
    prompt = torch.randint(20, 200, (4, 6), generator=g)
    comp = torch.randint(20, 200, (4, 5), generator=g)
    pmask, cmask = torch.ones(4, 6, dtype=torch.long), torch.tensor([[1] * 5, [1] * 3 + [0] * 2, [1] * 5, [1, 0, 0, 0, 0]])
    adv = torch.tensor([1.0, -1.0, 0.5, -0.5])
    ref = torch.randn(4, 5, generator=g) * 0.1 - 3
    model.train()
    with torch.no_grad():
        trl_loss = trl._compute_loss(model, {"prompt_ids": prompt, "prompt_mask": pmask, "completion_ids": comp,
                                             "completion_mask": cmask, "advantages": adv, "ref_per_token_logps": ref,
                                             "num_items_in_batch": cmask.sum()})
        logits = model(input_ids=torch.cat([prompt, comp], 1)).logits[:, 5:-1]
        lp = token_logps(logits, comp, temperature=0.7)
        ours = grpo_loss(lp, lp, ref, adv, cmask, beta=0.04, loss_type=loss_type, max_completion_length=5)
    assert abs(float(trl_loss) - float(ours.loss)) < 1e-6


@pytest.fixture(scope="module")
def world(tmp_path_factory, tiny_thinker_dir):
    data = tmp_path_factory.mktemp("grpo-data")
    cfg = apply_overrides(get_preset("smoke"), ["grpo.num_generations=3", "grpo.per_device_prompts=2",
                                                "grpo.max_completion_length=12", "grpo.lr_scheduler_type=constant",
                                                "grpo.save_steps=2"])
    return cfg, load_samples(cfg, data, "train"), tiny_thinker_dir


def _batch(cfg, model, proc, samples):
    proc.tokenizer.padding_side = "left"
    r = GlobalReasoner(model, proc, cfg.system1, suppress_token_ids(proc.tokenizer))
    media = [r.media(s) for s in samples]
    inputs = prepare_inputs(proc, [r.messages(s) for s in samples], videos=[m["videos"][0] for m in media],
                            audio=[m["audio"][0] for m in media], video_pixels=(3136, 112 * 112))
    return r, make_prompt_batch(model, dict(inputs))


def test_prompt_once_equals_repeated_prompt_and_hf_generate(world):
    cfg, samples, path = world
    model, proc = load_thinker(path)
    r, batch = _batch(cfg, model, proc, samples[:2])
    out = sample_group(model, batch, 3, 10, r.eos_id, r.pad_id, suppress_tokens=r.suppress_tokens,
                       generator=torch.Generator().manual_seed(0))
    shared = completion_logps(model, batch, out.ids, out.mask, 3)
    naive = naive_completion_logps(model, batch, out.ids, out.mask, 3)
    m = out.mask.bool()
    assert (shared - naive)[m].abs().max() < 1e-4
    # greedy from the prompt cache equals transformers' generate for the unpadded first prompt
    r1, single = _batch(cfg, model, proc, samples[:1])
    ids = {k: v for k, v in single.inputs.items()}
    hf = model.generate(**ids, max_new_tokens=8, do_sample=False, eos_token_id=r.eos_id, pad_token_id=r.pad_id,
                        suppress_tokens=r.suppress_tokens)[0, single.length:]
    mine = sample_group(model, single, 1, 8, r.eos_id, r.pad_id, do_sample=False, suppress_tokens=r.suppress_tokens)
    assert mine.ids[0, :len(hf)].tolist() == hf.tolist()


def _trainer(cfg, samples, path, out_dir, monkeypatch, seed=0):
    import omni_r1_lite.rewards as rewards_mod

    def fake_scores(pipeline, sample, completions, cfg_r, finished=None, lengths=None, reward_set=None):
        from omni_r1_lite.rewards import RewardBreakdown

        rollouts = pipeline.run(sample, completions)
        # a dense, deterministic signal so a random policy gets non-zero advantages
        return rollouts, [RewardBreakdown({"len": float(len(c))}, {"len": len(c) / 10}, len(c) / 10, True, False)
                          for c in completions]

    monkeypatch.setattr(rewards_mod, "score_completions", fake_scores)
    model, proc = load_thinker(path)
    sup = suppress_token_ids(proc.tokenizer)
    return GRPOTrainer(cfg, model, proc, lambda m: GlobalReasoner(m, proc, cfg.system1, sup),
                       Pipeline(OmniSynthStandIn(), max_frames=8), samples, out_dir, seed=seed, progress=False)


def test_media_reach_every_logprob_forward_and_only_lora_on_the_language_model_trains(world, tmp_path,
                                                                                       monkeypatch):
    cfg, samples, path = world
    tr = _trainer(cfg, samples, path, tmp_path / "run", monkeypatch)
    names = [n for n, p in tr.policy.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n and "language_model" in n for n in names)
    before = {n: p.detach().clone() for n, p in tr.policy.named_parameters()}
    calls = {"visual": 0, "audio": 0, "lm_with_media": 0}
    inner = tr.policy.base_model.model.model
    hooks = [inner.visual.register_forward_pre_hook(lambda *a: calls.__setitem__("visual", calls["visual"] + 1)),
             inner.audio_tower.register_forward_pre_hook(lambda *a: calls.__setitem__("audio", calls["audio"] + 1))]
    rec = tr.train_step(1)
    for h in hooks:
        h.remove()
    # rollout prefill + reference (adapters off) + policy (with grad): three forwards, each with the media
    assert calls["visual"] == 3 and calls["audio"] == 3
    assert rec.reward_std > 0 and rec.loss != 0.0 or rec.kl >= 0
    after = dict(tr.policy.named_parameters())
    changed = [n for n in names if not torch.equal(before[n], after[n].detach())]
    assert set(changed) == set(n for n in names if "lora_B" in n or "lora_A" in n)  # every LoRA weight moved
    frozen = [n for n in before if n not in names]
    assert all(torch.equal(before[n], after[n].detach()) for n in frozen)


def _killed_run(cfg, samples, path, out_dir, monkeypatch, max_steps, at):
    """A run to ``max_steps`` killed after logging step ``at`` (before its checkpoint); the trainer."""
    class Killed(Exception):
        pass

    def kill(rec):
        if rec.step == at:
            raise Killed

    tr = _trainer(cfg, samples, path, out_dir, monkeypatch)
    with pytest.raises(Killed):
        tr.train(max_steps=max_steps, callback=kill)
    return tr


def test_killed_run_resumes_to_the_same_adapter(world, tmp_path, monkeypatch):
    cfg, samples, path = world
    full = _trainer(cfg, samples, path, tmp_path / "full", monkeypatch)
    full.train(max_steps=4)

    part = _killed_run(cfg, samples, path, tmp_path / "part", monkeypatch, 4, at=3)
    assert [p.name for p in part.checkpoints()] == ["checkpoint-2"]
    resumed = _trainer(cfg, samples, path, tmp_path / "part", monkeypatch)
    resumed.train(max_steps=4)
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "full" / "adapter" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "part" / "adapter" / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    diff = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert diff < 1e-6, diff
    log = read_log(tmp_path / "part")
    assert [r["step"] for r in log] == [1, 2, 3, 4]  # the killed step 3 was redone once, not logged twice
    assert {"generation", "system2_rewards", "update"} <= set(log[0]["seconds"])
    from peft import PeftModel

    base, _ = load_thinker(path)
    peft = PeftModel.from_pretrained(base, str(tmp_path / "full" / "adapter"))
    assert any("lora_" in n for n, _ in peft.named_parameters())


def test_log_lines_are_json_with_reward_components(world, tmp_path, monkeypatch):
    cfg, samples, path = world
    tr = _trainer(cfg, samples, path, tmp_path / "log", monkeypatch)
    tr.train(max_steps=1)
    line = json.loads((tmp_path / "log" / "train_log.jsonl").read_text().splitlines()[0])
    assert {"reward", "components", "kl", "loss", "completion_length", "seconds"} <= set(line)
    assert np.isfinite(line["loss"])


# ----------------------------------------------------------------------------- learning benchmark


def _seed_record(seed, sft, grpo, cont):
    def res(q, jf):
        return {"quality": q, "jf": jf, "format_ok": 1.0, "n": 10}

    return {"seed": seed, "use_perception": True, "heldout": 10, "heldout_clips": 5, "total_seconds": 1.0,
            "results": {"sft": res(*sft), "grpo": res(*grpo), "continue-sft": res(*cont)},
            "config": {"grpo_steps": 1}}


def test_learning_summary_and_target():
    from omni_r1_lite.grpo.experiment import Target, summarise

    met = summarise([_seed_record(0, (0.6, 0.5), (0.7, 0.55), (0.62, 0.52)),
                     _seed_record(1, (0.6, 0.5), (0.66, 0.53), (0.6, 0.5))])
    assert met["quality_gain_vs_sft"] == pytest.approx(0.08) and met["jf_gain_vs_continue_sft"] > 0
    assert Target().met(met)
    # the quality gain holds but J&F falls below continue-SFT: not met
    missed = summarise([_seed_record(0, (0.6, 0.5), (0.7, 0.51), (0.62, 0.52))])
    assert missed["quality_gain_vs_sft"] >= 0.05 and not Target().met(missed)


def _typed_record(seed, sft_jf, grpo_jf, sft_null, grpo_null, grpo_quality):
    """Per-sample records: 4 reasoning, 4 audio-visual, 4 referring, 2 null samples."""
    types = ["reasoning"] * 4 + ["audio-visual"] * 4 + ["referring"] * 4

    def res(jf, null_empty, quality):
        recs = [{"sample_id": f"s{i}", "type": t, "JF": jf[t] + 0.01 * (i % 3), "quality": quality}
                for i, t in enumerate(types)]
        recs += [{"sample_id": f"n{i}", "type": "null", "JF": 1.0, "quality": None, "empty": i < 2 * null_empty}
                 for i in range(2)]
        by_type = {t: float(np.mean([r["JF"] for r in recs if r["type"] == t]))
                   for t in ("referring", "reasoning", "audio-visual", "null")}
        return {"quality": quality, "jf": 0.5, "format_ok": 1.0, "n": 12, "jf_by_type": by_type,
                "null_empty": null_empty, "quality_minus_best_fixed": quality - 0.7, "records": recs}

    return {"seed": seed, "heldout": 12, "heldout_clips": 6, "total_seconds": 1.0,
            "best_fixed": {"keyframes": [3], "quality": 0.7},
            "results": {"sft": res(sft_jf, sft_null, 0.7), "grpo": res(grpo_jf, grpo_null, grpo_quality)}}


def test_mechanism_target_per_type_gains_with_intervals():
    """GRPO − SFT on reasoning + audio-visual pooled over seeds with a bootstrap interval, referring
    held, keyframes over the best fixed set, nulls not worse: each criterion can fail on its own."""
    from omni_r1_lite.grpo.experiment import MechanismTarget, summarise

    sft = {"reasoning": 0.3, "audio-visual": 0.4, "referring": 0.8}
    good = {"reasoning": 0.4, "audio-visual": 0.46, "referring": 0.795}
    summary = summarise([_typed_record(s, sft, good, 0.5, 0.5, 0.78) for s in (0, 1)])
    gap = summary["grpo_minus_sft"]["reasoning_av"]
    assert gap["value"] == pytest.approx(8.0) and gap["low"] <= 8.0 <= gap["high"] and gap["n"] == 16
    assert summary["mean"]["grpo"]["jf_by_type"]["reasoning"] == pytest.approx(0.4075)
    assert summary["mean"]["grpo"]["quality_minus_best_fixed"] == pytest.approx(0.08)
    assert MechanismTarget().check(summary) == {"reasoning_av": True, "referring": True,
                                                "per_clip_keyframes": True, "null": True}
    worse = {"reasoning": 0.33, "audio-visual": 0.41, "referring": 0.7}
    bad = MechanismTarget().check(summarise([_typed_record(0, sft, worse, 0.5, 0.0, 0.72)]))
    assert bad == {"reasoning_av": False, "referring": False, "per_clip_keyframes": False, "null": False}
    # a summary without null clips (a --validation run) has the null criterion unmeasured, not failed
    record = _typed_record(0, sft, good, 0.5, 0.5, 0.78)
    for res in record["results"].values():
        res["records"] = [r for r in res["records"] if r["type"] != "null"]
        res["null_empty"] = None
        del res["jf_by_type"]["null"]
    check = MechanismTarget().check(summarise([record]))
    assert check["null"] is None and check["referring"] is True
    assert MechanismTarget().check({}) == dict.fromkeys(("reasoning_av", "referring", "per_clip_keyframes", "null"))
    assert "records" not in json.dumps(summary["per_seed"])


def test_learning_benchmark_reuses_finished_seeds(tmp_path, capsys):
    """Seeds already in --out are read back, not rerun: the benchmark resumes and can be spread."""
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import learning

    for seed, grpo in ((0, (0.7, 0.55)), (1, (0.5, 0.4))):
        (tmp_path / f"seed{seed}").mkdir()
        (tmp_path / f"seed{seed}" / "result.json").write_text(
            json.dumps(_seed_record(seed, (0.6, 0.5), grpo, (0.6, 0.5))))
    result = learning.main(["--seeds", "0", "1", "--no-perception-seeds", "--out", str(tmp_path),
                            "--data-dir", str(tmp_path / "unused")])
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last == json.loads(json.dumps(result))
    assert last["perception_track"]["quality_gain_vs_sft"] == pytest.approx(0.0)
    assert last["target_met"] is False and not (tmp_path / "unused").exists()


def test_checkpoints_of_another_start_model_are_set_aside_not_resumed(world, tmp_path, monkeypatch):
    cfg, samples, path = world
    first = _trainer(cfg, samples, path, tmp_path / "run", monkeypatch)
    first.train(max_steps=3)  # save_steps=2: checkpoint-2 stays (the last step is not checkpointed)
    assert [p.name for p in first.checkpoints()] == ["checkpoint-2"]
    # the same start model and settings resume
    again = _trainer(cfg, samples, path, tmp_path / "run", monkeypatch)
    assert again.set_aside_stale() is None and again.checkpoints()
    # another warm start (different weights) in the same folder: the old checkpoint is moved, not resumed
    import omni_r1_lite.grpo.trainer as trainer_mod

    model, proc = load_thinker(path)
    with torch.no_grad():
        next(p for n, p in model.named_parameters()).add_(0.01)
    fp_other = trainer_mod.run_fingerprint(cfg, model, 0)
    assert fp_other != again.fingerprint
    other = _trainer(cfg, samples, path, tmp_path / "run", monkeypatch)
    other.fingerprint = fp_other
    with pytest.warns(UserWarning, match="another run"):
        other.train(max_steps=1)
    stale = tmp_path / "run" / "stale-1"
    assert (stale / "checkpoint-2" / "trainer_state.json").exists() and (stale / "train_log.jsonl").exists()
    assert [r["step"] for r in read_log(tmp_path / "run")] == [1]
    # a different setting also changes the fingerprint; max_steps does not
    base, _ = load_thinker(path)
    fp = trainer_mod.run_fingerprint(cfg, base, 0)
    assert trainer_mod.run_fingerprint(apply_overrides(cfg, ["grpo.max_steps=99"]), base, 0) == fp
    assert trainer_mod.run_fingerprint(apply_overrides(cfg, ["grpo.beta=0.1"]), base, 0) != fp
    assert trainer_mod.run_fingerprint(cfg, base, 1) != fp


class _Touch:
    """A pickle payload: unpickling it creates ``marker`` (what a crafted trainer_state.pt could do)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def _adapter(out_dir):
    from safetensors.torch import load_file

    return load_file(str(Path(out_dir) / "adapter" / "adapter_model.safetensors"))


def test_a_crafted_checkpoint_runs_no_code_and_is_set_aside(world, tmp_path, monkeypatch):
    """No pickle is loaded from a run folder: an earlier kit's (or a crafted) trainer_state.pt is
    moved aside unread, a crafted trainer_state.json is only data, and odd folder names are ignored."""
    cfg, samples, path = world
    run = tmp_path / "run"
    marker = tmp_path / "payload-ran"
    crafted = run / "checkpoint-1"
    (crafted / "adapter").mkdir(parents=True)
    torch.save({"step": 1, "fingerprint": _Touch(marker)}, crafted / "trainer_state.pt")
    (run / "checkpoint-notanumber").mkdir()
    tr = _trainer(cfg, samples, path, run, monkeypatch)
    with pytest.warns(UserWarning, match="another run"):
        tr.train(max_steps=1)
    assert not marker.exists()
    assert (run / "stale-1" / "checkpoint-1" / "trainer_state.pt").exists()  # kept, not deleted
    assert [r["step"] for r in read_log(run)] == [1]
    # a state file that is not ours: refused with the file named, never executed
    from omni_r1_lite.grpo.state import CheckpointError, read_meta

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "trainer_state.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="trainer_state.json"):
        read_meta(bad)


def test_a_kill_during_rotation_resumes_from_the_newest_complete_checkpoint(world, tmp_path, monkeypatch):
    """An empty and a half-deleted older checkpoint beside a complete checkpoint-4 are skipped, not
    taken for another run: training resumes at step 4, logs each step once, ends as an unbroken run."""
    cfg, samples, path = world
    full = _trainer(cfg, samples, path, tmp_path / "full", monkeypatch)
    full.train(max_steps=5)

    run = tmp_path / "run"
    part = _killed_run(cfg, samples, path, run, monkeypatch, 5, at=5)
    assert [p.name for p in part.checkpoints()] == ["checkpoint-4"]
    (run / "checkpoint-2").mkdir()  # emptied by the kill
    half = run / "checkpoint-3"
    shutil.copytree(run / "checkpoint-4" / "adapter", half / "adapter")  # its state files already gone
    (run / ".trash-checkpoint-1").mkdir()
    resumed = _trainer(cfg, samples, path, run, monkeypatch)
    with pytest.warns(UserWarning, match="incomplete checkpoint") as got:
        resumed.train(max_steps=5)
    assert not any("another run" in str(w.message) for w in got)
    assert not (run / "stale-1").exists() and not (run / ".trash-checkpoint-1").exists()
    assert [r["step"] for r in read_log(run)] == [1, 2, 3, 4, 5]
    a, b = _adapter(tmp_path / "full"), _adapter(run)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_with_lora_dropout_is_bit_identical(world, tmp_path, monkeypatch):
    """Dropout draws from torch's generator: the checkpoint restores it, so a killed-and-resumed
    run ends with exactly the uninterrupted run's adapter."""
    cfg, samples, path = world
    cfg = apply_overrides(cfg, ["grpo.lora_dropout=0.05"])
    full = _trainer(cfg, samples, path, tmp_path / "full", monkeypatch)
    full.train(max_steps=3)

    _killed_run(cfg, samples, path, tmp_path / "part", monkeypatch, 3, at=3)
    torch.manual_seed(12345)  # a new process starts with other generator states
    np.random.seed(12345)
    resumed = _trainer(cfg, samples, path, tmp_path / "part", monkeypatch)
    resumed.train(max_steps=3)
    a, b = _adapter(tmp_path / "full"), _adapter(tmp_path / "part")
    diff = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert diff == 0.0, diff


def test_type_shares_draw_prompts_by_type_and_enter_the_fingerprint(world, tmp_path, monkeypatch):
    from omni_r1_lite.grpo.trainer import run_fingerprint

    cfg, samples, path = world
    types = sorted({s.expression_type for s in samples})
    assert len(types) >= 2
    shared = apply_overrides(cfg, [f"grpo.expression_types={types!r}",
                                   f"grpo.type_shares={[1.0] + [0.0] * (len(types) - 1)!r}"])
    tr = _trainer(shared, samples, path, tmp_path / "shares", monkeypatch)
    drawn = [s.expression_type for step in range(20) for s in tr.batch_samples(step, 0)]
    assert drawn and set(drawn) == {types[0]}  # a zero share is never drawn
    even = apply_overrides(shared, [f"grpo.type_shares={[1.0] * len(types)!r}"])
    tr_even = _trainer(even, samples, path, tmp_path / "even", monkeypatch)
    drawn = [s.expression_type for step in range(60) for s in tr_even.batch_samples(step, 0)]
    assert set(drawn) == set(types)
    assert run_fingerprint(shared, tr.policy, 0) != run_fingerprint(even, tr.policy, 0)
    with pytest.raises(ValueError, match="type_shares"):
        _trainer(apply_overrides(cfg, [f"grpo.expression_types={types!r}", "grpo.type_shares=[1.0]"]),
                 samples, path, tmp_path / "bad", monkeypatch)


def test_sft_anchor_trains_the_sft_targets_of_its_types_and_enters_the_fingerprint(world, tmp_path, monkeypatch):
    from omni_r1_lite.grpo.trainer import _step_seed, run_fingerprint

    cfg, samples, path = world
    types = sorted({s.expression_type for s in samples})
    anchor_type, prompt_types = types[0], types[1:]
    on = apply_overrides(cfg, [f"grpo.expression_types={prompt_types!r}", "grpo.sft_anchor_weight=1.0",
                               f"grpo.sft_anchor_types={[anchor_type]!r}", "grpo.sft_anchor_batch=2",
                               "grpo.learning_rate=3e-3"])
    tr = _trainer(on, samples, path, tmp_path / "on", monkeypatch)
    collator, anchored, targets = tr.anchor
    assert anchored and {s.expression_type for s in anchored} == {anchor_type}  # not the prompts' types
    assert {s.expression_type for s in tr.samples} == set(prompt_types)
    # its loss is the SFT cross-entropy of the collated targets: recomputed here from the labels
    loss = tr.anchor_loss(0, 0).detach()
    rng = np.random.default_rng(_step_seed(0, 0, 200))
    idx = rng.choice(len(anchored), size=2, replace=2 > len(anchored))
    batch = collator([{"index": int(i), "target": targets[i]} for i in idx])
    labels = batch.pop("labels")
    with torch.no_grad():
        logits = tr.model(**batch).logits[:, :-1].float()
    want = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1),
                                             ignore_index=-100)
    assert abs(float(loss) - float(want)) < 1e-4
    before = float(loss)
    log = [rec.sft_anchor for rec in (tr.train_step(s) for s in range(6))]
    assert all(v is not None for v in log)
    with torch.no_grad():
        after = float(tr.anchor_loss(0, 0))
    assert after < before - 0.05, (before, after, log)  # the anchor's targets are being learned
    off = _trainer(apply_overrides(on, ["grpo.sft_anchor_weight=0.0"]), samples, path, tmp_path / "off", monkeypatch)
    assert off.anchor is None and off.train_step(0).sft_anchor is None
    # off, the anchor's other settings do not enter the fingerprint (earlier checkpoints resume); on, they do
    assert run_fingerprint(apply_overrides(on, ["grpo.sft_anchor_weight=0.0"]), tr.policy, 0) == \
        run_fingerprint(apply_overrides(on, ["grpo.sft_anchor_weight=0.0", "grpo.sft_anchor_batch=7"]), tr.policy, 0)
    assert run_fingerprint(on, tr.policy, 0) != run_fingerprint(apply_overrides(on, ["grpo.sft_anchor_batch=3"]),
                                                                 tr.policy, 0)
    with pytest.raises(ValueError, match="sft_anchor"):
        _trainer(apply_overrides(on, ["grpo.sft_anchor_weight=-1.0"]), samples, path, tmp_path / "bad", monkeypatch)
