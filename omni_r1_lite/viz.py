"""Figures with one look everywhere: stable colours per method and per mask, saved as PNG files.

matplotlib is imported lazily, so importing this module is cheap.
"""

from __future__ import annotations

from pathlib import Path

# One colour per method / concept, used by every notebook and the report.
COLORS = {
    "ok": "#2a9d8f", "fail": "#e76f51", "neutral": "#8d99ae",
    "uniform": "#8d99ae", "base": "#e9c46a", "sft": "#f4a261", "grpo": "#2a9d8f", "oracle": "#264653",
    "continue-sft": "#e76f51", "gt": "#ff4fd8", "pred": "#00e5ff",
}


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG (creating folders) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def preset_memory_figure(checks, presets, machine):
    """Bars: GPU memory each preset needs, a line at this machine's GPU memory; teal = can run, orange = cannot."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 2.8))
    names = [c.preset for c in checks]
    need = [presets[n].requirements.min_gpu_memory_gb for n in names]
    ax.barh(names, need, color=[COLORS["ok"] if c.ok else COLORS["fail"] for c in checks])
    ax.axvline(machine.gpu_memory_gb, color="k", ls="--", lw=1)
    ax.text(machine.gpu_memory_gb, -0.6, f" this machine: {machine.gpu_memory_gb:g} GiB GPU", va="top", fontsize=8)
    ax.set_xlabel("GPU memory needed (GiB); 0 = runs on a CPU")
    ax.invert_yaxis()
    ax.set_title("Which presets can this machine run? (teal = yes, orange = no)")
    return fig


def _rgb(color: str) -> tuple[int, int, int]:
    color = COLORS.get(color, color).lstrip("#")
    return tuple(int(color[i:i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def overlay(frame, mask, color: str = "pred", alpha: float = 0.6):
    """``uint8[H, W, 3]`` frame with ``bool[H, W]`` mask blended in ``color`` (outline kept sharp).

    >>> import numpy as np
    >>> out = overlay(np.zeros((4, 4, 3), np.uint8), np.eye(4, dtype=bool), color="#ff0000", alpha=1.0)
    >>> out[0, 0].tolist(), out[0, 1].tolist()
    ([255, 0, 0], [0, 0, 0])
    """
    import numpy as np

    out = frame.astype(np.float32).copy()
    m = np.asarray(mask, bool)
    out[m] = (1 - alpha) * out[m] + alpha * np.array(_rgb(color), np.float32)
    return out.clip(0, 255).astype(np.uint8)


def clip_strip(frames, masks=None, titles=None, color: str = "gt", ncols: int | None = None, size: float = 1.8):
    """One row (or grid) of frames, masks overlaid: ``frames uint8[T, H, W, 3]``, ``masks bool[T, H, W]``."""
    import matplotlib.pyplot as plt

    n = len(frames)
    ncols = ncols or n
    nrows = (n + ncols - 1) // ncols
    h, w = frames[0].shape[:2]
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols * w / h, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = frames[i] if masks is None else overlay(frames[i], masks[i], color)
        ax.imshow(img)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    fig.tight_layout()
    return fig


def clip_viewer(sample, max_pixels: int | None = None):
    """An ipywidgets viewer: frame slider, mask overlay toggle, audio waveform, expression and type."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    import numpy as np

    from omni_r1_lite.data.media import read_audio, read_frames

    frames = read_frames(sample, max_pixels=max_pixels)
    masks = sample.load_masks()
    audio = read_audio(sample.audio_path, missing="silence", duration=float(sample.num_frames))
    seconds = len(audio) / 16000 if len(audio) else float(sample.num_frames)
    out = widgets.Output()
    slider = widgets.IntSlider(0, 0, sample.num_frames - 1, description="frame")
    show = widgets.Checkbox(True, description="mask")

    def draw(*_):
        t = slider.value
        with out:
            out.clear_output(wait=True)
            fig, (a0, a1) = plt.subplots(1, 2, figsize=(9, 2.8), gridspec_kw={"width_ratios": [1.2, 1]})
            mask = masks[t] if show.value and t < len(masks) else np.zeros(frames.shape[1:3], bool)
            a0.imshow(overlay(frames[t], mask, "gt"))
            a0.axis("off")
            a0.set_title(f"frame {t}")
            x = np.linspace(0, seconds, len(audio)) if len(audio) else np.array([0.0])
            a1.plot(x, audio if len(audio) else [0.0], lw=0.4, color=COLORS["neutral"])
            a1.axvspan(t * seconds / sample.num_frames, (t + 1) * seconds / sample.num_frames,
                       color=COLORS["pred"], alpha=0.25)
            a1.set_xlabel("seconds")
            a1.set_title("audio (16 kHz mono)")
            plt.show()

    slider.observe(draw, "value")
    show.observe(draw, "value")
    draw()
    label = widgets.HTML(f"<b>{sample.expression}</b> — <i>{sample.expression_type}</i> ({sample.split})")
    return widgets.VBox([label, widgets.HBox([slider, show]), out])


