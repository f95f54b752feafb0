"""Full-scale rehearsal of a GPU preset's whole path, in one process, before a user runs it.

    python benchmarks/rehearsal.py --preset colab-3b [--quick] [--device cpu|cuda] [--data-dir DIR]
    python benchmarks/rehearsal.py --preset eval-omni-r1 [--quick]

The real parts, rebuilt offline at their real size (no hub, random weights unless real ones are
under ``--data-dir``): Qwen2.5-Omni's processor with Qwen's real vocabulary, chat template and
media settings (`omni_r1_lite.offline_processor`); the preset's thinker with its published
dimensions (`omni_r1_lite.full_size`; ``--quick``: the real widths and vocabulary, 2 layers per
stack, fewer frames); SAM2.1 of the preset's config at 1024 px; OmniSynth written at 1280×720 in
the RefAVS layout (10 frames 1 s apart, with audio) and a 24-frame clip in the ReVOS layout, read by
the kit's real loaders. Every step goes through the kit's own code, in the order a GPU user runs it:

=================  ==================================================================================
setup              processor files, data, the random thinker saved as a checkpoint folder and loaded
                   back with the kit's loader (colab-3b: ``load_system1``; eval-omni-r1: the released
                   thinker-only shard layout through ``resolve_weights("omni-r1")``), System 2 built
                   as notebook 04 builds it, the GRPO trainer (LoRA, AdamW, gradient checkpointing)
system1_prompt     the preset's System-1 prompts (AVS: audio + 1 frame; VOS: the preset's frame count)
                   through the real processor; token counts beside ``compute.py`` / the memory plan's
rollout            G sampled completions per prompt (the trainer's `rollout`), both tasks; a shorter
                   ``max_completion_length`` than the preset's (``--completion-tokens``)
grounding          System 2's grounder (adapters disabled) on the keyframes of a plan, at the preset's
                   keyframe budget and pixel budget (``--grounding-tokens`` new tokens)
sam2               SAM2.1 prompted on keyframes in the middle of both clips, propagating both ways
                   (the ground truth's boxes: a random grounder rarely answers with one)
rewards            the trainer's `score` on each group, one completion replaced by a well-formed
                   answer (a random policy never writes one, and a group of equal rewards gives no
                   gradient)
grpo_step          the trainer's `update` (reference + policy log-probabilities with the preset's
                   gradient checkpointing, backward, AdamW): every LoRA B matrix must move, the
                   grounder must not
checkpoint_resume  colab-3b: checkpoint saved, everything freed, the base reloaded from disk, a new
                   trainer resumes the checkpoint: adapter and optimizer state equal. eval-omni-r1:
                   the released-layout checkpoint loaded through the kit: logits equal the saved model's
evaluate           the kit's evaluator on 2 RefAVS-layout samples (colab-3b: the GRPO adapter reloaded
                   with PEFT; eval-omni-r1: the ``omni-r1`` method), the Table-1 layout printed
=================  ==================================================================================

Per phase: seconds, peak RSS and peak bytes of live torch tensors (`omni_r1_lite.memtrack`: on CUDA
``max_memory_allocated``), beside the memory plan's tensor bytes for that phase
(`omni_r1_lite.memory.tensor_gib`, with the measured prompt length and the completion length
used). A table, then one JSON object on the last line (``--json FILE`` writes it too).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PHASES = ("system1_prompt", "rollout", "grounding", "sam2", "rewards", "grpo_step", "checkpoint_resume", "evaluate")
GIB = 2**30


@dataclasses.dataclass
class Mode:
    """What one rehearsal runs: the model's depth, the frames, the token budgets."""

    text_layers: int | None
    vision_depth: int | None
    audio_layers: int | None
    system1_frames: int | None  # None: the preset's
    revos_frames: int
    completion_tokens: int
    grounding_tokens: int
    sam2_refavs: bool  # also run SAM2 on the 10-frame RefAVS clip


def mode_for(preset: str, quick: bool, args: argparse.Namespace) -> Mode:
    if quick:
        m = Mode(2, 2, 2, 4, 6, 8, 8, False)
    elif preset == "colab-3b":
        m = Mode(None, None, None, None, 24, 32, 24, True)
    else:  # the 7B: real width and vocabulary, 8 of its 28 decoder layers (full_size: why)
        m = Mode(8, None, None, None, 24, 32, 24, True)
    if args.completion_tokens:
        m.completion_tokens = args.completion_tokens
    if args.grounding_tokens:
        m.grounding_tokens = args.grounding_tokens
    if args.text_layers:
        m.text_layers = args.text_layers
    return m


# ----------------------------------------------------------------------------- setup helpers


