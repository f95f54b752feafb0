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

from omni_r1_lite.config import KitConfig, apply_overrides, to_dict


def _heldout(cfg: KitConfig, data_dir: Path, max_samples: int | None):
    """The test splits' VOS samples: those with a target (capped at ``max_samples``), then the null ones."""
    from omni_r1_lite.data.sources import load_samples

    out = []
    for split in cfg.data.splits("eval"):
        out.extend(load_samples(cfg, data_dir, split, task="VOS"))
    target = [s for s in out if not s.is_null]
    return (target[:max_samples] if max_samples else target) + [s for s in out if s.is_null]


def validation_split(train: list, fraction: float, seed: int = 0) -> tuple[list, list]:
    """``(train, validation)``: whole clips (all their expressions) carved from the training samples,
    ``fraction`` of the clips, chosen by a seeded shuffle of the clip folders (the same for every
    training seed when ``seed`` is fixed). Settings are chosen on the validation part, never on the
    test splits.

    >>> from types import SimpleNamespace as S
    >>> tr, va = validation_split([S(frame_dir=f"c{i // 2}") for i in range(20)], 0.2)
    >>> len(tr), len(va), {s.frame_dir for s in tr} & {s.frame_dir for s in va}
    (16, 4, set())
    """
    import random

    clips = sorted({str(s.frame_dir) for s in train})
    random.Random(seed).shuffle(clips)
    held = set(clips[: max(1, round(fraction * len(clips)))])
    return [s for s in train if str(s.frame_dir) not in held], [s for s in train if str(s.frame_dir) in held]