def dataset_stats_figure(samples_by_split, visibility=None):
    """Left: expressions per type per split. Right: histogram of per-frame target visibility."""
    import matplotlib.pyplot as plt
    import numpy as np

    from omni_r1_lite.data.schema import EXPRESSION_TYPES

    type_colors = dict(zip(EXPRESSION_TYPES, ["#2a9d8f", "#e9c46a", "#f4a261", "#8d99ae"]))
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 3.2))
    splits = list(samples_by_split)
    bottom = np.zeros(len(splits))
    for t in EXPRESSION_TYPES:
        counts = np.array([sum(s.expression_type == t for s in samples_by_split[sp]) for sp in splits])
        a0.bar(splits, counts, bottom=bottom, label=t, color=type_colors[t])
        bottom += counts
    a0.set_ylabel("expressions")
    a0.legend(fontsize=8)
    a0.set_title("expressions per split and type")
    if visibility is not None and len(visibility):
        a1.hist(visibility, bins=20, color=COLORS["grpo"])
        a1.set_xlabel("target visibility in a frame (0 = hidden)")
        a1.set_ylabel("frames")
        a1.set_title("how often the target is hard to see")
    else:
        a1.axis("off")
    fig.tight_layout()
    return fig


def draw_boxes(ax, boxes, color: str = "pred", lw: float = 1.5) -> None:
    """Draw ``float[N, 4]`` boxes ``(x1, y1, x2, y2)`` on a matplotlib axis."""
    import matplotlib.patches as patches

    for x1, y1, x2, y2 in boxes:
        ax.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=lw,
                                       edgecolor=COLORS.get(color, color)))


