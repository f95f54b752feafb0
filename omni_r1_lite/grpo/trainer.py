"""The kit's GRPO trainer for the omni policy, on `accelerate` (one process on a CPU, DDP / FSDP /
DeepSpeed with ``accelerate launch --config_file configs/accelerate/...`` and no code change).

One optimizer step (``gradient_accumulation_steps`` micro-steps of ``per_device_prompts`` samples
on each process, G completions each):

1. **rollouts** — each prompt (frames, audio, text) is encoded once and G completions sampled
   from its repeated cache (`omni_r1_lite.systems.generation`);
2. **System 2 and rewards** — the group goes through the caching `Pipeline` and is scored with the
   reward set of the config (`omni_r1_lite.rewards`); advantages are group-normalised;
3. **update** — per-token log-probabilities of the completions (the prompt and its video and audio
   tensors run in the same forward), the reference's with LoRA adapters disabled (the base model:
   one copy of the weights for policy, reference and grounder), the clipped loss with the k3 KL
   term (`omni_r1_lite.grpo.loss`), backward, gradient clipping, AdamW on the LoRA weights.

Only LoRA weights train, on the language model's linear layers (the audio and vision towers
stay frozen). Checkpoints (``checkpoint-<step>/``: PEFT adapter, optimizer, scheduler, step, random
generators; JSON and safetensors, never pickle: `omni_r1_lite.grpo.state`) let a killed run resume
and end with the same adapter as an uninterrupted one, bit for bit: the samples and the sampling
noise of step ``s`` are functions of ``(seed, s)`` only, and so is torch's global generator during
the step (dropout); the checkpoint also restores every generator's state. A
folder a kill left half-written or half-deleted is skipped; the newest complete checkpoint resumes. A checkpoint records a
fingerprint of the settings and the start model (`run_fingerprint`): one left by another run
(say, before the SFT warm start was retrained) is moved to ``stale-<n>/``, never resumed. The log is JSONL
(``train_log.jsonl``): reward components, KL, loss, completion lengths, seconds per phase.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from omni_r1_lite.config import KitConfig
from omni_r1_lite.data.schema import Sample, of_types
from omni_r1_lite.grpo.loss import grpo_loss
from omni_r1_lite.grpo.state import (
    CheckpointError,
    checkpoint_status,
    checkpoint_step,
    read_meta,
    read_state,
    restore_rng,
    write_rng,
    write_state,
)
from omni_r1_lite.systems.generation import (
    completion_logps,
    encode_prompts,
    make_prompt_batch,
    naive_completion_logps,
    sample_group,
)

LOG_NAME = "train_log.jsonl"


def add_lora(model, cfg: KitConfig, seed: int = 0):
    """Wrap a thinker with LoRA on the language model's linear layers (``cfg.grpo`` sizes).

    The LoRA initialisation is seeded (``seed``), so two runs with the same seed start equal."""
    from peft import LoraConfig, PeftModel, get_peft_model

    from omni_r1_lite.models import lora_target_regex

    if isinstance(model, PeftModel):  # e.g. a LoRA SFT warm start: keep training its adapter
        for name, p in model.named_parameters():
            p.requires_grad_("lora_" in name)
        return model
    g = cfg.grpo
    modules = "all-linear" if g.lora_target in ("language-model-linear", "all-linear") else g.lora_target.split(",")
    lora = LoraConfig(r=g.lora_r, lora_alpha=g.lora_alpha, lora_dropout=g.lora_dropout,
                      target_modules=lora_target_regex(modules), bias="none")
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        # peft asks the model the old name (is_gradient_checkpointing); transformers 5 warns about it
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        torch.manual_seed(seed)
        return get_peft_model(model, lora)


def sharded_weights(accelerator) -> bool:
    """Whether the policy's weights are sharded over processes (FSDP, DeepSpeed ZeRO-3), so that
    every forward pass is collective and all processes must run the same number of them."""
    kind = str(getattr(accelerator, "distributed_type", "")).upper()
    if "FSDP" in kind:
        return True
    ds = getattr(accelerator.state, "deepspeed_plugin", None)
    return "DEEPSPEED" in kind and ds is not None and int(getattr(ds, "zero_stage", 0) or 0) == 3


def grounds_with(pipeline, model) -> bool:
    """Whether the pipeline's System-2 grounder runs ``model``'s own weights (the paper's frozen
    copy is the policy with its adapters disabled)."""
    grounder = getattr(getattr(pipeline, "detail", None), "grounder", None)
    other = getattr(grounder, "model", None)
    if other is None or not hasattr(other, "parameters"):
        return False
    mine = {id(p) for p in model.parameters()}
    return any(id(p) in mine for p in other.parameters())


def mixed_precision(cfg: KitConfig) -> str:
    """Accelerate's precision for the preset: fp32 ('no') on CPU, bf16 (or fp16) on GPU when 'auto'."""
    mp = cfg.grpo.mixed_precision
    if not torch.cuda.is_available():
        return "no"
    if mp == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return mp


