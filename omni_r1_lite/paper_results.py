"""The Omni-R1 paper's headline numbers as data: Table 1 (RefAVS), Table 2 (ReVOS), and the
question-answering Tables 3 (general understanding), 8 (AVHBench hallucination) and 9.

Source: Omni-R1 (arXiv 2505.20256), camera-ready Tables 1 and 2, as transcribed in
``reference/omni-r1.md`` §6 (the ReVOS row of arXiv v1 is kept beside the camera-ready one, since
the two versions differ). All values are J&F, J or F in percent. The paper reports neither J and F
separately on ReVOS nor RefAVS's null-split S, and does not say which F (DAVIS boundary F or the
Ref-AVS toolkit's F-measure) Table 1 uses; see `omni_r1_lite.metrics`.

Markers: † = masks by SAM2 driven by the model's own grounding (the model is System 1 *and*
System 2's grounder); ‡ = Omni-R1-7B as System 1 with Sa2VA as System 2.

`PAPER_ROWS` maps the kit's evaluation methods to the row of each table they reproduce (the
``uniform`` and ``oracle`` baselines have no counterpart in the paper).

>>> TABLE1["Omni-R1-7B †"]["seen"]["J&F"], TABLE1["Omni-R1-7B †"]["unseen"]["J&F"]
(47.2, 74.2)
>>> TABLE2[PAPER_ROWS["revos"]["omni-r1"]]["overall"]
44.7
>>> [k for k, r in TABLE8.items() if round(100 * r["correct"] / AVHBENCH_JUDGE_QUESTIONS, 1) != r["accuracy"]]
['AVS, 10,400 samples']

(3120 / 5302 is 58.85 %, which the paper prints as 58.9; every other row's accuracy is its count.)
>>> all(abs((r["seen"]["J"] + r["seen"]["F"]) / 2 - r["seen"]["J&F"]) <= 0.051 for r in TABLE1.values())
True
>>> TABLE5["Qwen2.5-Omni grounding (original)"] == TABLE2["Omni-R1-7B † (camera-ready)"]
True
"""

from __future__ import annotations

SOURCE = ("Omni-R1 (arXiv 2505.20256), camera-ready Tables 1, 2, 3, 5, 8 and 9; reference/omni-r1.md §6-7")
"""Where the numbers come from."""

PAPER_PRESETS = ("a100-7b", "eval-omni-r1")
"""Presets whose setting is the paper's (Qwen2.5-Omni-7B policy, SAM2.1 large): their tables show
the paper's numbers beside the kit's."""


def _avs(seen: tuple[float, float, float], unseen: tuple[float, float, float]) -> dict[str, dict[str, float]]:
    return {name: dict(zip(("J&F", "J", "F"), v)) for name, v in (("seen", seen), ("unseen", unseen))}


TABLE1: dict[str, dict[str, dict[str, float]]] = {
    "AVSBench + text": _avs((37.2, 23.2, 51.1), (43.5, 32.4, 54.7)),
    "AVSegFormer + text": _avs((40.2, 33.5, 47.0), (43.1, 36.1, 50.1)),
    "GAVS + text": _avs((39.4, 28.9, 49.8), (39.8, 29.8, 49.7)),
    "ReferFormer + audio": _avs((40.7, 31.3, 50.1), (39.6, 30.4, 48.8)),
    "R2VOS + audio": _avs((33.0, 25.0, 41.0), (38.9, 27.9, 49.8)),
    "EEMC (Ref-AVS SOTA)": _avs((42.8, 34.2, 51.3), (57.2, 49.5, 64.8)),
    "Qwen2.5-Omni-7B †": _avs((31.6, 27.7, 35.5), (62.3, 59.0, 65.7)),
    "Qwen2.5-Omni-7B † (SFT)": _avs((39.1, 35.4, 42.8), (66.2, 63.1, 69.3)),
    "Omni-R1-7B †": _avs((47.2, 43.0, 51.4), (74.2, 71.3, 77.0)),
}
"""RefAVS-Bench test: ``{row: {"seen"|"unseen": {"J&F", "J", "F"}}}`` (percent)."""

_NA = None
REVOS_COLUMNS = ("referring", "reasoning", "single", "multi", "overall")
"""The columns of Tables 2 and 5 (ReVOS valid, J&F)."""
TABLE2: dict[str, dict[str, float | None]] = {
    name: dict(zip(REVOS_COLUMNS, values))
    for name, values in {
        "LISA-13B": (_NA, _NA, _NA, _NA, 41.6),
        "TrackGPT-13B": (_NA, _NA, _NA, _NA, 45.0),
        "VISA-13B": (_NA, _NA, _NA, _NA, 50.9),
        "Sa2VA-8B": (_NA, _NA, _NA, _NA, 57.6),
        "Sa2VA-26B": (_NA, _NA, _NA, _NA, 58.4),
        "Qwen2.5-Omni-7B †": (46.3, 26.9, 38.6, 37.4, 36.6),
        "Omni-R1-7B † (camera-ready)": (52.5, 36.9, 45.0, 46.6, 44.7),
        "Omni-R1-7B † (arXiv v1)": (53.2, 41.9, 48.3, 46.5, 47.6),
        "Omni-R1-8B ‡ (Sa2VA-1B)": (61.6, 50.7, 56.6, 47.3, 56.2),
        "Omni-R1-11B ‡ (Sa2VA-4B)": (64.1, 53.7, 59.2, 51.0, 58.9),
    }.items()
}
"""ReVOS valid, J&F per column: ``{row: {"referring", "reasoning", "single", "multi", "overall"}}``
(percent; ``None`` where the paper gives no value)."""