def keyframe_timeline(area, chosen, reference=None, labels=("System 1", "oracle")):
    """The target's visible area per frame, with the chosen (and reference) keyframes marked."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(8, 2.4))
    t = np.arange(len(area))
    ax.fill_between(t, area, step="mid", color=COLORS["neutral"], alpha=0.35, label="target visible area")
    for k in chosen:
        ax.axvline(k, color=COLORS["pred"], lw=2)
    if reference is not None:
        for k in reference:
            ax.axvline(k, color=COLORS["oracle"], lw=1, ls="--")
    ax.plot([], [], color=COLORS["pred"], lw=2, label=labels[0])
    if reference is not None:
        ax.plot([], [], color=COLORS["oracle"], lw=1, ls="--", label=labels[1])
    ax.set_xlabel("clip frame")
    ax.set_ylabel("pixels")
    ax.set_xticks(t)
    ax.legend(fontsize=8, loc="upper right")
    return fig


def levers_figure(table):
    """Bars of J&F per reference plan (``systems.levers.lever_table`` output), per expression type."""
    import matplotlib.pyplot as plt
    import numpy as np

    plans = list(table)
    groups = ["all"] + sorted({g for row in table.values() for g in row} - {"all"})
    fig, ax = plt.subplots(figsize=(8, 3))
    width = 0.8 / len(plans)
    colors = [COLORS["oracle"], COLORS["uniform"], COLORS["fail"], COLORS["base"]]
    for i, plan in enumerate(plans):
        vals = [table[plan].get(g, np.nan) for g in groups]
        ax.bar(np.arange(len(groups)) + i * width, vals, width, label=plan, color=colors[i % len(colors)])
    ax.set_xticks(np.arange(len(groups)) + width * (len(plans) - 1) / 2, groups)
    ax.set_ylabel("J&F (points)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, ncol=min(len(plans), 4), loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    ax.set_title("The two levers: which keyframes, and the rewrite")
    return fig


def compute_figure(rows):
    """TFLOPs per clip vs frames seen, two systems against one high-resolution system.

    ``rows``: ``compute.compare`` outputs for several ``num_frames`` (and models).
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3))
    for model, style in (("Qwen2.5-Omni-7B", "-"), ("Qwen2.5-Omni-3B", ":")):
        rs = [r for r in rows if r["model"] == model]
        if not rs:
            continue
        n = [r["frames"] for r in rs]
        ax.plot(n, [r["two_system"]["tflops"] for r in rs], style, color=COLORS["grpo"], marker="o",
                label=f"two systems ({model[-2:]})")
        ax.plot(n, [r["one_system"]["tflops"] for r in rs], style, color=COLORS["fail"], marker="s",
                label=f"one high-res system ({model[-2:]})")
    ax.set_xlabel("frames seen by System 1")
    ax.set_ylabel("TFLOPs per clip (estimate)")
    ax.legend(fontsize=8)
    ax.set_title("Resolution vs coverage: what the two-system design saves")
    return fig


def training_curves(grpo_log, sft_log=None, window: int = 10):
    """GRPO reward (and its components), KL and completion length per step; SFT loss if given."""
    import matplotlib.pyplot as plt
    import numpy as np

    def smooth(v):
        v = np.asarray(v, float)
        if len(v) < 2:
            return v
        w = max(1, min(window, len(v)))
        return np.convolve(v, np.ones(w) / w, mode="valid")

    n = 3 + (sft_log is not None)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 2.8))
    ax = axes[0]
    steps = [r["step"] for r in grpo_log]
    few = len(steps) <= 5  # a short run (smoke): points, or a single smoothed value would be invisible
    mark = {"marker": "o", "ms": 4} if few else {}
    if grpo_log:
        total = [r["reward"] for r in grpo_log] if few else smooth([r["reward"] for r in grpo_log])
        ax.plot(steps[len(steps) - len(total):], total, color=COLORS["grpo"], lw=2, label="total", **mark)
        for k in sorted(grpo_log[0]["components"]):
            raw = [r["components"].get(k, 0.0) for r in grpo_log]
            vals = raw if few else smooth(raw)
            ax.plot(steps[len(steps) - len(vals):], vals, lw=1, label=k, **mark)
    ax.set_title("GRPO reward" + ("" if few else " (smoothed)"))
    ax.set_xlabel("step")
    ax.legend(fontsize=7)
    axes[1].plot(steps, [r["kl"] for r in grpo_log], color=COLORS["fail"], **mark)
    axes[1].set_title("KL to the base (adapters off)")
    axes[1].set_xlabel("step")
    axes[2].plot(steps, [r["completion_length"] for r in grpo_log], color=COLORS["neutral"], **mark)
    axes[2].set_title("completion length (tokens)")
    axes[2].set_xlabel("step")
    if sft_log is not None:
        axes[3].plot([r["step"] for r in sft_log], [r["loss"] for r in sft_log], color=COLORS["sft"])
        axes[3].set_title("SFT warm start: loss")
        axes[3].set_xlabel("step")
    fig.tight_layout()
    return fig