def run_seed(cfg: KitConfig, data_dir: str | Path, out_dir: str | Path, seed: int = 0,
             use_perception: bool | None = None, max_heldout: int | None = None,
             methods: tuple[str, ...] = ("sft", "grpo", "continue-sft"),
             validation: float | None = None, sft_from: str | Path | None = None) -> dict[str, Any]:
    """One seed of the learning experiment; writes ``result.json`` in ``out_dir`` and returns it.

    ``validation``: hold out that fraction of the training clips (`validation_split`) and evaluate on
    them instead of the test splits (for choosing settings). ``sft_from``: an SFT model folder of an
    earlier run with the same SFT settings, seed and training samples, reused instead of training one
    (comparing GRPO settings; its ``sft_summary.json`` must agree, else an error)."""
    import numpy as np
    import torch

    from omni_r1_lite.data.schema import of_types
    from omni_r1_lite.data.sources import load_samples
    from omni_r1_lite.grpo.heldout import best_fixed_sets, best_of_sizes, evaluate_heldout, keyframe_quality
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
    if validation:
        train, heldout = validation_split(train, validation)
        heldout = heldout[:max_heldout] if max_heldout else heldout
    else:
        heldout = _heldout(cfg, data_dir, max_heldout)
    # the best fixed keyframe set of each size, chosen on the training samples; a policy's choice on a
    # held-out sample is compared with the fixed set of as many frames (the gate: choosing fewer
    # frames cannot pass for a per-clip choice, a set's quality being the mean of its frames'), and
    # with the best set of any size (a single frame), reported beside it
    fixed = best_fixed_sets(train)
    by_size = {k: keys for k, (keys, _) in fixed.items()}
    any_size = best_of_sizes(fixed)[0]
    by_id = {s.sample_id: s for s in heldout}

    def matched_fixed(records: list[dict]) -> dict[str, float]:
        rows = [r for r in records if r["type"] != "null"]
        same = [keyframe_quality(by_id[r["sample_id"]], by_size.get(len(r["keyframes"]), ())) for r in rows]
        anyq = [keyframe_quality(by_id[r["sample_id"]], any_size) for r in rows]
        return {"same_size": float(np.mean(same)) if same else 0.0, "any": float(np.mean(anyq)) if anyq else 0.0}
    pipeline = Pipeline(OmniSynthStandIn(), max_frames=cfg.system1.max_frames)
    base_path = resolve_system1(cfg.system1.model, data_dir, seed=seed)
    times["data"] = time.perf_counter() - t0

    def reasoner(model, processor):
        return GlobalReasoner(model, processor, cfg.system1, suppress_token_ids(processor.tokenizer))

    def evaluate(model, processor) -> dict[str, Any]:
        res = evaluate_heldout(reasoner(model, processor), pipeline, heldout, cfg.grpo.max_completion_length,
                               include_null=True)
        fixed_quality = matched_fixed(res.records)
        sizes = [len(r["keyframes"]) for r in res.records if r["type"] != "null"]
        sets = [tuple(r["keyframes"]) for r in res.records if r["type"] != "null"]
        return {"quality": res.quality, "jf": res.jf, "format_ok": res.format_ok, "n": res.n,
                "jf_by_type": res.jf_by_type, "null_empty": res.null_empty,
                "quality_minus_best_fixed": res.quality - fixed_quality["same_size"],
                "quality_minus_best_fixed_any": res.quality - fixed_quality["any"],
                "keyframes_per_answer": float(np.mean(sizes)) if sizes else 0.0,
                "distinct_keyframe_sets": len(set(sets)),
                "most_frequent_set_share": max(sets.count(x) for x in set(sets)) / len(sets) if sets else 0.0,
                "records": [{k: r[k] for k in ("sample_id", "type", "JF", "quality", "keyframes", "empty") if k in r}
                            for r in res.records]}

    results: dict[str, Any] = {}
    t0 = time.perf_counter()
    if sft_from is not None:
        sft_dir = Path(sft_from)
        done = json.loads((sft_dir / "sft_summary.json").read_text())
        kept = of_types(train, cfg.sft.expression_types, "sft.expression_types")
        want = {"num_samples": len(kept), "steps": cfg.sft.max_steps, "noise": cfg.sft.target_noise,
                "descriptions": cfg.sft.descriptions, "expression_types": list(cfg.sft.expression_types)}
        default = {"descriptions": "literal", "expression_types": []}
        got = {k: done.get(k, default.get(k)) for k in want}
        if got != want:
            raise ValueError(f"{sft_dir} was trained with {got}, this run needs {want}: train SFT again")
    else:
        model, processor = load_thinker(base_path)
        sft = train_sft(model, processor, train, cfg, out / "sft", seed=seed)
        sft_dir = Path(sft["out_dir"])
    times["sft"] = time.perf_counter() - t0
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
    target = [s for s in heldout if not s.is_null]
    record = {"seed": seed, "use_perception": cfg.system1.use_perception, "heldout": len(target),
              "heldout_null": len(heldout) - len(target), "heldout_clips": len({s.frame_dir for s in target}),
              "validation": validation,
              "best_fixed": {"by_size": {k: list(v) for k, v in by_size.items()}, "any_size": list(any_size),
                             "chosen_on": f"{len(train)} training samples",
                             "compared": "on each held-out sample, the fixed set of as many frames as the answer's"},
              "results": results,
              "seconds": {k: round(v, 1) for k, v in times.items()}, "total_seconds": round(sum(times.values()), 1),
              "config": {"sft_steps": cfg.sft.max_steps, "grpo_steps": cfg.grpo.max_steps,
                         "prompts_per_step": cfg.grpo.per_device_prompts, "G": cfg.grpo.num_generations,
                         "lr": cfg.grpo.learning_rate, "beta": cfg.grpo.beta, "reward_set": cfg.rewards.reward_set},
              "settings": {k: v for k, v in to_dict(cfg).items() if k in ("system1", "rewards", "sft", "grpo")}}
    (out / "result.json").write_text(json.dumps(record, indent=2))
    return record


TYPES = ("referring", "reasoning", "audio-visual", "null")
"""OmniSynth's expression types, in the order `summarise` reports them."""


