"""A GRPO checkpoint's training state on disk, without pickle: JSON and safetensors only.

``checkpoint-<step>/`` holds

==========================  =======================================================================
``adapter/``                the PEFT adapter (``adapter_model.safetensors`` + ``adapter_config.json``)
``trainer_state.json``      format, step, seed, run fingerprint, the LR scheduler's state, the
                            optimizer's parameter groups and non-tensor per-parameter values
``optimizer.safetensors``   the optimizer's tensors (AdamW: ``step``, ``exp_avg``, ``exp_avg_sq``)
``rng-<rank>.safetensors``  each process's random number generators: torch's CPU and CUDA states as
                            tensors, Python's and NumPy's global states in the file's metadata
==========================  =======================================================================

Reading any of them runs no code, whoever wrote the folder: a run folder may be downloaded or
shared. (Earlier kits wrote ``trainer_state.pt`` with `torch.save`; such a checkpoint is never
unpickled — `checkpoint_status` calls it ``"legacy"`` and the trainer sets it aside.)
The random generators make a resumed run bit-identical to an uninterrupted one even where the
step draws from them (LoRA dropout).

>>> import tempfile, torch
>>> p = torch.nn.Parameter(torch.ones(2))
>>> opt = torch.optim.AdamW([p], lr=0.1)
>>> p.grad = torch.ones(2); opt.step()
>>> d = Path(tempfile.mkdtemp())
>>> write_state(d, {"step": 1}, opt.state_dict(), {"last_epoch": 1})
>>> meta, opt_sd, sched_sd = read_state(d)
>>> meta["step"], sched_sd, torch.equal(opt_sd["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
(1, {'last_epoch': 1}, True)
>>> opt_sd["param_groups"][0]["betas"]
(0.9, 0.999)
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

STATE_FORMAT = "omni-r1-lite-checkpoint/2"
STATE_NAME = "trainer_state.json"
OPTIMIZER_NAME = "optimizer.safetensors"
LEGACY_STATE_NAME = "trainer_state.pt"
ADAPTER_FILES = ("adapter/adapter_model.safetensors", "adapter/adapter_config.json")
CHECKPOINT_RE = re.compile(r"checkpoint-(\d+)")
_TUPLE_KEYS = frozenset({"betas"})  # optimizer settings torch keeps as tuples (JSON makes them lists)


class CheckpointError(RuntimeError):
    """A checkpoint's state cannot be read (the message names the file)."""


def rng_name(rank: int) -> str:
    return f"rng-{int(rank)}.safetensors"


def checkpoint_step(path: Path) -> int | None:
    """The step of a ``checkpoint-<step>`` folder name, None for any other name."""
    m = CHECKPOINT_RE.fullmatch(Path(path).name)
    return int(m.group(1)) if m else None


def checkpoint_status(path: Path) -> str:
    """``"complete"`` (every file this kit writes is there), ``"legacy"`` (an earlier kit's pickled
    state, never loaded) or ``"incomplete"`` (e.g. a folder a kill left half-deleted)."""
    path = Path(path)
    needed = (STATE_NAME, OPTIMIZER_NAME, rng_name(0), *ADAPTER_FILES)
    if all((path / f).is_file() for f in needed):
        return "complete"
    if (path / LEGACY_STATE_NAME).is_file() and not (path / STATE_NAME).exists():
        return "legacy"
    return "incomplete"


def _json_default(value: Any):
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in {STATE_NAME}")


def write_state(path: Path, meta: dict[str, Any], optimizer: dict[str, Any], scheduler: dict[str, Any]) -> None:
    """Write ``trainer_state.json`` and ``optimizer.safetensors`` into ``path`` (an optimizer and
    scheduler ``state_dict()``; ``meta`` holds step, seed, fingerprint)."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, values in optimizer["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    save_file(tensors, str(Path(path) / OPTIMIZER_NAME))
    doc = {"format": STATE_FORMAT, **meta, "scheduler": scheduler,
           "optimizer": {"param_groups": optimizer["param_groups"], "scalars": scalars}}
    (Path(path) / STATE_NAME).write_text(json.dumps(doc, default=_json_default, indent=1) + "\n")


def read_meta(path: Path) -> dict[str, Any]:
    """``trainer_state.json`` of a checkpoint (raises `CheckpointError` naming the file)."""
    file = Path(path) / STATE_NAME
    try:
        doc = json.loads(file.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise CheckpointError(f"{file}: not readable ({type(e).__name__}: {e})") from e
    if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{file}: not a {STATE_FORMAT} state")
    return doc


def read_state(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(meta, optimizer state_dict, scheduler state_dict)`` of a checkpoint written by `write_state`."""
    from safetensors.torch import load_file

    meta = read_meta(path)
    file = Path(path) / OPTIMIZER_NAME
    try:
        flat = load_file(str(file))
        opt = meta["optimizer"]
        state: dict[int, dict[str, Any]] = {}
        for name, value in flat.items():
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
        for idx, values in opt.get("scalars", {}).items():
            state.setdefault(int(idx), {}).update(values)
        groups = [{k: tuple(v) if k in _TUPLE_KEYS and isinstance(v, list) else v for k, v in g.items()}
                  for g in opt["param_groups"]]
        return meta, {"state": state, "param_groups": groups}, meta["scheduler"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{path}: optimizer state not readable ({type(e).__name__}: {e})") from e


# ----------------------------------------------------------------------------- random generators


def write_rng(path: Path, rank: int = 0) -> None:
    """This process's Python, NumPy and torch (CPU, every CUDA device) generator states."""
    from safetensors.torch import save_file

    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"torch_cuda.{i}"] = s
    version, internal, gauss = random.getstate()
    npst = np.random.get_state(legacy=False)
    npst["state"]["key"] = npst["state"]["key"].tolist()
    meta = {"python": json.dumps([version, list(internal), gauss]), "numpy": json.dumps(npst, default=_json_default)}
    save_file(tensors, str(Path(path) / rng_name(rank)), metadata=meta)


def restore_rng(path: Path, rank: int = 0) -> bool:
    """Set this process's generators from ``rng-<rank>.safetensors``; False when there is none
    (e.g. resuming on more processes than wrote the checkpoint)."""
    from safetensors import safe_open

    file = Path(path) / rng_name(rank)
    if not file.is_file():
        return False
    try:
        with safe_open(str(file), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        version, internal, gauss = json.loads(meta["python"])
        npst = json.loads(meta["numpy"])
        npst["state"]["key"] = np.asarray(npst["state"]["key"], dtype=np.uint32)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{file}: random generator state not readable ({type(e).__name__}: {e})") from e
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(npst)
    torch.set_rng_state(tensors["torch_cpu"])
    cuda = [tensors[k] for k in sorted((k for k in tensors if k.startswith("torch_cuda.")),
                                       key=lambda k: int(k.split(".")[1]))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[:torch.cuda.device_count()])
    return True