def write_data(work: Path, data_dir: Path, revos_frames: int) -> Path:
    """OmniSynth at 1280×720 in the RefAVS layout (10 frames 1 s apart, with audio) linked as
    ``data_dir/refavs``, and one ``revos_frames``-frame clip in the ReVOS layout; returns its ReVOS root."""
    from omni_r1_lite.data.omnisynth import OmniSynthConfig, generate

    synth = work / "synth"
    if not (synth / "omnisynth.json").exists():
        generate(synth, OmniSynthConfig(clips={"train": 2, "seen": 1, "null": 1}, width=1280, height=720,
                                        num_frames=10, seconds_per_frame=1.0), overwrite=True)
    link = data_dir / "refavs"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to((synth / "refavs").resolve(), target_is_directory=True)
    long = work / "revos_long"
    if not (long / "omnisynth.json").exists():
        generate(long, OmniSynthConfig(seed=1, clips={"train": 1}, width=1280, height=720, num_frames=revos_frames,
                                       seconds_per_frame=0.5), overwrite=True)
    return long / "revos"


def link_real(src: Path | None, data_dir: Path, rel: str) -> bool:
    """Link ``src/rel`` (real weights a user has) into the rehearsal's ``data_dir``; True if linked."""
    if src is None or not (src / rel).exists():
        return False
    dst = data_dir / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists():
        dst.symlink_to((src / rel).resolve(), target_is_directory=(src / rel).is_dir())
    return True


def pick(samples, want_type: str | None = "referring"):
    """The first sample whose target is visible in some frame (of ``want_type`` when there is one)."""
    import numpy as np

    ok = [s for s in samples if not s.is_null and s.load_masks().reshape(s.num_frames, -1).any(1).any()]
    typed = [s for s in ok if want_type is None or s.expression_type == want_type
             or s.meta.get("type_id") == 0]
    chosen = (typed or ok)[0]
    assert np.asarray(chosen.load_masks()).any()
    return chosen


def gt_box(mask) -> Any:
    import numpy as np

    ys, xs = np.nonzero(mask)
    return np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)


def oracle_plan(sample, sampled: list[int], k: int) -> list[int]:
    """Up to ``k`` System-1 frame indices (into ``sampled``) where the target is visible, spread out."""
    import numpy as np

    masks = sample.load_masks()
    visible = [i for i, f in enumerate(sampled) if masks[f].any()]
    if len(visible) <= k:
        return visible
    return [visible[int(round(j))] for j in np.linspace(0, len(visible) - 1, k)]


def oracle_completion(sample, sampled: list[int], k: int) -> str:
    from omni_r1_lite.systems.prompts import format_avs_answer, format_vos_answer

    desc = sample.meta.get("literal") or sample.expression
    if sample.task == "AVS":
        return format_avs_answer(desc, think="the sound comes from it")
    return format_vos_answer(oracle_plan(sample, sampled, k), desc, think="it is visible in these moments")


def inject(out, row: int, ids: list[int], pad_id: int):
    """Replace completion ``row`` of a `GroupSample` with ``ids`` (EOS included), widening if needed."""
    import torch

    from omni_r1_lite.systems.generation import GroupSample

    width = max(out.ids.shape[1], len(ids))
    grow = width - out.ids.shape[1]
    ids_t = torch.nn.functional.pad(out.ids, (0, grow), value=pad_id)
    mask_t = torch.nn.functional.pad(out.mask, (0, grow), value=0)
    ids_t[row] = pad_id
    mask_t[row] = 0
    ids_t[row, :len(ids)] = torch.tensor(ids)
    mask_t[row, :len(ids)] = 1
    fin = out.finished.clone()
    fin[row] = True
    return GroupSample(ids_t, mask_t, fin)


def lora_b(model) -> dict[str, Any]:
    return {n: p.detach().float().clone() for n, p in model.named_parameters() if "lora_B" in n}


def lora_all(model) -> dict[str, Any]:
    return {n: p.detach().float().cpu().clone() for n, p in model.named_parameters() if "lora_" in n}