def paired_gain(records: list[dict[str, Any]], a: str, b: str, types: tuple[str, ...], n_boot: int = 2000,
                seed: int = 0) -> dict[str, float] | None:
    """``a − b`` J&F in points on the samples of ``types``: the mean of the per-sample differences
    pooled across seeds, with a 95 % bootstrap interval over those (seed, sample) pairs."""
    import numpy as np

    from omni_r1_lite.stats import bootstrap_interval, paired_points

    diffs = []
    for r in records:  # each seed's records pair among themselves
        ra, rb = r["results"].get(a, {}).get("records"), r["results"].get(b, {}).get("records")
        if ra and rb:
            diffs += paired_points(ra, rb, lambda x: x["type"] in types)
    if not diffs:
        return None

    d = np.asarray(diffs)
    lo, hi = bootstrap_interval(d, n_boot=n_boot, seed=seed)
    return {"value": float(d.mean()), "low": float(lo), "high": float(hi), "n": len(d)}


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over seeds (keyframe quality, J&F, format, J&F per type, the share of null clips left
    empty, quality minus the best fixed keyframe set chosen on the training samples), the gaps the
    CPU targets are stated in (GRPO − SFT, GRPO − continue-SFT), and GRPO − SFT per type group with
    bootstrap intervals (`paired_gain`)."""
    import numpy as np

    methods = sorted({m for r in records for m in r["results"]})

    def avg(m, key):
        vals = [r["results"][m].get(key) for r in records if m in r["results"]]
        vals = [v for v in vals if v is not None]
        return float(np.mean(vals)) if vals else None

    mean = {}
    for m in methods:
        mean[m] = {k: avg(m, k) for k in ("quality", "jf", "format_ok", "null_empty", "quality_minus_best_fixed",
                                          "quality_minus_best_fixed_any", "keyframes_per_answer",
                                          "distinct_keyframe_sets", "most_frequent_set_share")}
        by_type = {}
        for t in TYPES:
            vals = [r["results"][m].get("jf_by_type", {}).get(t) for r in records if m in r["results"]]
            vals = [v for v in vals if v is not None]
            if vals:
                by_type[t] = float(np.mean(vals))
        mean[m]["jf_by_type"] = by_type
    fixed = [r["best_fixed"] for r in records if "best_fixed" in r]
    out: dict[str, Any] = {"seeds": [r["seed"] for r in records], "mean": mean,
                           "per_seed": [{m: {k: v for k, v in r["results"][m].items() if k != "records"}
                                         for m in r["results"]} for r in records],
                           "seconds_per_seed": [r["total_seconds"] for r in records]}
    if fixed:
        out["best_fixed"] = fixed
    if "grpo" in mean and "sft" in mean:
        out["quality_gain_vs_sft"] = mean["grpo"]["quality"] - mean["sft"]["quality"]
        out["jf_gain_vs_sft"] = mean["grpo"]["jf"] - mean["sft"]["jf"]
        gaps = {"reasoning_av": paired_gain(records, "grpo", "sft", ("reasoning", "audio-visual")),
                "referring": paired_gain(records, "grpo", "sft", ("referring",)),
                "null": paired_gain(records, "grpo", "sft", ("null",))}
        out["grpo_minus_sft"] = {k: v for k, v in gaps.items() if v is not None}
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


@dataclasses.dataclass
class MechanismTarget:
    """What RL should add on the embedded default (issue 19), each criterion on its own:

    - ``reasoning_av``: GRPO − SFT ≥ ``min_reasoning_av`` J&F points on reasoning and audio-visual
      expressions together, the 95 % interval above zero;
    - ``referring``: GRPO's referring J&F ≥ SFT's − ``max_referring_loss`` points;
    - ``per_clip_keyframes``: GRPO's keyframe quality ≥ the best fixed set's + ``min_over_fixed`` (on
      each held-out sample, the fixed set of as many frames as GRPO chose there, each size's set chosen
      on the training samples);
    - ``null``: GRPO leaves at least as many null clips empty as SFT.

    A criterion whose figures the summary lacks is ``None`` (not measured), not ``False``: a
    ``--validation`` run has no null clips (OmniSynth's training split holds none).
    """

    min_reasoning_av: float = 5.0
    max_referring_loss: float = 1.0
    min_over_fixed: float = 0.05

    def check(self, summary: dict[str, Any]) -> dict[str, bool | None]:
        mean, gap = summary.get("mean", {}), summary.get("grpo_minus_sft", {})
        g, s = mean.get("grpo", {}), mean.get("sft", {})
        rav = gap.get("reasoning_av")
        ref_g, ref_s = g.get("jf_by_type", {}).get("referring"), s.get("jf_by_type", {}).get("referring")
        null_g, null_s = g.get("null_empty"), s.get("null_empty")
        over_fixed = g.get("quality_minus_best_fixed")

        def measured(ok, *figures):
            return None if any(f is None for f in figures) else bool(ok())

        return {
            "reasoning_av": measured(lambda: rav["value"] >= self.min_reasoning_av and rav["low"] > 0, rav),
            "referring": measured(lambda: 100 * (ref_g - ref_s) >= -self.max_referring_loss, ref_g, ref_s),
            "per_clip_keyframes": measured(lambda: over_fixed >= self.min_over_fixed, over_fixed),
            "null": measured(lambda: null_g >= null_s, null_g, null_s),
        }
