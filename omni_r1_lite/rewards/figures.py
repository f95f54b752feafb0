"""Tables and figures of reward breakdowns (matplotlib imported lazily).

>>> from omni_r1_lite.rewards.group import RewardBreakdown
>>> b = RewardBreakdown({"format": 1.0, "r_g": 0.5}, {"format": 1.0, "r_g": 1.0}, 2.0, True, False)
>>> print(breakdown_table("demo", ["a"], [b]).to_markdown())
**demo**
<BLANKLINE>
| rollout | format | R_K | R_A | R_G | total |
|---|---|---|---|---|---|
| a | 1.00 | – | – | 1.00 | 2.00 |
"""

from __future__ import annotations

from collections.abc import Sequence

from omni_r1_lite.rewards.group import RewardBreakdown

__all__ = ["GROUP_COLORS", "breakdown_figure", "breakdown_table", "keyframe_boxes_figure"]

GROUP_COLORS = {"format": "#8d99ae", "R_K": "#e9c46a", "R_A": "#f4a261", "R_G": "#2a9d8f",
                "R_AVS": "#264653", "length": "#e76f51"}
"""One colour per paper term, in every reward figure."""

_ORDER = ("format", "R_K", "R_A", "R_G", "R_AVS", "length")


def _groups(breakdowns: Sequence[RewardBreakdown]) -> list[str]:
    """The paper terms to show: format, R_K, R_A, R_G for VOS (format, R_AVS for AVS), + length."""
    present = {g for b in breakdowns for g in b.by_group()}
    shown = ["format", "R_AVS"] if "R_AVS" in present else ["format", "R_K", "R_A", "R_G"]
    return [g for g in _ORDER if g in shown or g in present]


def breakdown_table(title: str, labels: Sequence[str], breakdowns: Sequence[RewardBreakdown],
                    components: bool = False, extra: dict[str, Sequence] | None = None):
    """A `omni_r1_lite.metrics.Table`: one row per rollout, the weighted contribution of each paper
    term (``components=True``: each component's raw value instead) and the total."""
    from omni_r1_lite.metrics.table import Table

    if components:
        cols = list(dict.fromkeys(k for b in breakdowns for k in b.values))
        get = lambda b, c: b.values.get(c)  # noqa: E731
    else:
        cols = _groups(breakdowns)
        get = lambda b, c: b.by_group().get(c)  # noqa: E731
    extra = extra or {}
    rows = []
    for i, (label, b) in enumerate(zip(labels, breakdowns)):
        row = {"rollout": label, **{c: get(b, c) for c in cols}, "total": b.total}
        row.update({k: v[i] for k, v in extra.items()})
        rows.append(row)
    columns = ["rollout", *cols, "total", *extra]
    return Table(title, columns, rows, digits={c: 2 for c in columns})


def breakdown_figure(labels: Sequence[str], breakdowns: Sequence[RewardBreakdown], title: str = "",
                     advantages: Sequence[float] | None = None, ax=None):
    """Stacked bars per rollout: each paper term's weighted contribution (negative parts below 0),
    a black tick at the total and, if given, the advantage printed above each bar."""
    import matplotlib.pyplot as plt
    import numpy as np

    groups = _groups(breakdowns)
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(labels) + 2), 3.4))
    else:
        fig = ax.figure
    x = np.arange(len(labels))
    pos, neg = np.zeros(len(labels)), np.zeros(len(labels))
    for g in groups:
        v = np.array([b.by_group().get(g, 0.0) for b in breakdowns])
        ax.bar(x, np.clip(v, 0, None), bottom=pos, color=GROUP_COLORS.get(g, "#999999"), label=g, width=0.7)
        ax.bar(x, np.clip(v, None, 0), bottom=neg, color=GROUP_COLORS.get(g, "#999999"), width=0.7,
               hatch="//", edgecolor="white")
        pos += np.clip(v, 0, None)
        neg += np.clip(v, None, 0)
    totals = [b.total for b in breakdowns]
    ax.scatter(x, totals, marker="_", s=400, color="k", zorder=3, label="total")
    if advantages is not None:
        for xi, top, a in zip(x, pos, advantages):
            ax.text(xi, top + 0.05, f"A={a:+.2f}", ha="center", va="bottom", fontsize=7)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("weighted reward")
    ax.set_title(title, fontsize=10)
    if (neg < 0).any():  # the hatched negative parts: say what they are
        ax.bar([np.nan], [0], color="white", edgecolor="0.4", hatch="//", label="penalty (below 0)")
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.28), frameon=False)  # below, never on a bar
    ax.set_ylim(min(-0.5, neg.min() - 0.2), pos.max() + 1.2)
    return fig


def keyframe_boxes_figure(sample, rollouts: dict, truth, size: float = 2.0):
    """For each named rollout (a row), its keyframes with the targets' ground-truth boxes (solid,
    ``COLORS["gt"]``) and System 2's boxes (dashed, ``COLORS["pred"]``) — what R_A compares."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from omni_r1_lite.data.media import read_frames
    from omni_r1_lite.rewards.boxes import valid_boxes
    from omni_r1_lite.viz import COLORS

    ncols = max(1, max(len(r.keyframes) for r in rollouts.values()))
    h, w = truth.masks().shape[-2:]
    fig, axes = plt.subplots(len(rollouts), ncols, figsize=(size * ncols * w / h, size * len(rollouts) + 0.3),
                             squeeze=False)
    for row, (name, r) in zip(axes, rollouts.items()):
        frames = read_frames(sample, list(r.keyframes)) if r.keyframes else []
        for i, ax in enumerate(row):
            ax.axis("off")
            if i >= len(r.keyframes):
                continue
            k = r.keyframes[i]
            ax.imshow(frames[i])
            for b in valid_boxes(truth.boxes[:, k]):
                ax.add_patch(Rectangle((b[0] - 0.5, b[1] - 0.5), b[2] - b[0] + 1, b[3] - b[1] + 1, fill=False,
                                       lw=1.5, color=COLORS["gt"]))
            for b in valid_boxes(r.boxes.get(k, [])):
                ax.add_patch(Rectangle((b[0] - 0.5, b[1] - 0.5), b[2] - b[0] + 1, b[3] - b[1] + 1, fill=False,
                                       lw=1.5, ls="--", color=COLORS["pred"]))
            ax.set_title(f"{name}: frame {k}", fontsize=7)
    fig.tight_layout()
    return fig