def method_bars(results: dict, keys=("quality", "jf"), labels=("keyframe quality", "J&F")):
    """Bars per method (``{"sft": {"quality": .., "jf": ..}, ...}``) for each metric."""
    import matplotlib.pyplot as plt

    methods = list(results)
    fig, axes = plt.subplots(1, len(keys), figsize=(3.6 * len(keys), 2.8), squeeze=False)
    for ax, k, lab in zip(axes[0], keys, labels):
        vals = [results[m][k] for m in methods]
        ax.bar(methods, vals, color=[COLORS.get(m, COLORS["neutral"]) for m in methods])
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
        ax.set_title(lab)
        ax.set_ylim(0, max(1.0, max(vals) * 1.15) if vals else 1.0)
    fig.tight_layout()
    return fig


def _grouped_bars(ax, values: dict, categories: list, fontsize=None) -> None:
    """One group of bars per category, one bar per method (``values``: ``{method: [value, ...]}``)."""
    import numpy as np

    width = 0.8 / max(1, len(values))
    for i, (m, vals) in enumerate(values.items()):
        ax.bar(np.arange(len(categories)) + i * width, vals, width, label=m, color=COLORS.get(m, None))
    text = {} if fontsize is None else {"fontsize": fontsize}
    ax.set_xticks(np.arange(len(categories)) + width * (len(values) - 1) / 2, categories, **text)


def per_type_figure(by_method: dict):
    """Grouped bars: J&F (points) per expression type for each method (``{method: {type: jf}}``)."""
    import matplotlib.pyplot as plt
    import numpy as np

    types = sorted({t for v in by_method.values() for t in v})
    fig, ax = plt.subplots(figsize=(8, 3))
    _grouped_bars(ax, {m: [100 * v.get(t, np.nan) for t in types] for m, v in by_method.items()}, types)
    ax.set_ylabel("J&F (points)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, ncol=min(len(by_method), 6), loc="upper center", bbox_to_anchor=(0.5, -0.12),
              frameon=False)  # below the axes: never over a bar
    ax.set_title("J&F per expression type")
    return fig


def type_gains_figure(gains: dict, title: str = "GRPO − SFT per expression type"):
    """Bars of a paired J&F difference per type group, with its 95 % interval (``{group: {"diff" or
    "value", "low", "high", "n"}}``, points): where RL adds, and whether more than chance."""
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(gains)
    vals = np.array([gains[k].get("diff", gains[k].get("value")) for k in names], float)
    lo = np.array([gains[k]["low"] for k in names], float)
    hi = np.array([gains[k]["high"] for k in names], float)
    fig, ax = plt.subplots(figsize=(1.6 * max(len(names), 3) + 1.5, 2.9))
    colors = [COLORS.get("grpo", "C1") if v > 0 else COLORS.get("neutral", "grey") for v in vals]
    ax.bar(range(len(names)), vals, color=colors, yerr=[vals - lo, hi - vals], capsize=4)
    for i, (v, n) in enumerate(zip(vals, (gains[k].get("n") for k in names))):
        ax.text(i, max(v, hi[i]), f"{v:+.1f}" + (f"\nn={n}" if n else ""), ha="center", va="bottom", fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(names)), names, fontsize=8)
    ax.set_ylabel("J&F points")
    ax.set_title(title)
    top = float(np.nanmax(np.abs(np.concatenate([lo, hi, [1.0]]))))
    ax.set_ylim(min(0.0, float(np.nanmin(lo))) - 0.25 * top, max(0.0, float(np.nanmax(hi))) + 0.45 * top)
    fig.tight_layout()
    return fig


