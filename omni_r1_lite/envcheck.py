"""Which presets can this machine run, and why (or why not)?

>>> from omni_r1_lite.config import get_preset
>>> machine = Machine(cuda=False, gpu_memory_gb=0.0, ram_gb=16.0, gpu_name=None)
>>> check_preset(get_preset("smoke"), machine, data_dir="data").ok
True
>>> r = check_preset(get_preset("colab-3b"), machine, data_dir="data")
>>> r.ok, r.reasons[0]
(False, 'needs an NVIDIA GPU (cuda), none found')
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from omni_r1_lite.config import PRESETS, KitConfig, get_preset


@dataclass(frozen=True)
class Machine:
    """What matters about this machine for choosing a preset."""

    cuda: bool
    gpu_memory_gb: float
    ram_gb: float
    gpu_name: str | None

    @classmethod
    def detect(cls) -> Machine:
        cuda, mem, name = False, 0.0, None
        try:
            import torch

            if torch.cuda.is_available():
                cuda = True
                props = torch.cuda.get_device_properties(0)
                mem, name = props.total_memory / 2**30, props.name
        except ImportError:
            pass
        return cls(cuda=cuda, gpu_memory_gb=round(mem, 1), ram_gb=round(_ram_gb(), 1), gpu_name=name)


@dataclass
class PresetCheck:
    preset: str
    ok: bool
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _ram_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 0.0


def _downloads_present(names: tuple[str, ...], data_dir: str | os.PathLike) -> list[str]:
    """Names (from data_download.sh) that are missing under ``data_dir``."""
    try:
        from omni_r1_lite.data.download import is_present
    except ImportError:  # the download manifest is optional at this level
        def is_present(name: str, root: Path) -> bool:
            return (root / name).exists()
    root = Path(data_dir)
    return [n for n in names if not is_present(n, root)]


def check_preset(cfg: KitConfig, machine: Machine, data_dir: str | os.PathLike | None = None) -> PresetCheck:
    """Compare a preset's `Requirements` with a machine; reasons say what is missing."""
    req = cfg.requirements
    out = PresetCheck(cfg.name, ok=True)
    if req.device == "cuda":
        if not machine.cuda:
            out.reasons.append("needs an NVIDIA GPU (cuda), none found")
        elif machine.gpu_memory_gb < req.min_gpu_memory_gb:
            out.reasons.append(
                f"needs ≥ {req.min_gpu_memory_gb:g} GiB of GPU memory, {machine.gpu_name} has {machine.gpu_memory_gb:g}"
            )
    if machine.ram_gb and machine.ram_gb < req.min_ram_gb:
        out.reasons.append(f"needs ≥ {req.min_ram_gb:g} GiB of RAM, this machine has {machine.ram_gb:g}")
    missing = _downloads_present(req.needs_downloads, data_dir or cfg.data.data_dir)
    if missing:
        out.reasons.append("missing downloads: " + ", ".join(missing) + " (bash data_download.sh --only NAME)")
    if req.device == "cpu" and machine.cuda:
        out.notes.append("runs on the GPU too")
    out.ok = not out.reasons
    return out


def check_all(machine: Machine | None = None, data_dir: str | os.PathLike | None = None) -> list[PresetCheck]:
    machine = machine or Machine.detect()
    return [check_preset(get_preset(name), machine, data_dir) for name in PRESETS]
