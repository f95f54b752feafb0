"""Figures with one look everywhere: stable colours per method and per mask, saved as PNG files.

matplotlib is imported lazily, so importing this module is cheap.
"""

from __future__ import annotations

from pathlib import Path

# One colour per method / concept, used by every notebook and the report.
COLORS = {
    "ok": "#2a9d8f", "fail": "#e76f51", "neutral": "#8d99ae",
    "uniform": "#8d99ae", "base": "#e9c46a", "sft": "#f4a261", "grpo": "#2a9d8f", "oracle": "#264653",
    "continue-sft": "#e76f51", "gt": "#2a9d8f", "pred": "#e63946",
}


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG (creating folders) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def preset_memory_figure(checks, presets, machine):
    """Bars: GPU memory each preset needs, a line at this machine's GPU memory; green = can run."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 2.8))
    names = [c.preset for c in checks]
    need = [presets[n].requirements.min_gpu_memory_gb for n in names]
    ax.barh(names, need, color=[COLORS["ok"] if c.ok else COLORS["fail"] for c in checks])
    ax.axvline(machine.gpu_memory_gb, color="k", ls="--", lw=1)
    ax.text(machine.gpu_memory_gb, -0.6, f" this machine: {machine.gpu_memory_gb:g} GiB GPU", va="top", fontsize=8)
    ax.set_xlabel("GPU memory needed (GiB); 0 = runs on a CPU")
    ax.invert_yaxis()
    ax.set_title("Which presets can this machine run? (green = yes)")
    return fig