MEVIS: dict[str, float] = {
    "Sa2VA-1B": 53.4,
    "Sa2VA-4B": 55.4,
    "Qwen2.5-Omni-7B †": 33.6,
    "Omni-R1-8B ‡ (Sa2VA-1B)": 55.4,
}
"""MeViS val_u J&F (percent); the paper gives no Omni-R1-7B † row for MeViS."""

PAPER_ROWS: dict[str, dict[str, str]] = {
    "refavs": {
        "base": "Qwen2.5-Omni-7B †",
        "sft": "Qwen2.5-Omni-7B † (SFT)",
        "grpo": "Omni-R1-7B †",
        "omni-r1": "Omni-R1-7B †",
    },
    "revos": {
        "base": "Qwen2.5-Omni-7B †",
        "grpo": "Omni-R1-7B † (camera-ready)",
        "omni-r1": "Omni-R1-7B † (camera-ready)",
    },
    "mevis": {"base": "Qwen2.5-Omni-7B †"},
}
"""Kit method → the paper row it reproduces, per benchmark (the paper has no ReVOS SFT row)."""


TABLE3: dict[str, dict[str, float | None]] = {
    name: dict(zip(("omnibench", "videomme", "videomme-short", "mvbench"), values))
    for name, values in {
        "Qwen2.5-VL-7B (CoT)": (_NA, 56.1, 71.3, 57.4),
        "LLaVA-OneVision-7B": (_NA, 58.2, _NA, 56.7),
        "Kangaroo-8B": (_NA, 56.0, _NA, 61.1),
        "VideoChat-R1": (_NA, _NA, 72.2, 67.9),
        "Video-R1": (_NA, 59.3, _NA, 63.9),
        "Sa2VA-26B": (_NA, 52.6, _NA, _NA),
        "VITA-1.5-7B": (33.4, 57.3, _NA, 55.5),
        "MiniCPM-o 2.6": (40.5, 63.4, _NA, 58.6),
        "Baichuan-Omni-1.5": (42.9, 60.1, _NA, 63.7),
        "Qwen2.5-Omni-7B": (47.3, 58.3, 69.8, 66.1),
        "Omni-R1-7B": (49.3, 60.7, 73.0, 70.3),
    }.items()
}
"""Table 3, general understanding zero-shot after VOS + AVS RL: accuracy in percent on OmniBench,
VideoMME (all durations, "general"; and its short videos), MVBench (``None``: not reported)."""

TABLE8: dict[str, dict[str, float]] = {
    "Base Qwen2.5-Omni-7B": {"correct": 3100, "accuracy": 58.5},
    "AVS, 1,600 samples": {"correct": 3222, "accuracy": 60.8},
    "AVS, 1,600 samples, beta = 0.001": {"correct": 3261, "accuracy": 61.5},
    "AVS, 10,400 samples": {"correct": 3120, "accuracy": 58.9},
    "VOS (ReVOS + MeViS)": {"correct": 3500, "accuracy": 66.0},
    "AVS + VOS": {"correct": 3811, "accuracy": 71.9},
}
"""Table 8, hallucination on AVHBench's judge subset (5,302 yes/no questions): correct answers and
accuracy in percent, per training setting."""
AVHBENCH_JUDGE_QUESTIONS = 5302

TABLE9: dict[str, dict[str, float]] = {
    "Qwen2.5-Omni-7B, 128 px, no think": {"videomme": 58.3, "videomme-short": 69.8, "mvbench": 66.1},
    "Qwen2.5-Omni-7B, 256 px, think": {"videomme": 59.8, "videomme-short": 70.9, "mvbench": 68.3},
    "Omni-R1-VOS-AVS, 128 px, think": {"videomme": 60.7, "videomme-short": 73.0, "mvbench": 70.3},
}
"""Table 9, resolution and thinking prompt (the rows with single values; the AVS-only and VOS-only
rows are ranges in the paper, see ``reference/omni-r1.md`` §7)."""

TABLE5: dict[str, dict[str, float]] = {
    name: dict(zip(REVOS_COLUMNS, values))
    for name, values in {
        "Qwen2.5-Omni grounding (original)": (52.5, 36.9, 45.0, 46.6, 44.7),
        "VisionReasoner during training only": (52.2, 39.4, 45.4, 49.2, 45.8),
        "VisionReasoner at training and inference": (55.5, 41.7, 49.1, 44.7, 48.6),
    }.items()
}
"""Table 5, the System-2 grounding model on ReVOS valid (J&F %): the grounder used during GRPO and at
inference. The original row is Table 2's Omni-R1-7B † (camera-ready). Table 6: with VisionReasoner in
training, SAM2 45.8 vs EfficientTAM 44.9 overall."""

TABLE5_ROWS: dict[str, str] = {
    "paper": "Qwen2.5-Omni grounding (original)",
    "visionreasoner": "VisionReasoner at training and inference",
}
"""``system2.backend`` at inference → the Table 5 row it corresponds to when the policy was also
trained with it (``sa2va``: Table 2's ‡ rows instead; Sa2VA was never a training-time System 2)."""

QA_PAPER_ROWS: dict[str, dict[str, str]] = {
    "table3": {"base": "Qwen2.5-Omni-7B", "grpo": "Omni-R1-7B", "omni-r1": "Omni-R1-7B"},
    "table8": {"base": "Base Qwen2.5-Omni-7B", "grpo": "AVS + VOS", "omni-r1": "AVS + VOS"},
}
"""Kit method → the paper row of Tables 3 and 8 it reproduces (no SFT rows there)."""


def is_paper_setting(preset: str) -> bool:
    """Whether a preset runs the paper's setting, so that its numbers are comparable.

    >>> is_paper_setting("a100-7b"), is_paper_setting("smoke")
    (True, False)
    """
    return preset in PAPER_PRESETS