def free() -> None:
    """Collect what the caller has just dropped (``del``) and give cached CUDA memory back."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# ----------------------------------------------------------------------------- the rehearsal


class Rehearsal:
    def __init__(self, args: argparse.Namespace):
        import torch

        from omni_r1_lite.config import apply_overrides, get_preset
        from omni_r1_lite.memtrack import PhaseMeter

        self.args = args
        self.device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        self.mode = mode_for(args.preset, args.quick, args)
        self.work = Path(args.work or tempfile.mkdtemp(prefix=f"rehearsal_{args.preset}_"))
        self.work.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.work / "data"  # the rehearsal's DATA_DIR: its own data, real weights linked in
        real_src = Path(args.data_dir) if args.data_dir else None
        base = get_preset(args.preset)
        self.real = {rel: link_real(real_src, self.data_dir, rel) for rel in
                     ("models/Qwen2.5-Omni-3B", "models/Qwen2.5-Omni-7B", "models/Omni-R1")}
        ov = [f"grpo.max_completion_length={self.mode.completion_tokens}", "system1.dtype='bfloat16'",
              "grpo.save_steps=0", "data.max_eval_samples=2"]
        if self.mode.system1_frames:
            ov += [f"system1.max_frames={self.mode.system1_frames}", f"system1.min_frames={self.mode.system1_frames}",
                   f"eval.max_frames={self.mode.system1_frames}"]
        sam2_real = bool(base.system2.sam2_checkpoint) and link_real(real_src, self.data_dir, base.system2.sam2_checkpoint)
        if not sam2_real:
            ov.append("system2.sam2_checkpoint=None")
        self.sam2_weights = "real" if sam2_real else "random"
        self.cfg = apply_overrides(base, ov)
        self.training = base.grpo.max_steps > 0
        self.meter = PhaseMeter(self.device, keep_going=True)
        self.setup_seconds: dict[str, float] = {}
        self.checks: dict[str, Any] = {}
        self.tokens: dict[str, Any] = {}
        self.notes: list[str] = []

    # -- setup ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def step(self, name: str):
        t0 = time.perf_counter()
        print(f"[setup] {name} ...", flush=True)
        yield
        self.setup_seconds[name] = round(time.perf_counter() - t0, 1)
        print(f"[setup] {name}: {self.setup_seconds[name]} s", flush=True)

    def build_checkpoint(self) -> None:
        """A random thinker of the preset written where the kit looks for the preset's model."""
        import torch

        from omni_r1_lite import full_size, offline_processor

        m = self.mode
        self.model_key = full_size.model_key(self.cfg.system1.model)
        config = full_size.thinker_config(self.model_key, m.text_layers, m.vision_depth, m.audio_layers)
        meta = full_size.meta_thinker(config)
        from omni_r1_lite.memory import dims_from_config
        from omni_r1_lite.models import MODEL_REGISTRY, count_parameters

        counts = count_parameters(meta)

        self.plan_dims = dataclasses.replace(  # the exact parameter count (the formula leaves out biases)
            dims_from_config(config, f"{self.model_key} ({config.text_config.num_hidden_layers} layers)"),
            params=float(counts["total"]))
        self.model_dims = {"hidden_size": config.text_config.hidden_size,
                           "num_hidden_layers": config.text_config.num_hidden_layers,
                           "vocab_size": config.text_config.vocab_size, "parameters": counts["total"],
                           "vision_depth": config.vision_config.depth, "audio_layers": config.audio_config.encoder_layers}
        full = full_size.meta_thinker(full_size.thinker_config(self.model_key))
        self.checks["full_size_parameters_b"] = round(count_parameters(full)["total"] / 1e9, 3)
        self.checks["registry_parameters_b"] = MODEL_REGISTRY[self.model_key].params_b
        del full, meta
        rel = "models/" + ("Qwen2.5-Omni-7B" if self.model_key.endswith("7b") else "Qwen2.5-Omni-3B")
        proc_dir = self.data_dir / rel
        real = self.real[rel]
        self.weights = "real" if real else "random"
        if real:
            self.notes.append(f"real base model linked from {proc_dir.resolve()}")
        if self.args.preset == "eval-omni-r1":
            release = self.data_dir / "models" / "Omni-R1"
            real_release = self.real["models/Omni-R1"]
            if not real:  # the base snapshot's processor (and config; its weights are not needed here)
                offline_processor.write_processor_files(proc_dir)
                full_size.thinker_config(self.model_key).save_pretrained(proc_dir)
            if not real_release:
                with self.step("random 7B-width thinker → released shard layout"):
                    model = full_size.random_thinker(config, "bfloat16", self.device)
                    self.reference_logits = self._probe_logits(model)
                    shutil.rmtree(release, ignore_errors=True)
                    full_size.save_released_layout(model, release, shard_bytes=(2 if not self.args.quick else 1) * GIB)
                    (release / "omni_r1_lite_random.json").write_text(json.dumps(self.model_dims) + "\n")
                    del model
                    free()
                self.weights = "random"
            else:
                self.reference_logits = None
                self.weights = "real"
            return
        if not real:
            with self.step(f"random {self.model_key} thinker ({self.model_dims['parameters'] / 1e9:.2f} B) saved"):
                model = full_size.random_thinker(config, "bfloat16", self.device)
                shutil.rmtree(proc_dir, ignore_errors=True)
                model.save_pretrained(proc_dir)
                offline_processor.write_processor_files(proc_dir)
                (proc_dir / "omni_r1_lite_random.json").write_text(json.dumps(self.model_dims) + "\n")
                del model
                free()
        torch.manual_seed(0)

    def _probe_logits(self, model):
        import torch

        ids = torch.tensor([[151644, 872, 198, 9707, 1879, 151645]], device=model.device)
        with torch.no_grad():
            return model(input_ids=ids).logits[0, -1].float().cpu()

    def load(self) -> None:
        """The model through the kit's loader, System 2 as notebook 04 builds it, the trainer."""
        from omni_r1_lite.data.refavs import load_refavs
        from omni_r1_lite.data.revos import load_revos
        from omni_r1_lite.systems.factory import build_system2, load_system1
        from omni_r1_lite.systems.pipeline import Pipeline

        revos = write_data(self.work, self.data_dir, self.mode.revos_frames)
        self.avs = pick(load_refavs(self.data_dir / "refavs", "train"))
        self.vos = pick(load_revos(revos, "train"))
        if self.args.preset == "eval-omni-r1":
            return  # loaded in the checkpoint_resume phase: that load is what this preset rehearses
        with self.step("load_system1 (kit loader) + System 2 + GRPO trainer"):
            self.model, self.processor = load_system1(self.cfg, self.data_dir)
            self.model.to(self.device)
            self.system2 = build_system2(self.cfg, self.model, self.processor, self.data_dir, device=self.device)
            self.system2.grounder.max_new_tokens = self.mode.grounding_tokens
            self.pipeline = Pipeline(self.system2, max_frames=self.cfg.system1.max_frames,
                                     max_keyframes=self.cfg.system1.max_keyframes)
            self.trainer = self._trainer()
            _ = self.system2.segmenter.predictor  # built now: in a training run it is resident after step 1

    def _trainer(self):
        from omni_r1_lite.grpo.trainer import GRPOTrainer
        from omni_r1_lite.systems.factory import suppress_tokens_for
        from omni_r1_lite.systems.reasoner import GlobalReasoner

        processor = self.processor
        make = lambda m: GlobalReasoner(m, processor, self.cfg.system1, suppress_tokens_for(processor))  # noqa: E731
        return GRPOTrainer(self.cfg, self.model, processor, make, self.pipeline, [self.avs, self.vos],
                           self.work / "grpo", seed=0, progress=False)

    # -- phases -----------------------------------------------------------------------------------

    def system1_prompt(self, info: dict) -> None:
        from omni_r1_lite import compute, memory
        from omni_r1_lite.systems.reasoner import GlobalReasoner

        reasoner = GlobalReasoner(None, self.processor, self.cfg.system1)
        planned = memory.prompt_tokens(self.cfg)
        s1 = self.cfg.system1
        out = {}
        for s in (self.avs, self.vos):
            inputs = reasoner.encode(s)
            ids = inputs["input_ids"][0]
            n = {"prompt": int(ids.numel()), "image": int((ids == 151655).sum()), "video": int((ids == 151656).sum()),
                 "audio": int((ids == 151646).sum())}
            if s.task == "VOS":
                frames = len(reasoner.sampled_frames(s))
                n["frames"] = frames
                n["compute_py_video"] = compute.video_tokens(frames, 720, 1280, max_pixels=s1.frame_max_pixels,
                                                             min_pixels=min(16 * 28 * 28, s1.frame_max_pixels))
                n["plan_prompt"] = planned["vos"]
            else:
                n["compute_py_image"] = compute.image_tokens(720, 1280, max_pixels=s1.frame_max_pixels,
                                                             min_pixels=min(16 * 28 * 28, s1.frame_max_pixels))
                n["plan_audio"] = planned["audio"]
                n["plan_prompt"] = planned["avs"]
            n["text"] = n["prompt"] - n["image"] - n["video"] - n["audio"]
            out[s.task] = n
        self.tokens = out
        vos, avs = out["VOS"], out["AVS"]
        assert vos["video"] == vos["compute_py_video"], f"video tokens {vos['video']} != compute.py {vos['compute_py_video']}"
        assert avs["image"] == avs["compute_py_image"], f"image tokens {avs['image']} != compute.py {avs['compute_py_image']}"
        assert avs["audio"] == avs["plan_audio"], f"audio tokens {avs['audio']} != plan {avs['plan_audio']}"
        info.update(out)

    def rollout(self, info: dict) -> None:
        self.groups = {}
        for s in (self.avs, self.vos):
            batch, out, comps = self.trainer.rollout([s], step=1)
            self.groups[s.task] = (s, batch, out, comps)
            info[s.task] = {"prompt_tokens": batch.length, "completion_tokens": int(out.ids.shape[1]),
                            "finished": int(out.finished.sum()), "G": int(out.ids.shape[0]),
                            "example": comps[0].text[:80]}
        g = self.cfg.grpo.num_generations if self.training else 2
        for task, (_, _, out, _) in self.groups.items():
            assert out.ids.shape[0] == g, f"{task}: {out.ids.shape[0]} completions, expected G={g}"

    def _plan_frames(self, s) -> tuple[list[int], list[str]]:
        sampled = self.pipeline.sampled_frames(s)
        text = oracle_completion(s, sampled, self.cfg.system1.max_keyframes)
        plan = self.pipeline.plan(s, text)
        assert plan.ok, f"the kit's parser rejects a well-formed answer: {plan.issues}"
        keyframes, descriptions = self.pipeline.clip_keyframes(s, plan)
        return list(keyframes), list(descriptions)

    def grounding(self, info: dict) -> None:
        import numpy as np

        grounder = self.system2.grounder
        self.grounded = {}
        for s in (self.avs, self.vos):
            keys, descs = self._plan_frames(s)
            boxes = {k: self.pipeline.ground(s, k, d) for k, d in zip(keys, descs)}
            inputs, hw = grounder.prepare(self.pipeline_frame(s, keys[0]), descs[0], grounder.style_for(s))
            self.grounded[s.task] = (keys, boxes)
            info[s.task] = {"keyframes": keys, "boxes": {int(k): len(v) for k, v in boxes.items()},
                            "image_tokens": int((inputs["input_ids"] == 151655).sum()), "resized_hw": list(hw)}
        inputs, _ = grounder.prepare(self.pipeline_frame(self.vos, 0), "the red circle", "qwen")
        self.grounder_probe = inputs
        self.grounder_logits = self._grounder_logits(inputs)
        assert 1 <= len(self.grounded["VOS"][0]) <= self.cfg.system1.max_keyframes
        assert np.isfinite(self.grounder_logits).all()

    def pipeline_frame(self, s, k):
        from omni_r1_lite.systems.detail import _load_frame

        return _load_frame(s, k)

    def _grounder_logits(self, inputs):
        import torch

        from omni_r1_lite.models import adapters_disabled

        model = self.system2.grounder.model
        with adapters_disabled(model), torch.inference_mode():
            x = inputs.to(next(model.parameters()).device)
            return model(**x).logits[0, -1].float().cpu().numpy()

    def sam2(self, info: dict) -> None:
        seg = self.system2.segmenter
        predictor = seg.predictor
        visited: list[int] = []
        original = predictor.propagate_in_video

        def counting(*a, **kw):  # record the frames each propagation pass visits
            for item in original(*a, **kw):
                visited.append(int(item[0]))
                yield item

        predictor.propagate_in_video = counting
        try:
            for s in [self.vos] + ([self.avs] if self.mode.sam2_refavs else []):
                masks = s.load_masks()
                visible = [t for t in range(s.num_frames) if masks[t].any()]
                k = visible[len(visible) // 2]
                visited.clear()
                t0 = time.perf_counter()
                out = seg.segment(s, {k: gt_box(masks[k])})
                info[s.task] = {"frames": s.num_frames, "prompt_frame": k, "visited": len(set(visited)),
                                "frames_with_mask": int(out.reshape(len(out), -1).any(1).sum()),
                                "seconds": round(time.perf_counter() - t0, 1), "mask_shape": list(out.shape)}
                assert out.shape == masks.shape, f"masks {out.shape} for ground truth {masks.shape}"
                assert sorted(set(visited)) == list(range(s.num_frames)), \
                    f"propagation from frame {k} visited {sorted(set(visited))} of {s.num_frames} frames"
                assert min(visited[visited.index(k) + 1:] or [k]) <= k, "no backward pass"
        finally:
            predictor.propagate_in_video = original
        info["config"] = seg.config
        info["image_size"] = int(predictor.image_size)
        info["weights"] = self.sam2_weights

    def rewards(self, info: dict) -> None:
        self.scored = {}
        tok = self.processor.tokenizer
        for task, (s, batch, out, comps) in self.groups.items():
            text = oracle_completion(s, self.pipeline.sampled_frames(s), self.cfg.system1.max_keyframes)
            ids = tok(text, add_special_tokens=False)["input_ids"] + [self.trainer.reasoner.eos_id]
            out = inject(out, 0, ids, self.trainer.reasoner.pad_id)
            comps = self.trainer.reasoner.decode(out.ids)
            assert comps[0].text == text and comps[0].finished, "the injected answer does not decode back"
            r, br = self.trainer.score([s], comps)
            self.scored[task] = (s, batch, out, r)
            info[task] = {"rewards": [round(float(x), 3) for x in r[0]], "format_ok": [bool(b.format_ok) for b in br[0]]}
            assert r[0, 0] > r[0, 1:].max(), f"{task}: the well-formed answer does not out-score random text: {r[0]}"

    def grpo_step(self, info: dict) -> None:
        import numpy as np
        import torch

        before = lora_b(self.trainer.policy)
        assert all(float(v.abs().max()) == 0 for v in before.values()), "LoRA B should start at zero"
        for task, (_, batch, out, r) in self.scored.items():
            res = self.trainer.update(batch, out, r)
            info[task] = {"loss": round(float(res.loss.detach()), 5), "kl": round(float(res.kl), 6)}
        after = lora_b(self.trainer.policy)
        moved = sum(float((after[n] - before[n]).abs().max()) > 0 for n in before)
        info["lora_B_moved"] = f"{moved}/{len(before)}"
        policy = self.trainer.policy
        ckpt = getattr(policy, "is_activation_checkpointing", None)
        ckpt = getattr(policy, "is_gradient_checkpointing", None) if ckpt is None else ckpt
        info["gradient_checkpointing"] = bool(ckpt)
        assert moved == len(before), f"only {moved} of {len(before)} LoRA B matrices changed"
        assert bool(ckpt) == bool(self.cfg.grpo.gradient_checkpointing)
        drift = float(np.abs(self._grounder_logits(self.grounder_probe) - self.grounder_logits).max())
        info["grounder_logit_drift"] = drift
        self.checks["grounder_frozen"] = drift == 0.0
        assert drift == 0.0, f"System 2's grounder changed with the policy's adapters (max logit change {drift})"
        self.trained_lora = lora_all(self.trainer.policy)
        self.trained_opt = {k: v.clone() for k, v in
                            next(iter(self.trainer.optimizer.state.values())).items() if torch.is_tensor(v)}

    def checkpoint_resume(self, info: dict) -> None:
        if self.args.preset == "eval-omni-r1":
            return self._load_release(info)
        import torch

        path = self.trainer.save_checkpoint(1)
        info["checkpoint_files"] = sorted(p.name for p in path.rglob("*") if p.is_file())
        seg = self.system2.segmenter
        self.trainer = self.pipeline = self.system2 = self.model = None
        free()
        from omni_r1_lite.systems.detail import PaperDetailSystem
        from omni_r1_lite.systems.factory import build_system2, load_system1
        from omni_r1_lite.systems.pipeline import Pipeline

        self.model, self.processor = load_system1(self.cfg, self.data_dir)
        self.model.to(self.device)
        grounder = build_system2(self.cfg, self.model, self.processor, self.data_dir, device=self.device).grounder
        self.system2 = PaperDetailSystem(grounder, seg)
        self.pipeline = Pipeline(self.system2, max_frames=self.cfg.system1.max_frames)
        self.trainer = self._trainer()
        final = self.trainer.train(max_steps=1)  # resumes checkpoint-1; nothing left to run
        got = lora_all(self.trainer.policy)
        diff = max(float((got[n] - self.trained_lora[n]).abs().max()) for n in self.trained_lora)
        state = next(iter(self.trainer.optimizer.state.values()))
        opt_diff = max(float((state[k].float() - v.float()).abs().max()) for k, v in self.trained_opt.items())
        info.update(adapter_max_diff=diff, optimizer_max_diff=opt_diff, resumed_from=path.name,
                    final_adapter=str(final))
        assert diff == 0.0 and opt_diff == 0.0, f"resume differs: adapter {diff}, optimizer {opt_diff}"
        self.final_adapter = final
        # the evaluator loads its own base + adapter: nothing may keep this copy alive
        self.trainer = self.pipeline = self.model = self.system2 = None
        self.segmenter = seg
        free()
        del torch

    def _load_release(self, info: dict) -> None:
        import numpy as np
        import torch

        from omni_r1_lite.evaluation.methods import load_weights, resolve_weights
        from omni_r1_lite.systems.factory import build_system2
        from omni_r1_lite.systems.pipeline import Pipeline

        weights = resolve_weights("omni-r1", self.cfg, self.data_dir)
        self.model, self.processor = load_weights(weights, device=self.device, cfg=self.cfg)
        info["model"] = weights.model
        info["processor"] = weights.processor
        info["shards"] = sorted(p.name for p in Path(weights.model).glob("*.safetensors"))
        if self.reference_logits is not None:
            diff = float((self._probe_logits(self.model) - self.reference_logits).abs().max())
            info["logits_max_diff"] = diff
            assert diff == 0.0, f"the released layout did not load back: logits differ by {diff}"
        assert self.model.dtype == torch.bfloat16
        self.system2 = build_system2(self.cfg, self.model, self.processor, self.data_dir, device=self.device)
        self.system2.grounder.max_new_tokens = self.mode.grounding_tokens
        _ = self.system2.segmenter.predictor  # built now, as it is resident during an evaluation
        self.pipeline = Pipeline(self.system2, max_frames=self.cfg.system1.max_frames)
        from omni_r1_lite.systems.factory import suppress_tokens_for
        from omni_r1_lite.systems.reasoner import GlobalReasoner

        reasoner = GlobalReasoner(self.model, self.processor, self.cfg.system1, suppress_tokens_for(self.processor))
        self.trainer = _EvalOnly(self.cfg, reasoner, self.pipeline)
        del np

    def evaluate(self, info: dict) -> None:
        from omni_r1_lite.evaluation.runner import Evaluator
        from omni_r1_lite.evaluation.tables import results_table

        run = self.work / "run"
        if self.args.preset == "eval-omni-r1":
            ev = Evaluator(self.cfg, self.data_dir, run, "omni-r1", model=self.model, processor=self.processor,
                           system2=self.system2, max_samples=2, progress=False, overwrite=True,
                           max_new_tokens=self.mode.completion_tokens, device=self.device)
        else:
            # the data of the rehearsal lives beside the models: point the evaluator at both
            ev = Evaluator(self.cfg, self.data_dir, run, "grpo", adapter=self.final_adapter, max_samples=2,
                           progress=False, overwrite=True, max_new_tokens=self.mode.completion_tokens,
                           device=self.device)
        result = ev.run_split("test_s")
        info["records"] = len(result.records)
        info["errors"] = [r.get("error") for r in result.errors]
        table = results_table(run, write=False, preset=self.cfg.name)
        self.table = table
        assert len(result.scored) == 2, f"2 samples expected, got {len(result.scored)} scored, errors {info['errors']}"
        assert "Table 1 layout" in table

    # -- the run ----------------------------------------------------------------------------------

    def plans(self) -> dict[str, float | None]:
        from omni_r1_lite import memory
        from omni_r1_lite.config import apply_overrides

        P = max((g[1].length for g in getattr(self, "groups", {}).values()), default=None)
        C = self.mode.completion_tokens
        kw = dict(max_completion_length=C, prompt_tokens=P, dims=self.plan_dims)
        out: dict[str, float | None] = dict.fromkeys(PHASES)
        if self.training:
            p = memory.plan_memory(self.cfg, **kw)
            out["rollout"] = memory.tensor_gib(p, "rollout")
            out["grpo_step"] = memory.tensor_gib(p, "train")
        else:
            p = memory.plan_memory(self.cfg, **kw)
            out["rollout"] = memory.tensor_gib(p, "rollout")
        out["grounding"] = memory.tensor_gib(p, "system2", ("grounding (adapters disabled, greedy)",))
        out["sam2"] = memory.tensor_gib(memory.plan_memory(self.cfg, clip_frames=self.mode.revos_frames, **kw),
                                        "system2", ("SAM2 activations",))
        ev = memory.plan_memory(apply_overrides(self.cfg, ["grpo.max_steps=0"]), **kw)
        out["evaluate"] = max(memory.tensor_gib(ev, ph) for ph in memory.PHASES)
        return out

    def run(self) -> dict[str, Any]:
        self.build_checkpoint()
        self.load()
        order = list(PHASES)
        if self.args.preset == "eval-omni-r1":
            order.remove("checkpoint_resume")
            order.insert(0, "checkpoint_resume")
            order.remove("grpo_step")
        skipped = set(PHASES) - set(order)
        failed = None
        for name in order:
            if failed is not None:
                skipped.add(name)
                continue
            print(f"[phase] {name} ...", flush=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with self.meter.phase(name) as info:
                    getattr(self, name)(info)
            rec = self.meter.records[name]
            print(f"[phase] {name}: {'ok' if rec.ok else 'FAILED'} in {rec.seconds:.1f} s, peak tensors "
                  f"{rec.peak_tensor_gib:.2f} GiB, RSS {rec.peak_rss_gib:.2f} GiB", flush=True)
            if not rec.ok:
                print(rec.info.get("traceback", rec.error), flush=True)
                # a later phase needs this one's results, except that evaluation can run anyway
                failed = name if name not in ("evaluate",) else None
        return self.report(skipped)

    def report(self, skipped: set[str]) -> dict[str, Any]:
        plans = self.plans()
        phases: dict[str, Any] = {}
        for name in PHASES:
            rec = self.meter.records.get(name)
            if rec is None:
                why = "no training in this preset" if name == "grpo_step" and not self.training else "not run (an earlier phase failed)"
                phases[name] = {"ok": None, "seconds": None, "peak_gib": None, "plan_gib": plans.get(name), "skipped": why}
                continue
            plan = plans.get(name)
            entry = {"ok": rec.ok, "seconds": round(rec.seconds, 1), "peak_gib": round(rec.peak_tensor_gib, 3),
                     "rss_gib": round(rec.peak_rss_gib, 3), "plan_gib": None if plan is None else round(plan, 3)}
            if plan:
                entry["vs_plan"] = round(rec.peak_tensor_gib / plan - 1, 3)
            if rec.error:
                entry["error"] = rec.error
            entry["info"] = {k: v for k, v in rec.info.items() if k != "traceback"}
            phases[name] = entry
        from omni_r1_lite.offline_processor import SPECIAL_TOKENS

        tok = self.processor.tokenizer if getattr(self, "processor", None) is not None else None
        special = {t: i for i, t in SPECIAL_TOKENS.items() if t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>",
                   "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>", "<|vision_bos|>", "<|vision_eos|>", "<|IMAGE|>",
                   "<|VIDEO|>")}
        vocab = {"hello_world": tok("Hello world")["input_ids"] if tok else None,
                 "special": {t: tok.convert_tokens_to_ids(t) for t in special} if tok else special,
                 "tokenizer_size": len(tok) if tok else None}
        measured = max((v["prompt"] for v in self.tokens.values()), default=None)
        from omni_r1_lite import memory

        planned = memory.prompt_tokens(self.cfg)["prompt"]
        return {"preset": self.args.preset, "quick": bool(self.args.quick), "device": self.device,
                "weights": self.weights, "sam2_weights": self.sam2_weights,
                "model": {k: self.model_dims[k] for k in ("hidden_size", "num_hidden_layers", "vocab_size")}
                | {"parameters_b": round(self.model_dims["parameters"] / 1e9, 3),
                   "vision_depth": self.model_dims["vision_depth"], "audio_layers": self.model_dims["audio_layers"]},
                "vocab": vocab, "phases": phases,
                "tokens": {"measured": measured, "compute_py": planned, "by_task": self.tokens,
                           "completion_tokens": self.mode.completion_tokens,
                           "preset_completion_tokens": get_completion(self.args.preset)},
                "checks": self.checks, "setup_seconds": self.setup_seconds, "notes": self.notes,
                "total_seconds": round(sum(self.setup_seconds.values()) + sum(
                    r.seconds for r in self.meter.records.values()), 1)}


def get_completion(preset: str) -> int:
    from omni_r1_lite.config import get_preset

    return get_preset(preset).grpo.max_completion_length


class _EvalOnly:
    """The two phases of the trainer an evaluation preset uses: greedy `rollout` and `score`."""

    def __init__(self, cfg, reasoner, pipeline):
        self.cfg, self.reasoner, self.pipeline = cfg, reasoner, pipeline

    def rollout(self, samples, step: int = 0):
        from omni_r1_lite.systems.generation import make_prompt_batch, sample_group

        r = self.reasoner
        (s,) = samples
        batch = make_prompt_batch(r.model, dict(r.encode(s))).to(r.model.device)
        g = 2  # an evaluation preset samples no groups: two completions are enough to score against
        out = sample_group(r.model, batch, g, self.cfg.grpo.max_completion_length, r.eos_id, r.pad_id,
                           temperature=1.0, top_p=0.95, suppress_tokens=r.suppress_tokens)
        return batch, out, r.decode(out.ids)

    def score(self, samples, completions):
        import numpy as np

        from omni_r1_lite.rewards import score_completions

        (s,) = samples
        _, br = score_completions(self.pipeline, s, [c.text for c in completions], self.cfg.rewards,
                                  finished=[c.finished for c in completions],
                                  lengths=[c.num_tokens for c in completions])
        return np.array([[b.total for b in br]]), [br]


def markdown(report: dict[str, Any]) -> str:
    lines = [f"Rehearsal of `{report['preset']}`{' (quick)' if report['quick'] else ''} on {report['device']}: "
             f"{report['model']['parameters_b']} B parameters (hidden {report['model']['hidden_size']}, "
             f"{report['model']['num_hidden_layers']} layers, vocabulary {report['model']['vocab_size']}), "
             f"{report['weights']} weights; SAM2 {report['sam2_weights']} weights",
             "", "| phase | ok | seconds | peak tensors GiB | plan GiB | vs plan | peak RSS GiB |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, p in report["phases"].items():
        ok = {True: "ok", False: "FAILED", None: "skipped"}[p["ok"]]
        f = lambda v, fmt: "" if v is None else format(v, fmt)  # noqa: E731
        lines.append(f"| {name} | {ok} | {f(p['seconds'], '.1f')} | {f(p['peak_gib'], '.2f')} | "
                     f"{f(p['plan_gib'], '.2f')} | {f(p.get('vs_plan'), '+.0%')} | {f(p.get('rss_gib'), '.2f')} |")
    t = report["tokens"]
    lines += ["", f"prompt tokens (longest, measured): {t['measured']}; memory plan's estimate: {t['compute_py']}; "
                  f"completions: {t['completion_tokens']} tokens (preset: {t['preset_completion_tokens']})"]
    return "\n".join(lines)


def main(argv=None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="colab-3b", choices=("colab-3b", "eval-omni-r1"))
    ap.add_argument("--quick", action="store_true", help="real widths and vocabulary, 2 layers per stack, 4 frames")
    ap.add_argument("--device", default="auto", help="cpu, cuda or auto")
    ap.add_argument("--work", default=None, help="working folder (default: a temporary one, removed after)")
    ap.add_argument("--keep", action="store_true", help="keep the working folder")
    ap.add_argument("--data-dir", default=None, help="a DATA_DIR with real weights (models/..., checkpoints/...)")
    ap.add_argument("--completion-tokens", type=int, default=None)
    ap.add_argument("--grounding-tokens", type=int, default=None)
    ap.add_argument("--text-layers", type=int, default=None)
    ap.add_argument("--json", default=None, help="also write the JSON report here")
    ap.add_argument("--table", default=None, help="also write the Markdown table (and the Table-1 output) here")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    reh = Rehearsal(args)
    try:
        report = reh.run()
    finally:
        if args.work is None and not args.keep:
            shutil.rmtree(reh.work, ignore_errors=True)
    report["wall_seconds"] = round(time.perf_counter() - t0, 1)
    text = markdown(report)
    print(text)
    if getattr(reh, "table", None):
        print("\n" + reh.table)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
    if args.table:
        Path(args.table).write_text(text + "\n\n" + (getattr(reh, "table", "") or "") + "\n")
    print(json.dumps(report, default=str))
    return report


if __name__ == "__main__":
    rep = main()
    sys.exit(0 if all(p["ok"] is not False for p in rep["phases"].values()) else 1)
