"""One entry point from a preset to its samples: OmniSynth (generated on demand), RefAVS or ReVOS.

Every notebook and CLI command goes through `load_samples`, so a notebook runs alone from files:
if the preset's OmniSynth set is not under ``DATA_DIR`` yet, it is generated (seconds), and a set
generated with another configuration is never reused by mistake (its folder name carries a hash of
the generator's configuration).

>>> import tempfile
>>> from omni_r1_lite.config import get_preset
>>> cfg = get_preset("smoke")
>>> root = tempfile.mkdtemp()
>>> samples = load_samples(cfg, root, "test_s")
>>> samples[0].split, samples[0].dataset, ensure_omnisynth(cfg, root) == ensure_omnisynth(cfg, root)
('seen', 'omnisynth', True)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from omni_r1_lite.config import KitConfig
from omni_r1_lite.data.loading import LoadResult


def omnisynth_config(cfg: KitConfig):
    """The OmniSynth generator configuration a preset asks for.

    Split sizes: ``train`` = ``data.synth_train_clips``; ``seen``, ``unseen`` =
    ``data.synth_eval_clips``; ``null`` = half of it; ``val`` = a quarter (at least 2).
    """
    from omni_r1_lite.data.omnisynth import OmniSynthConfig

    n = cfg.data.synth_eval_clips
    return OmniSynthConfig(
        seed=cfg.data.synth_seed,
        clips={"train": cfg.data.synth_train_clips, "val": max(2, n // 4), "seen": n, "unseen": n,
               "null": max(1, n // 2)},
        num_frames=cfg.data.synth_num_frames,
        seconds_per_frame=cfg.data.synth_seconds_per_frame,
    )


def _fingerprint(synth_cfg) -> str:
    import dataclasses

    blob = json.dumps(dataclasses.asdict(synth_cfg), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def ensure_omnisynth(cfg: KitConfig, data_dir: str | Path) -> Path:
    """Path of the preset's OmniSynth set under ``data_dir/omnisynth/``, generating it if absent.

    An interrupted generation (no ``omnisynth.json`` written at the end) is regenerated.
    """
    from omni_r1_lite.data.omnisynth import generate

    synth_cfg = omnisynth_config(cfg)
    root = Path(data_dir) / "omnisynth" / f"seed{synth_cfg.seed}-{_fingerprint(synth_cfg)}"
    if not (root / "omnisynth.json").exists():
        generate(root, synth_cfg, overwrite=True)
    return root


def load_samples(cfg: KitConfig, data_dir: str | Path, split: str | list[str] | None,
                 task: str | None = None, strict: bool = True, validate: bool = False) -> LoadResult:
    """Samples of a split for the preset's dataset.

    Args:
        split: the dataset's split name(s); OmniSynth accepts its own (``seen``) or the RefAVS
            names (``test_s``).
        task: ``"VOS"`` or ``"AVS"`` to re-tag OmniSynth samples (RefAVS is AVS, ReVOS is VOS).
        strict: raise the first bad sample's `DataError` (it names the file), else skip it and
            record it in ``result.skipped``.
        validate: decode every frame, mask and audio file while listing, for every dataset
            (`omni_r1_lite.data.loading.validate_sample`; the evaluation validates each sample as
            it scores it instead, so that a bad one becomes an error row).
    """
    data_dir = Path(data_dir)
    if cfg.data.dataset == "omnisynth":
        from omni_r1_lite.data.omnisynth import load_omnisynth

        return load_omnisynth(ensure_omnisynth(cfg, data_dir), split, task=task or "VOS", strict=strict,
                              validate=validate)
    if cfg.data.dataset == "refavs":
        from omni_r1_lite.data.refavs import find_refavs_root, load_refavs

        return load_refavs(find_refavs_root(data_dir / "refavs"), split, strict=strict, validate=validate)
    if cfg.data.dataset == "revos":
        from omni_r1_lite.data.revos import find_revos_root, load_revos

        return load_revos(find_revos_root(data_dir / "revos"), split or "valid", strict=strict, validate=validate)
    raise ValueError(f"unknown dataset {cfg.data.dataset!r} (omnisynth, refavs or revos)")