def null_probe_figure(probe: dict):
    """The null split as a hallucination probe (``{method: null_probe(records)}``): per kind of null
    expression, how often each method rewrote it into something System 2 grounds (left), and how
    often anything was segmented (right)."""
    import matplotlib.pyplot as plt
    import numpy as np

    methods = [m for m in probe if probe[m]]
    kinds = list(dict.fromkeys(k for m in methods for k in probe[m]))  # null_probe's order ("all" last)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True)
    for ax, key, title in ((axes[0], "grounded_rewrite", "rewritten into something System 2 grounds (%)"),
                           (axes[1], "segmented", "anything segmented (%)")):
        _grouped_bars(ax, {m: [probe[m].get(k, {}).get(key, np.nan) for k in kinds] for m in methods}, kinds,
                      fontsize=8)
        ax.set_ylim(0, 105)
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("% of null expressions")
    axes[0].legend(fontsize=8, ncol=min(len(methods), 6), loc="upper center", bbox_to_anchor=(1.05, -0.12),
                   frameon=False)
    fig.suptitle("Null expressions: what is not there, per kind", fontsize=10, y=1.04)
    return fig


def summary_figure(split: dict, paired: dict):
    """The evaluation's headline: J&F where the target is there and null clips segmented as empty,
    per method (``split``: `target_and_null` per method), and each step of the expected order as a
    paired difference with its 95 % bootstrap interval (``paired``: ``{"a-b": paired_difference}``)."""
    import matplotlib.pyplot as plt
    import numpy as np

    methods = list(split)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3), gridspec_kw={"width_ratios": [2, 2, 1.4]})
    for ax, key, title in ((axes[0], "jf", "J&F where the target is there"),
                           (axes[1], "null_empty", "null clips segmented as empty (%)")):
        vals = [split[m].get(key) if split[m].get(key) is not None else np.nan for m in methods]
        bars = ax.bar(range(len(methods)), vals, color=[COLORS.get(m, "0.5") for m in methods])
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
        ax.set_xticks(range(len(methods)), methods, fontsize=8)
        ax.set_ylim(0, 105)
        ax.set_title(title, fontsize=9)
    ax = axes[2]
    names = list(paired)
    for i, k in enumerate(names):
        d = paired[k]
        ax.errorbar([d["diff"]], [i], xerr=[[d["diff"] - d["low"]], [d["high"] - d["diff"]]], fmt="o", color="k",
                    capsize=3)
    ax.axvline(0, color="0.6", lw=1)
    ax.set_yticks(range(len(names)), [k.replace("-", " − ") for k in names], fontsize=8)
    ax.set_ylim(-0.7, max(len(names), 1) - 0.3)
    ax.set_xlabel("J&F difference (points), 95 % interval", fontsize=8)
    ax.set_title("each step of the order", fontsize=9)
    fig.tight_layout()
    return fig


def yes_rate_figure(summaries: dict, title: str = "OmniSynth-QA: does the model say yes to what is not there?"):
    """Per method (``{method: evaluation.qa.summarize(...)}``): the yes-rate on yes/no questions
    about things that are there and about things that are not (the hallucination probe), and the
    accuracy over all questions, each with its 95 % interval as an error bar; chance lines at 50 %."""
    import matplotlib.pyplot as plt
    import numpy as np

    keys = [("yes_rate_present", "yes-rate, present"), ("yes_rate_absent", "yes-rate, absent"),
            ("accuracy", "accuracy, all questions")]
    methods = list(summaries)
    fig, ax = plt.subplots(figsize=(8, 3))
    width = 0.8 / max(1, len(methods))
    for i, m in enumerate(methods):
        s = summaries[m]
        vals = [100 * s.get(k, {}).get("value", np.nan) for k, _ in keys]
        err = np.array([[100 * (s[k]["value"] - s[k]["low"]), 100 * (s[k]["high"] - s[k]["value"])]
                        if k in s and s[k].get("n") else [0, 0] for k, _ in keys]).T
        ax.bar(np.arange(len(keys)) + i * width, vals, width, yerr=err, capsize=3, label=m, color=COLORS.get(m, None))
    ax.axhline(50, color="grey", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(keys)) + width * (len(methods) - 1) / 2, [label for _, label in keys])
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.legend(fontsize=8, ncol=min(len(methods), 6), loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    ax.set_title(title, fontsize=10)
    return fig
