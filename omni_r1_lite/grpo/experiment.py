"""Learning you can see on a CPU: SFT warm start → GRPO, against SFT-only and a continue-SFT control.

For one seed (`run_seed`):

1. build the tiny thinker (seeded) and train it with full-parameter SFT on *imperfect* targets
   (``cfg.sft.target_noise``; ``cpu-demo``: ``"random"``, any frames, no keyframe label — SFT
   teaches the format and the rewrite, the keyframes are left to GRPO);
2. **SFT-only**: greedy held-out keyframe quality and J&F (`omni_r1_lite.grpo.heldout`);
3. **GRPO**: LoRA GRPO from the SFT model for ``cfg.grpo.max_steps`` steps;
4. **continue-SFT**: the SFT model trained ``cfg.grpo.max_steps`` more SFT steps on the same kind
   of targets (the control: same number of steps, no reward);
5. all three evaluated on the same held-out samples.

``use_perception=False`` runs the same experiment on pixels and audio only (the reported, not
gated, variant: a randomly initialised tiny model cannot tie frame indices to video content in
CPU-minutes — ``reference/cpu-learning-calibration.md``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from omni_r1_lite.config import KitConfig, apply_overrides


def _heldout(cfg: KitConfig, data_dir: Path, max_samples: int | None):
    from omni_r1_lite.data.sources import load_samples

    out = []
    for split in cfg.data.splits("eval"):
        out.extend(s for s in load_samples(cfg, data_dir, split, task="VOS") if not s.is_null)
    return out[:max_samples] if max_samples else out


def run_seed(cfg: KitConfig, data_dir: str | Path, out_dir: str | Path, seed: int = 0,
             use_perception: bool | None = None, max_heldout: int | None = None,
             methods: tuple[str, ...] = ("sft", "grpo", "continue-sft")) -> dict[str, Any]:
    """One seed of the learning experiment; writes ``result.json`` in ``out_dir`` and returns it."""
    import torch

    from omni_r1_lite.data.sources import load_samples
    from omni_r1_lite.grpo.heldout import evaluate_heldout
    from omni_r1_lite.grpo.trainer import GRPOTrainer
    from omni_r1_lite.models import load_thinker, suppress_token_ids
    from omni_r1_lite.repro import seed_everything
    from omni_r1_lite.sft import train_sft
    from omni_r1_lite.systems.pipeline import Pipeline
    from omni_r1_lite.systems.reasoner import GlobalReasoner, resolve_system1
    from omni_r1_lite.systems.standin import OmniSynthStandIn

    if use_perception is not None:
        cfg = apply_overrides(cfg, [f"system1.use_perception={use_perception}"])
    data_dir, out = Path(data_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(seed)
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    train = load_samples(cfg, data_dir, cfg.data.splits("train")[0], task="VOS", training=True)
    heldout = _heldout(cfg, data_dir, max_heldout)
    pipeline = Pipeline(OmniSynthStandIn(), max_frames=cfg.system1.max_frames)
    base_path = resolve_system1(cfg.system1.model, data_dir, seed=seed)
    times["data"] = time.perf_counter() - t0

    def reasoner(model, processor):
        return GlobalReasoner(model, processor, cfg.system1, suppress_token_ids(processor.tokenizer))

    def evaluate(model, processor) -> dict[str, Any]:
        res = evaluate_heldout(reasoner(model, processor), pipeline, heldout, cfg.grpo.max_completion_length)
        return {"quality": res.quality, "jf": res.jf, "format_ok": res.format_ok, "n": res.n}

    results: dict[str, Any] = {}
    t0 = time.perf_counter()
    model, processor = load_thinker(base_path)
    sft = train_sft(model, processor, train, cfg, out / "sft", seed=seed)
    times["sft"] = time.perf_counter() - t0
    sft_dir = Path(sft["out_dir"])
    t0 = time.perf_counter()
    results["sft"] = evaluate(*load_thinker(sft_dir))
    times["eval_sft"] = time.perf_counter() - t0
    if "grpo" in methods:
        t0 = time.perf_counter()
        model, processor = load_thinker(sft_dir)
        trainer = GRPOTrainer(cfg, model, processor, lambda m: reasoner(m, processor), pipeline, train,
                              out / "grpo", seed=seed, progress=False)
        trainer.train()
        times["grpo"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        results["grpo"] = evaluate(trainer.policy, processor)
        times["eval_grpo"] = time.perf_counter() - t0
        del trainer
    if "continue-sft" in methods:
        t0 = time.perf_counter()
        model, processor = load_thinker(sft_dir)
        cont = train_sft(model, processor, train, cfg, out / "continue-sft", max_steps=cfg.grpo.max_steps,
                         seed=seed + 1000, warmup_steps=0)
        times["continue_sft"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        results["continue-sft"] = evaluate(*load_thinker(cont["out_dir"]))
        times["eval_continue_sft"] = time.perf_counter() - t0
    torch.cuda.empty_cache() if torch.cuda.is_available() else None
    record = {"seed": seed, "use_perception": cfg.system1.use_perception, "heldout": len(heldout),
              "heldout_clips": len({s.frame_dir for s in heldout}), "results": results,
              "seconds": {k: round(v, 1) for k, v in times.items()}, "total_seconds": round(sum(times.values()), 1),
              "config": {"sft_steps": cfg.sft.max_steps, "grpo_steps": cfg.grpo.max_steps,
                         "prompts_per_step": cfg.grpo.per_device_prompts, "G": cfg.grpo.num_generations,
                         "lr": cfg.grpo.learning_rate, "beta": cfg.grpo.beta, "reward_set": cfg.rewards.reward_set}}
    (out / "result.json").write_text(json.dumps(record, indent=2))
    return record


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over seeds and the two gaps the target is stated in (GRPO − SFT, GRPO − continue-SFT)."""
    import numpy as np

    methods = sorted({m for r in records for m in r["results"]})
    mean = {m: {k: float(np.mean([r["results"][m][k] for r in records if m in r["results"]]))
                for k in ("quality", "jf", "format_ok")} for m in methods}
    out: dict[str, Any] = {"seeds": [r["seed"] for r in records], "mean": mean,
                           "per_seed": [{m: r["results"][m] for m in r["results"]} for r in records],
                           "seconds_per_seed": [r["total_seconds"] for r in records]}
    if "grpo" in mean and "sft" in mean:
        out["quality_gain_vs_sft"] = mean["grpo"]["quality"] - mean["sft"]["quality"]
        out["jf_gain_vs_sft"] = mean["grpo"]["jf"] - mean["sft"]["jf"]
    if "grpo" in mean and "continue-sft" in mean:
        out["quality_gain_vs_continue_sft"] = mean["grpo"]["quality"] - mean["continue-sft"]["quality"]
        out["jf_gain_vs_continue_sft"] = mean["grpo"]["jf"] - mean["continue-sft"]["jf"]
    return out


@dataclasses.dataclass
class Target:
    """The CPU learning target (issue text): ≥ +0.05 quality over SFT-only, higher J&F than both."""

    min_quality_gain: float = 0.05

    def met(self, summary: dict[str, Any]) -> bool:
        return (summary.get("quality_gain_vs_sft", -1) >= self.min_quality_gain
                and summary.get("jf_gain_vs_sft", -1) > 0 and summary.get("jf_gain_vs_continue_sft", -1) > 0
                and summary.get("quality_gain_vs_continue_sft", -1) > 0)
