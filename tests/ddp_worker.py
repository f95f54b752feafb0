"""One GRPO run of the tiny thinker for ``tests/test_ddp.py``: plain ``python`` (one process) or
under ``accelerate launch --config_file configs/accelerate/ddp_cpu.yaml --num_processes 2``.

    python tests/ddp_worker.py --thinker DIR --data DIR --out DIR --prompts P --steps N
        [--kill-at K] [--unequal] [--early-eos] [--lockstep]

The rewards are a dense function of the completion's length (a random policy gets advantages);
``--unequal``: process 0 does three times the System-2 work of the others (extra forward passes
of the frozen model, as grounding does, and a pause); ``--early-eos``: process 0's completions
end at their first token, the others' run on; ``--lockstep`` turns on the collective decoding loop
(on by itself under sharded weights). Each process writes ``<out>/rank-<i>.json``: its forward-pass count and the final LR.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Killed(Exception):
    pass


def main() -> int:
    import torch

    import omni_r1_lite.rewards as rewards_mod
    from omni_r1_lite.config import apply_overrides, get_preset
    from omni_r1_lite.data.sources import load_samples
    from omni_r1_lite.grpo.trainer import GRPOTrainer
    from omni_r1_lite.models import adapters_disabled, load_thinker, suppress_token_ids
    from omni_r1_lite.rewards import RewardBreakdown
    from omni_r1_lite.systems import generation as rollout
    from omni_r1_lite.systems.pipeline import Pipeline
    from omni_r1_lite.systems.reasoner import GlobalReasoner
    from omni_r1_lite.systems.standin import OmniSynthStandIn

    ap = argparse.ArgumentParser()
    for name in ("--thinker", "--data", "--out"):
        ap.add_argument(name, required=True)
    ap.add_argument("--prompts", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--kill-at", type=int, default=0)
    ap.add_argument("--loss-type", default="grpo")
    ap.add_argument("--unequal", action="store_true")
    ap.add_argument("--early-eos", action="store_true")
    ap.add_argument("--lockstep", action="store_true")
    ap.add_argument("--set", nargs="*", default=[], help="more config overrides")
    a = ap.parse_args()
    torch.set_num_threads(1)
    rank = int(os.environ.get("RANK", "0"))

    cfg = apply_overrides(get_preset("smoke"), [
        "grpo.num_generations=3", f"grpo.per_device_prompts={a.prompts}", "grpo.max_completion_length=12",
        "grpo.lr_scheduler_type=cosine", "grpo.save_steps=2", f"grpo.max_steps={a.steps}",
        f"grpo.loss_type={a.loss_type}", *a.set])
    samples = load_samples(cfg, a.data, "train")
    model, proc = load_thinker(a.thinker)

    def scores(pipeline, sample, completions, cfg_r, finished=None, lengths=None, reward_set=None):
        rollouts = pipeline.run(sample, completions)
        if a.unequal and rank == 0:  # three times the System-2 work of the others
            with adapters_disabled(trainer.policy), torch.inference_mode():
                ids = torch.tensor([[proc.tokenizer.pad_token_id or 0] * 8])
                for _ in range(2 * len(completions)):
                    trainer.policy(input_ids=ids)
            time.sleep(0.5)
        return rollouts, [RewardBreakdown({"len": float(len(c))}, {"len": len(c) / 10}, len(c) / 10, True, False)
                          for c in completions]

    rewards_mod.score_completions = scores
    if a.early_eos and rank == 0:  # process 0's completions all end at their first token
        plain = rollout._filter_logits

        def eos_first(logits, *args):
            out = plain(logits, *args).clone()
            out[:, trainer.reasoner.eos_id] = 1e4
            return out

        rollout._filter_logits = eos_first
    sup = suppress_token_ids(proc.tokenizer)
    trainer = GRPOTrainer(cfg, model, proc, lambda m: GlobalReasoner(m, proc, cfg.system1, sup),
                          Pipeline(OmniSynthStandIn(), max_frames=8), samples, a.out, seed=0, progress=False)
    if a.lockstep:
        trainer.lockstep = True
    forwards = [0]
    trainer.policy.register_forward_pre_hook(lambda *_: forwards.__setitem__(0, forwards[0] + 1))

    def kill(rec):
        if a.kill_at and rec.step == a.kill_at:
            raise Killed

    try:
        trainer.train(callback=kill)
        status = 0
    except Killed:
        status = 3
    Path(a.out, f"rank-{rank}.json").write_text(json.dumps(
        {"rank": rank, "processes": trainer.accelerator.num_processes, "forwards": forwards[0],
         "lr": trainer.scheduler.get_last_lr()[0], "status": status,
         "trainable_sum": float(sum(p.detach().double().abs().sum() for p in trainer.policy.parameters()
                                    if p.requires_grad))}))
    return status


if __name__ == "__main__":
    sys.exit(main())
