"""Seeding and run folders: every run records its resolved config, package versions and metrics.

A run folder looks like::

    runs/<preset>/
      config.json      the resolved KitConfig (the one the run used)
      versions.json    python, platform, packages, device
      metrics.json     {"<stage>": {...numbers...}} merged as stages finish
      notebooks/       executed notebooks (papermill)
      figures/         PNGs
      ...              stage outputs (adapters, JSONL logs, predictions)

>>> import tempfile, json
>>> from omni_r1_lite.config import get_preset
>>> run = RunDir.create(tempfile.mkdtemp(), get_preset("smoke"))
>>> run.record_metrics("demo", {"jf": 0.5})
>>> run.record_metrics("demo", {"j": 0.4})
>>> json.loads((run.path / "metrics.json").read_text())["demo"] == {"jf": 0.5, "j": 0.4}
True
>>> run.config().name
'smoke'
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import platform
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omni_r1_lite.config import KitConfig, from_dict, to_dict

KIT_PACKAGES = (
    "omni-r1-lite", "torch", "torchvision", "transformers", "trl", "peft", "accelerate", "sam2",
    "numpy", "scipy", "av", "moviepy", "pycocotools", "papermill", "ipywidgets", "matplotlib",
    "jupyterlab", "tokenizers",
)


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed python, numpy and (if imported or importable) torch; optionally ask torch for determinism."""
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import numpy as np

        np.random.seed(seed % 2**32)
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        pass
    try:
        import torch
    except ImportError:  # pragma: no cover
        return
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


def package_versions(names: tuple[str, ...] = KIT_PACKAGES) -> dict[str, str | None]:
    """Installed versions (None when a package is absent), without importing the packages."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def device_info() -> dict[str, Any]:
    """What torch sees: CUDA devices with their memory, or the CPU thread count."""
    info: dict[str, Any] = {"cpu_count": os.cpu_count()}
    try:
        import torch
    except ImportError:
        info["torch"] = None
        return info
    info["torch_threads"] = torch.get_num_threads()
    info["cuda"] = torch.cuda.is_available()
    if info["cuda"]:
        info["gpus"] = [
            {"name": torch.cuda.get_device_name(i),
             "memory_gb": round(torch.cuda.get_device_properties(i).total_memory / 2**30, 1),
             "bf16": torch.cuda.is_bf16_supported()}
            for i in range(torch.cuda.device_count())
        ]
    return info


def environment_record() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "device": device_info(),
    }


#: Top-level config fields that describe a preset without changing any result.
DESCRIPTIVE_FIELDS = ("description", "requirements")


def _differing(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted names of the leaves where two JSON-like configs differ.

    >>> _differing({"seed": 0, "sft": {"lr": 1, "steps": 2}}, {"seed": 0, "sft": {"lr": 3, "steps": 2}, "x": 1})
    ['sft.lr', 'x']
    """
    if isinstance(a, dict) and isinstance(b, dict):
        return [name for k in sorted(set(a) | set(b), key=str)
                for name in _differing(a.get(k), b.get(k), f"{prefix}{k}.")]
    return [] if a == b else [prefix.rstrip(".")]


@dataclass
class RunDir:
    """A run folder: resolved config, versions and metrics side by side with the outputs."""

    path: Path

    @classmethod
    def create(cls, path: str | os.PathLike, cfg: KitConfig, record_environment: bool = True) -> RunDir:
        """Create (or reopen) a run folder and write ``config.json`` and ``versions.json``.

        Reopening a folder with a *different* config raises, naming the fields that differ, so
        results of two configs never mix. Fields that change no result (`DESCRIPTIVE_FIELDS`: the
        preset's description and requirements, e.g. a re-measured time estimate) are updated instead.
        """
        run = cls(Path(path))
        run.path.mkdir(parents=True, exist_ok=True)
        (run.path / "figures").mkdir(exist_ok=True)
        cfg_file = run.path / "config.json"
        new = to_dict(cfg)
        if cfg_file.exists():
            old = json.loads(cfg_file.read_text())
            differ = [k for k in _differing(old, new) if k.split(".")[0] not in DESCRIPTIVE_FIELDS]
            if differ:
                raise ValueError(f"{cfg_file} holds a different config ({', '.join(differ[:5])}"
                                 f"{' …' if len(differ) > 5 else ''} differ); use another run folder")
            if old != new:
                _write_json(cfg_file, new)
        else:
            _write_json(cfg_file, new)
        if record_environment:
            _write_json(run.path / "versions.json", environment_record())
        return run

    @classmethod
    def open(cls, path: str | os.PathLike) -> RunDir:
        run = cls(Path(path))
        if not (run.path / "config.json").exists():
            raise FileNotFoundError(f"not a run folder (no config.json): {run.path}")
        return run

    def config(self) -> KitConfig:
        return from_dict(json.loads((self.path / "config.json").read_text()))

    def metrics(self) -> dict[str, Any]:
        f = self.path / "metrics.json"
        return json.loads(f.read_text()) if f.exists() else {}

    def record_metrics(self, stage: str, values: dict[str, Any]) -> None:
        """Merge ``values`` into ``metrics.json[stage]`` (written atomically)."""
        data = self.metrics()
        data.setdefault(stage, {}).update(values)
        _write_json(self.path / "metrics.json", data)

    def figure_path(self, name: str) -> Path:
        return self.path / "figures" / name

    def sub(self, name: str) -> Path:
        p = self.path / name
        p.mkdir(parents=True, exist_ok=True)
        return p


def default_run_dir(preset: str, root: str | os.PathLike | None = None) -> Path:
    """``$OMNI_R1_LITE_RUNS/<preset>`` (default ``runs/<preset>`` under the current folder)."""
    base = Path(root or os.environ.get("OMNI_R1_LITE_RUNS", "runs"))
    return base / preset


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
