"""Hand-made and perturbed completions for one sample: what notebook 03 and the tests score.

All keyframes here are System-1 frame indices (``0 … N−1`` over ``sampled``, the clip frames
System 1 sees). The reference choices come from `omni_r1_lite.data.keyframes` on the targets'
per-frame area; the "literal" rewrite is OmniSynth's ``meta["literal"]`` (what a perfect System 1
would write), falling back to the expression itself on other datasets.

>>> from types import SimpleNamespace
>>> s = SimpleNamespace(expression="the shape that enters last", meta={"literal": "the red circle"})
>>> area = np.array([0, 0, 5, 9, 9, 7, 0, 2], float)
>>> made = hand_made_completions(s, area, k=2)
>>> list(made)
['oracle', 'uniform', 'worst', 'non-literal', 'duplicates', 'no EOS', 'malformed']
>>> made["oracle"][1], made["no EOS"][1]
(True, False)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from omni_r1_lite.data.keyframes import oracle_keyframes, uniform_keyframes, worst_keyframes
from omni_r1_lite.systems.prompts import format_moment, format_vos_answer

__all__ = ["hand_made_completions", "perturbed_group", "reference_keyframes", "sample_from_checkpoint",
           "trained_checkpoint"]


def reference_keyframes(area: np.ndarray, k: int = 4) -> dict[str, list[int]]:
    """Oracle, uniform and worst ``k`` keyframes from the targets' area on System 1's frames.

    >>> reference_keyframes(np.array([0, 5, 9, 1, 0, 0, 7, 8, 2, 0], float))
    {'oracle': [1, 2, 6, 7], 'uniform': [0, 3, 6, 9], 'worst': [0, 4, 5, 9]}
    """
    area = np.asarray(area, dtype=float)
    return {"oracle": oracle_keyframes(area, k), "uniform": uniform_keyframes(len(area), k),
            "worst": worst_keyframes(area, k)}


def _literal(sample) -> str:
    return (getattr(sample, "meta", {}) or {}).get("literal") or sample.expression


def hand_made_completions(sample, area: np.ndarray, k: int = 4) -> dict[str, tuple[str, bool]]:
    """Named completions ``{name: (text, finished)}`` for one sample, from best to broken.

    - ``oracle``: the oracle keyframes, each with the literal rewrite (the perfect answer);
    - ``uniform`` / ``worst``: evenly spaced / least-visible keyframes, literal rewrite;
    - ``non-literal``: oracle keyframes, but the original expression as the description;
    - ``duplicates``: the oracle moments with the first repeated and one reversed moment added;
    - ``no EOS``: the oracle text, cut off before EOS (``finished=False``);
    - ``malformed``: the oracle text without ``</think>`` and ``<answer>`` tags.

    ``area``: the targets' area on System 1's frames (``target_area(sample)[sampled]``).
    """
    ref = reference_keyframes(area, k)
    literal = _literal(sample)
    think = f"The instruction refers to {literal}; it is clearly visible in these frames."
    oracle = format_vos_answer(ref["oracle"], literal, think=think)
    first = ref["oracle"][0]
    dup = format_moment(first, literal)
    reversed_moment = json.dumps({"start_time": "00:02.00", "end_time": "00:01.00", "description": literal})
    duplicates = oracle.replace("</answer>", f"\n{dup}\n{reversed_moment}</answer>")
    malformed = oracle.replace("</think>", "").replace("<answer>", "")
    return {
        "oracle": (oracle, True),
        "uniform": (format_vos_answer(ref["uniform"], literal, think=think), True),
        "worst": (format_vos_answer(ref["worst"], literal, think=think), True),
        "non-literal": (format_vos_answer(ref["oracle"], sample.expression, think=think), True),
        "duplicates": (duplicates, True),
        "no EOS": (oracle, False),
        "malformed": (malformed, True),
    }


def perturbed_group(sample, area: np.ndarray, g: int, seed: int = 0, k: int = 4,
                    p_frames: float = 0.5, p_expression: float = 0.4, p_tags: float = 0.2
                    ) -> list[tuple[str, str, bool]]:
    """``g`` completions ``(label, text, finished)``: the oracle answer randomly perturbed.

    Each rollout independently gets random keyframes (probability ``p_frames``), the original
    expression instead of the literal rewrite (``p_expression``) and a dropped tag (``p_tags``);
    seeded, so the same ``seed`` gives the same group — a stand-in for sampling from a trained
    policy, whose group mixes good and bad answers in the same way.

    >>> from types import SimpleNamespace
    >>> s = SimpleNamespace(expression="the silent circle", meta={"literal": "the red circle"})
    >>> group = perturbed_group(s, np.array([0, 3, 9, 9, 4, 0, 0, 1], float), g=4, seed=1)
    >>> [label for label, _, _ in group] == [label for label, _, _ in perturbed_group(
    ...     s, np.array([0, 3, 9, 9, 4, 0, 0, 1], float), g=4, seed=1)]
    True
    """
    rng = np.random.default_rng(seed)
    area = np.asarray(area, dtype=float)
    n = len(area)
    oracle = reference_keyframes(area, k)["oracle"]
    literal = _literal(sample)
    out = []
    for _ in range(g):
        labels = []
        frames, desc = oracle, literal
        if rng.random() < p_frames:
            frames = sorted(int(i) for i in rng.choice(n, size=min(k, n), replace=False))
            labels.append("random frames")
        if rng.random() < p_expression and sample.expression != literal:
            desc = sample.expression
            labels.append("original expression")
        text = format_vos_answer(frames, desc, think=f"Looking for {desc}.")
        if rng.random() < p_tags:
            tag = str(rng.choice(["</think>", "<answer>", "</answer>"]))
            text = text.replace(tag, "", 1)
            labels.append(f"no {tag}")
        out.append((" + ".join(labels) or "oracle", text, True))
    return out


def trained_checkpoint(run_path) -> Path | None:
    """The trained System 1 of a run folder, if any: ``grpo/adapter`` (a PEFT adapter, written by
    notebook 04) first, else ``sft`` (a full model); ``None`` when neither exists.

    >>> import tempfile
    >>> trained_checkpoint(tempfile.mkdtemp()) is None
    True
    """
    run_path = Path(run_path)
    for cand in (run_path / "grpo" / "adapter", run_path / "sft"):
        if (cand / "adapter_config.json").is_file() or (cand / "config.json").is_file():
            return cand
    return None


def sample_from_checkpoint(checkpoint, cfg, data_dir, sample, g: int, seed: int = 0,
                           max_new_tokens: int | None = None) -> list[tuple[str, str, bool, int]]:
    """``g`` sampled completions ``(label, text, finished, num_tokens)`` from a trained System 1.

    ``checkpoint``: a PEFT adapter folder (``adapter_config.json``; loaded on the run's ``sft``
    model next to it when there is one, else on its recorded base, else on the preset's model) or
    a full model folder (``config.json``). Sampling uses the preset's GRPO settings (temperature,
    top-p, ``max_completion_length``). Loads torch and transformers: call it only when a
    checkpoint exists (`trained_checkpoint`).
    """
    from omni_r1_lite.models import load_thinker, suppress_token_ids
    from omni_r1_lite.systems.reasoner import GlobalReasoner, resolve_system1

    ckpt = Path(checkpoint)

    def fallback() -> str:  # the preset's own model (built offline for tiny-xs), only when needed
        return resolve_system1(cfg.system1.model, data_dir, cfg.seed)

    def load(path: Path):
        has_processor = (path / "preprocessor_config.json").is_file() or (path / "processor_config.json").is_file()
        return load_thinker(path, processor_name_or_path=None if has_processor else fallback())

    if (ckpt / "adapter_config.json").is_file():
        from peft import PeftModel

        recorded = json.loads((ckpt / "adapter_config.json").read_text()).get("base_model_name_or_path")
        sft = ckpt.parent.parent / "sft"
        base = sft if (sft / "config.json").is_file() else (
            Path(recorded) if recorded and (Path(recorded) / "config.json").is_file() else Path(fallback()))
        model, processor = load(base)
        model = PeftModel.from_pretrained(model, str(ckpt))
        model.eval()
    else:
        model, processor = load(ckpt)
    reasoner = GlobalReasoner(model, processor, cfg.system1, suppress_tokens=suppress_token_ids(processor.tokenizer))
    outs = reasoner.generate(sample, n=g, do_sample=True, temperature=cfg.grpo.temperature, top_p=cfg.grpo.top_p,
                             max_new_tokens=max_new_tokens or cfg.grpo.max_completion_length, seed=seed)
    return [(f"sample {i}", c.text, bool(c.finished), int(c.num_tokens)) for i, c in enumerate(outs)]