def run_fingerprint(cfg: KitConfig, model, seed: int) -> str:
    """What a checkpoint must match to be resumed: the settings that shape the run and the start model.

    The GRPO, reward and System-1 settings (not ``max_steps`` or ``save_steps``: a run may be
    continued to more steps), the dataset, the seed, a separate System-2 grounder when there is one, and a sample of the starting weights (the
    first 4096 values of the first, middle and last non-LoRA tensors; cheap even for a 7B model),
    so that a checkpoint left by a run from *another* warm start is never resumed by mistake.
    """
    import hashlib

    from omni_r1_lite.config import EXTERNAL_GROUNDERS, to_dict

    d = to_dict(cfg)
    grpo = {k: v for k, v in d["grpo"].items() if k not in ("max_steps", "save_steps")}
    if not grpo.get("type_shares"):  # added later: absent at its default, so earlier checkpoints still resume
        grpo.pop("type_shares", None)
    if not grpo.get("sft_anchor_weight"):  # the same (the anchor's type and batch only matter when it is on)
        for k in ("sft_anchor_weight", "sft_anchor_types", "sft_anchor_batch"):
            grpo.pop(k, None)
    else:  # the anchor's targets follow the SFT recipe
        grpo["sft_anchor_recipe"] = {k: d["sft"][k] for k in ("target_noise", "descriptions")}
    fp = {"grpo": grpo, "rewards": d["rewards"], "system1": d["system1"], "dataset": d["data"]["dataset"],
          "seed": seed}
    if cfg.system2.backend in EXTERNAL_GROUNDERS:
        # the rewards come from another grounder; only then, so that earlier fingerprints stay valid
        fp["system2"] = {k: d["system2"][k] for k in ("backend", "grounder")}
    blob = json.dumps(fp, sort_keys=True)
    h = hashlib.sha256(blob.encode())
    params = [p for n, p in model.named_parameters() if "lora_" not in n]
    for p in (params[0], params[len(params) // 2], params[-1]) if params else ():
        h.update(p.detach().reshape(-1)[:4096].float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def _step_seed(seed: int, step: int, salt: int = 0) -> int:
    return int(np.random.SeedSequence([seed, step, salt]).generate_state(1)[0])


@dataclasses.dataclass
class StepRecord:
    """What one optimizer step logged (one JSONL line)."""

    step: int
    reward: float
    reward_std: float
    components: dict[str, float]
    format_ok: float
    frac_zero_std_groups: float
    loss: float
    kl: float
    clip_ratio: float
    completion_length: float
    finished: float
    lr: float
    seconds: dict[str, float]
    sft_anchor: float | None = None  # the SFT anchor's cross-entropy (grpo.sft_anchor_weight > 0)


class GRPOTrainer:
    """GRPO on a thinker (see the module docstring).

    Args:
        cfg: the preset (``cfg.grpo`` hyper-parameters in TRL's names, ``cfg.rewards``).
        model, processor: the policy's base thinker (LoRA is added here unless already present).
        reasoner_factory: ``model -> GlobalReasoner`` (builds prompts from samples).
        pipeline: the caching `Pipeline` with System 2.
        train_samples: the training split.
        out_dir: where checkpoints, the log and the final adapter go.
        seed: data order and sampling noise.
    """

    def __init__(self, cfg: KitConfig, model, processor, reasoner_factory: Callable[[Any], Any], pipeline,
                 train_samples: Sequence[Sample], out_dir: str | Path, seed: int = 0, accelerator=None,
                 progress: bool = True):
        from accelerate import Accelerator

        self.cfg, self.g = cfg, cfg.grpo
        self.seed = seed
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.samples = list(train_samples)
        if not self.samples:
            raise ValueError("no training samples")
        self.samples = of_types(self.samples, self.g.expression_types, "grpo.expression_types")
        self.weights = None
        if self.g.type_shares:
            types = self.g.expression_types
            if len(self.g.type_shares) != len(types) or min(self.g.type_shares) < 0 or sum(self.g.type_shares) <= 0:
                raise ValueError(f"grpo.type_shares={self.g.type_shares} needs one share >= 0 per type of "
                                 f"grpo.expression_types={types}")
            count = {t: sum(s.expression_type == t for s in self.samples) for t in types}
            share = dict(zip(types, self.g.type_shares))
            w = np.array([share[s.expression_type] / count[s.expression_type] for s in self.samples])
            self.weights = w / w.sum()
        self.pipeline = pipeline
        self.progress = progress
        self.accelerator = accelerator or Accelerator(
            mixed_precision=mixed_precision(cfg), gradient_accumulation_steps=self.g.gradient_accumulation_steps,
            cpu=not torch.cuda.is_available())
        processor.tokenizer.padding_side = "left"
        self.processor = processor
        self.fingerprint = run_fingerprint(cfg, model, seed)
        model = add_lora(model, cfg, seed)
        if self.g.gradient_checkpointing:  # the preset decides, on any device (the CPU presets keep it off)
            # transformers 5.x renamed gradient_checkpointing_* to activation_checkpointing_* (old names warn)
            if hasattr(model, "activation_checkpointing_enable"):
                model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
            else:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.enable_input_require_grads()
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("no trainable parameters after adding LoRA")
        opt = torch.optim.AdamW(params, lr=self.g.learning_rate, weight_decay=self.g.weight_decay)
        from transformers import get_scheduler

        sched = get_scheduler(self.g.lr_scheduler_type, opt, num_warmup_steps=self.g.warmup_steps,
                              num_training_steps=max(1, self.g.max_steps))
        ds = getattr(self.accelerator.state, "deepspeed_plugin", None)
        if ds is not None:  # no DataLoader is prepared: tell DeepSpeed the micro-batch itself
            ds.deepspeed_config["train_micro_batch_size_per_gpu"] = self.g.per_device_prompts * self.g.num_generations
        self.lockstep = sharded_weights(self.accelerator)  # every forward pass collective: decode in lockstep
        if self.lockstep and grounds_with(pipeline, model):
            raise ValueError(
                "System 2 grounds with the policy's own (frozen) thinker, and this launch shards its weights "
                f"({self.accelerator.distributed_type}): every forward pass is then collective, but each process "
                "grounds a different number of keyframes (its own samples, its own cache hits), which would hang. "
                "Launch with configs/accelerate/ddp.yaml or deepspeed_zero2.yaml (a LoRA preset fits one GPU), "
                "or give System 2 a grounder of its own")
        # the scheduler is stepped here once per optimizer step, not by accelerate: its wrapper
        # steps it once per *process* per optimizer step, which would run the schedule N times too
        # fast on N processes (the kit's max_steps count optimizer steps, whatever N is)
        self.model, self.optimizer = self.accelerator.prepare(model, opt)
        self.scheduler = sched
        self.policy = self.accelerator.unwrap_model(self.model)
        self.reasoner = reasoner_factory(self.policy)
        self.step = 0
        self.anchor = self._anchor(train_samples) if self.g.sft_anchor_weight else None

    # -- data ----------------------------------------------------------------------------------

    def _share(self, stream: int, step: int, population: int, per_process: int, p=None) -> np.ndarray:
        """This process's ``per_process`` indices of one draw for every process from ``range(population)``:
        a function of the seed, the step and the stream (without replacement unless the draw is
        larger than the population, or weighted by ``p``: a type may be small)."""
        acc = self.accelerator
        rng = np.random.default_rng(_step_seed(self.seed, step, stream))
        n = per_process * acc.num_processes
        idx = rng.choice(population, size=n, replace=p is not None or n > population, p=p)
        return idx[acc.process_index * per_process:(acc.process_index + 1) * per_process]

    def batch_samples(self, step: int, micro: int) -> list[Sample]:
        """The samples of (optimizer step, micro-step) on this process (by type shares when set)."""
        idx = self._share(1 + micro, step, len(self.samples), self.g.per_device_prompts, self.weights)
        return [self.samples[i] for i in idx]

    def encode(self, samples: Sequence[Sample]):
        batch = make_prompt_batch(self.policy, dict(encode_prompts(self.reasoner, samples)))
        return batch.to(self.accelerator.device)

    def _anchor(self, train_samples: Sequence[Sample]):
        """The SFT anchor: ``(collator, samples, targets)`` for `anchor_loss` (``grpo.sft_anchor_*``).

        Its samples are the training samples of ``grpo.sft_anchor_types`` (whatever
        ``grpo.expression_types`` keeps for the prompts), its targets `sft_targets` with the SFT
        recipe (``sft.target_noise``, ``sft.descriptions``) drawn once from the run's seed."""
        from omni_r1_lite.sft import MultimodalCollator, default_cache_size, sft_targets

        if self.g.sft_anchor_weight < 0 or self.g.sft_anchor_batch < 1:
            raise ValueError(f"grpo.sft_anchor_weight={self.g.sft_anchor_weight} must be >= 0 and "
                             f"grpo.sft_anchor_batch={self.g.sft_anchor_batch} >= 1")
        samples = of_types(list(train_samples), self.g.sft_anchor_types, "grpo.sft_anchor_types")
        targets = sft_targets(samples, self.reasoner, self.cfg.sft.target_noise, seed=self.seed,
                              descriptions=self.cfg.sft.descriptions)
        return MultimodalCollator(self.reasoner, samples, cache_size=default_cache_size(len(samples))), samples, targets

    def anchor_loss(self, step: int, micro: int) -> torch.Tensor:
        """The SFT anchor's cross-entropy on ``grpo.sft_anchor_batch`` samples of (step, micro).

        Which samples is a function of the seed, the step and the micro-step (one draw for every
        process, this process's share of it), like `batch_samples`."""
        collator, samples, targets = self.anchor
        mine = self._share(200 + micro, step, len(samples), self.g.sft_anchor_batch)
        batch = collator([{"index": int(i), "target": targets[i]} for i in mine])
        batch = {k: v.to(self.accelerator.device) if hasattr(v, "to") else v for k, v in batch.items()}
        return self.model(**batch).loss

    # -- one optimizer step ----------------------------------------------------------------------

    def _logps(self, model, batch, ids, mask):
        g = self.g.num_generations
        ckpt = getattr(self.policy, "is_activation_checkpointing", None)
        if ckpt is None:  # the old name (a wrapper without the new one): asked quietly
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                ckpt = getattr(self.policy, "is_gradient_checkpointing", False)
        shared = self.g.share_prompt and not ckpt
        fn = completion_logps if shared else naive_completion_logps
        return fn(model, batch, ids, mask, g, temperature=self.g.temperature)

    def rollout(self, samples: Sequence[Sample], step: int, micro: int = 0):
        """Phase 1: encode the prompts (each once) and sample G completions per prompt.

        Returns ``(batch, out, completions)``: the `PromptBatch`, the `GroupSample` and the decoded
        completions (prompt-major). The sampling noise is a function of ``(seed, step, micro)``."""
        g, acc = self.g, self.accelerator
        batch = self.encode(samples)
        # the noise of the whole step's batch (all processes), this process's rows of it: the same
        # completions however the prompts are spread over processes; on the device it is used on
        gen = torch.Generator(device=acc.device).manual_seed(_step_seed(self.seed, step, 100 + micro))
        rows = batch.size * g.num_generations
        self.policy.eval()
        out = sample_group(self.policy, batch, g.num_generations, g.max_completion_length,
                           self.reasoner.eos_id, self.reasoner.pad_id, temperature=g.temperature,
                           top_p=g.top_p, suppress_tokens=self.reasoner.suppress_tokens, generator=gen,
                           noise_rows=(acc.process_index * rows, acc.num_processes * rows),
                           all_finished=self._all_finished if self.lockstep else None)
        return batch, out, self.reasoner.decode(out.ids)

    def _all_finished(self, local: bool) -> bool:
        """Whether every process's rollouts have ended (one all-reduce; see `sample_group`)."""
        flag = torch.tensor([0.0 if local else 1.0], device=self.accelerator.device)
        return float(self.accelerator.reduce(flag, reduction="sum")) == 0.0

    def score(self, samples: Sequence[Sample], completions: Sequence[Any]):
        """Phase 2: System 2 and the rewards of each group; ``(rewards float[P, G], breakdowns)``."""
        from omni_r1_lite.rewards import score_completions

        g = self.g.num_generations
        rewards, breakdowns = [], []
        for i, s in enumerate(samples):
            group = completions[i * g:(i + 1) * g]
            _, br = score_completions(self.pipeline, s, [c.text for c in group], self.cfg.rewards,
                                      finished=[c.finished for c in group], lengths=[c.num_tokens for c in group])
            rewards.append([b.total for b in br])
            breakdowns.append(br)
        return np.array(rewards, dtype=np.float64).reshape(len(samples), g), breakdowns

    def update(self, batch, out, rewards: np.ndarray, step: int = 0, micro: int = 0):
        """Phase 3: group-normalised advantages, the reference's and the policy's log-probabilities,
        the clipped loss with the KL term, backward and (when the accumulation is complete) the
        optimizer step. Returns the `grpo_loss` result."""
        from omni_r1_lite.models import adapters_disabled
        from omni_r1_lite.rewards import group_advantages

        g = self.g
        adv = torch.tensor(group_advantages(rewards, scale=g.scale_rewards).reshape(-1), dtype=torch.float32,
                           device=self.accelerator.device)
        ids, mask = out.ids.to(self.accelerator.device), out.mask.to(self.accelerator.device)
        ref = None
        if g.beta != 0.0:
            with torch.no_grad(), adapters_disabled(self.policy):
                ref = self._logps(self.policy, batch, ids, mask)
        acc = self.accelerator
        items = None
        if g.loss_type == "dapo" and acc.num_processes > 1:
            # token-level normalisation over every process's tokens: the gradient all-reduce averages
            # over processes, so each divides by (all tokens / processes)
            total = acc.reduce(mask.sum().to(torch.float32).reshape(1), reduction="sum")
            items = float(total) / acc.num_processes
        self.model.train()
        with acc.accumulate(self.model):
            anchor = None
            if self.anchor is not None:  # its own backward, gradients kept local until the GRPO backward syncs them
                with acc.no_sync(self.model):
                    anchor = self.anchor_loss(step, micro)
                    acc.backward(g.sft_anchor_weight * anchor)
            logps = self._logps(self.model, batch, ids, mask)
            res = grpo_loss(logps, logps.detach(), ref, adv, mask, beta=g.beta, epsilon=g.epsilon,
                            loss_type=g.loss_type, max_completion_length=g.max_completion_length,
                            num_items_in_batch=items)
            acc.backward(res.loss)
            res.anchor_loss = None if anchor is None else float(anchor.detach())
            if acc.sync_gradients and g.max_grad_norm:
                acc.clip_grad_norm_(self.model.parameters(), g.max_grad_norm)
            self.optimizer.step()
            if acc.sync_gradients and not getattr(self.optimizer, "step_was_skipped", False):
                self.scheduler.step()  # once per optimizer step (not for a step fp16 overflow skipped)
            self.optimizer.zero_grad()
        return res

    def train_step(self, step: int) -> StepRecord:
        """One optimizer step: `rollout`, `score` and `update` for each micro-step."""
        g = self.g
        times = {"generation": 0.0, "system2_rewards": 0.0, "update": 0.0}
        totals, comps, fmt, lengths, fins, zero_std, losses, kls, clips = [], {}, [], [], [], [], [], [], []
        anchors: list[float] = []  # this process's (the log's anchor figure is process 0's)
        for micro in range(g.gradient_accumulation_steps):
            samples = self.batch_samples(step, micro)
            t0 = time.perf_counter()
            batch, out, completions = self.rollout(samples, step, micro)
            times["generation"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            r, breakdowns = self.score(samples, completions)
            for br in breakdowns:
                for b in br:
                    for k, v in b.by_group().items():
                        comps.setdefault(k, []).append(v)
                    fmt.append(float(b.format_ok))
            totals.extend(r.reshape(-1).tolist())
            zero_std.extend((r.std(axis=1) < 1e-8).tolist())
            lengths.extend(c.num_tokens for c in completions)
            fins.extend(c.finished for c in completions)
            times["system2_rewards"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            res = self.update(batch, out, r, step, micro)
            losses.append(res.policy_loss)
            kls.append(res.kl)
            clips.append(res.clip_ratio)
            if res.anchor_loss is not None:
                anchors.append(res.anchor_loss)
            times["update"] += time.perf_counter() - t0
        if self.accelerator.num_processes > 1:  # the log reports the whole step: every process's groups
            from accelerate.utils import gather_object

            lists = (totals, fmt, zero_std, lengths, fins, losses, kls, clips)
            parts = gather_object([(lists, comps)])  # one (lists, comps) per process
            totals, fmt, zero_std, lengths, fins, losses, kls, clips = (
                [v for theirs, _ in parts for v in theirs[i]] for i in range(len(lists)))
            comps = {}
            for _, theirs in parts:
                for k, v in theirs.items():
                    comps.setdefault(k, []).extend(v)
        return StepRecord(
            step=step, reward=float(np.mean(totals)), reward_std=float(np.std(totals)),
            components={k: float(np.mean(v)) for k, v in comps.items()}, format_ok=float(np.mean(fmt)),
            frac_zero_std_groups=float(np.mean(zero_std)), loss=float(np.mean(losses)), kl=float(np.mean(kls)),
            clip_ratio=float(np.mean(clips)), completion_length=float(np.mean(lengths)),
            finished=float(np.mean(fins)), lr=float(self.scheduler.get_last_lr()[0]),
            seconds={k: round(v, 4) for k, v in times.items()},
            sft_anchor=float(np.mean(anchors)) if anchors else None)

    # -- the loop, checkpoints, resume ------------------------------------------------------------

    def _checkpoint_dirs(self) -> list[Path]:
        """Every ``checkpoint-<step>`` folder, complete or not, by step (other names are ignored)."""
        found = [(checkpoint_step(p), p) for p in self.out_dir.glob("checkpoint-*") if p.is_dir()]
        return [p for step, p in sorted((s, p) for s, p in found if s is not None)]

    def checkpoints(self) -> list[Path]:
        """The complete checkpoints, oldest first (a folder a kill left half-written or half-deleted
        is not one: `omni_r1_lite.grpo.state.checkpoint_status`)."""
        return [p for p in self._checkpoint_dirs() if checkpoint_status(p) == "complete"]

    def save_checkpoint(self, step: int) -> Path:
        """``checkpoint-<step>/``: the PEFT adapter, optimizer and scheduler states, the step, every
        process's random generators (`omni_r1_lite.grpo.state`: JSON and safetensors, no pickle)."""
        acc = self.accelerator
        path = self.out_dir / f"checkpoint-{step}"
        tmp = self.out_dir / f".tmp-checkpoint-{step}"
        if acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        acc.wait_for_everyone()
        write_rng(tmp, acc.process_index)
        if acc.is_main_process:
            self.policy.save_pretrained(tmp / "adapter")
            write_state(tmp, {"step": step, "seed": self.seed, "fingerprint": self.fingerprint},
                        self.optimizer.state_dict(), self.scheduler.state_dict())
        acc.wait_for_everyone()
        if acc.is_main_process:
            _remove(path)
            tmp.rename(path)  # a checkpoint appears whole or not at all
        acc.wait_for_everyone()
        return path

    def load_checkpoint(self, path: Path) -> int:
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        meta, opt_state, sched_state = read_state(path)
        weights = load_file(str(path / "adapter" / "adapter_model.safetensors"))
        set_peft_model_state_dict(self.policy, weights)
        self.optimizer.load_state_dict(opt_state)
        self.scheduler.load_state_dict(sched_state)
        if not restore_rng(path, self.accelerator.process_index):
            import warnings

            warnings.warn(f"{path} has no random generator state for process {self.accelerator.process_index}: "
                          "the run resumes, but steps that draw from them (dropout) will differ from an "
                          "uninterrupted run", stacklevel=2)
        return int(meta["step"])

    def _checkpoint_fingerprint(self, path: Path) -> str | None:
        try:
            return read_meta(path).get("fingerprint")
        except CheckpointError:  # an unreadable state: not this run's
            return None

    def set_aside_stale(self) -> Path | None:
        """Move checkpoints (and the log) that another run left in ``out_dir`` into ``stale-<n>/``.

        A checkpoint is this run's when its fingerprint (`run_fingerprint`) matches; anything else
        (another warm start, other settings, a checkpoint from an older kit, whose pickled state is
        never loaded) is kept, not resumed. An *incomplete* checkpoint (a kill during a save or a
        rotation) is no one's: it is skipped, with a warning, and training resumes from the newest
        complete one. Returns the folder they went to, or None when there was nothing stale.
        """
        import warnings

        dirs = self._checkpoint_dirs()
        status = {p: checkpoint_status(p) for p in dirs}
        incomplete = [p.name for p in dirs if status[p] == "incomplete"]
        if incomplete and self.accelerator.is_main_process:
            warnings.warn(f"{self.out_dir}: incomplete checkpoint(s) {', '.join(incomplete)} skipped "
                          "(left by an interrupted save or clean-up)", stacklevel=2)
        judged = [p for p in dirs if status[p] != "incomplete"]
        if not judged or all(status[c] == "complete" and self._checkpoint_fingerprint(c) == self.fingerprint
                             for c in judged):
            return None
        n = 1
        while (self.out_dir / f"stale-{n}").exists():
            n += 1
        dest = self.out_dir / f"stale-{n}"
        if self.accelerator.is_main_process:
            dest.mkdir()
            for item in [*judged, self.out_dir / LOG_NAME, self.out_dir / "adapter"]:
                if item.exists():
                    shutil.move(str(item), str(dest / item.name))
            warnings.warn(f"{self.out_dir} held checkpoints of another run (other start model or settings, "
                          f"or an earlier kit's format): moved to {dest}; training starts from step 0",
                          stacklevel=2)
        self.accelerator.wait_for_everyone()
        return dest

    def _rotate(self) -> None:
        """Remove every checkpoint folder but the newest complete one (each renamed first, so that a
        kill in the middle leaves a whole checkpoint or none, never a half-deleted one by that name)."""
        keep = self.checkpoints()[-1:]
        for old in self._checkpoint_dirs():
            if old not in keep:
                _remove(old)

    def _trim_log(self, last_step: int) -> None:
        """Drop log lines past ``last_step``: on the main process only (every process trimming the one
        file raced: a process reading it while another rewrote it kept nothing, and lost the lines of
        the resumed steps), written to a temporary file and renamed (a kill leaves the old or the new)."""
        log = self.out_dir / LOG_NAME
        if self.accelerator.is_main_process and log.exists():
            self._trim_log_file(log, last_step)
        self.accelerator.wait_for_everyone()

    @staticmethod
    def _trim_log_file(log: Path, last_step: int) -> None:
        keep = []
        for line in log.read_text().splitlines():
            try:
                if json.loads(line)["step"] <= last_step:
                    keep.append(line)
            except (ValueError, KeyError):  # a line cut by a kill
                break
        tmp = log.with_name(log.name + ".tmp")
        tmp.write_text("".join(k + "\n" for k in keep))
        os.replace(tmp, log)

    def train(self, max_steps: int | None = None, resume: bool = True,
              callback: Callable[[StepRecord], None] | None = None) -> Path:
        """Run to ``max_steps`` (default ``cfg.grpo.max_steps``), resuming from the last checkpoint.

        Returns the folder of the final PEFT adapter (``out_dir/adapter``).
        """
        max_steps = self.g.max_steps if max_steps is None else max_steps
        start = 0
        if resume:
            if self.accelerator.is_main_process:  # what a kill left: half-written saves, half-done removals
                for junk in [*self.out_dir.glob(".tmp-checkpoint-*"), *self.out_dir.glob(".trash-*")]:
                    shutil.rmtree(junk, ignore_errors=True)
            self.accelerator.wait_for_everyone()
            self.set_aside_stale()
        complete = self.checkpoints() if resume else []
        if complete:
            start = self.load_checkpoint(complete[-1])
            if self.accelerator.is_main_process:  # a resume always says so
                done = "nothing left to do" if start >= max_steps else f"{max_steps - start} step(s) to go"
                print(f"[grpo] resuming from {complete[-1]} (step {start} of {max_steps}; {done}); "
                      f"delete {self.out_dir} to start over", flush=True)
        self._trim_log(start)
        bar = None
        if self.progress and self.accelerator.is_main_process:
            from tqdm.auto import tqdm

            bar = tqdm(total=max_steps, initial=start, desc="GRPO", unit="step")
        # dropout (and anything else drawing from torch's global generator) is a function of
        # (seed, step, process) too; the caller's generator state is left as it was
        acc = self.accelerator
        rng_devices = [acc.device] if acc.device.type == "cuda" else []
        for step in range(start + 1, max_steps + 1):
            with torch.random.fork_rng(devices=rng_devices):
                torch.manual_seed(_step_seed(self.seed, step, 1000 + acc.process_index))
                rec = self.train_step(step)
            self.step = step
            if self.accelerator.is_main_process:
                with open(self.out_dir / LOG_NAME, "a") as f:
                    f.write(json.dumps(dataclasses.asdict(rec)) + "\n")
            if bar is not None:
                bar.update(1)
                bar.set_postfix(reward=f"{rec.reward:.2f}", kl=f"{rec.kl:.3f}", fmt=f"{rec.format_ok:.2f}")
            if callback is not None:
                callback(rec)
            if self.g.save_steps and step % self.g.save_steps == 0 and step < max_steps:
                self.save_checkpoint(step)
                if self.accelerator.is_main_process:
                    self._rotate()
        if bar is not None:
            bar.close()
        final = self.out_dir / "adapter"
        if self.accelerator.is_main_process:
            self.policy.save_pretrained(final)
        self.accelerator.wait_for_everyone()
        return final


def _remove(path: Path) -> None:
    """Delete a folder by renaming it to ``.trash-<name>`` first (atomic), then removing that."""
    if not path.exists():
        return
    trash = path.with_name(f".trash-{path.name}")
    shutil.rmtree(trash, ignore_errors=True)
    path.rename(trash)
    shutil.rmtree(trash, ignore_errors=True)


def read_log(out_dir: str | Path) -> list[dict]:
    """The JSONL training log as a list of dicts (a line cut by a kill is ignored)."""
    rows = []
    path = Path(out_dir) / LOG_NAME
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                break
    return rows


def smooth(values: Sequence[float], window: int = 25) -> list[float]:
    """Trailing mean (the reward curves' smoothing)."""
    out, acc = [], []
    for v in values:
        acc.append(v)
        acc = acc[-window:]
        out.append(float(np.mean(acc)) if not any(math.isnan(a) for a in acc) else float("nan"))
    return out
