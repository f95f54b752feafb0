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
                 task: str | None = None, strict: bool = True, validate: bool = False, *,
                 training: bool = False, allow_missing_audio: bool = False) -> LoadResult:
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
        training: a listing to train on: RefAVS rows whose mask folder is missing are left out
            and counted (``result.info["skipped_missing_mask_folders"]``), as Omni-R1 does;
            evaluation listings stay strict.
        allow_missing_audio: RefAVS / OmniSynth: a missing ``audio.wav`` gives ``audio_path=None``
            (the prompt then has no soundtrack) instead of an error.
    """
    data_dir = Path(data_dir)
    if cfg.data.dataset == "omnisynth":
        from omni_r1_lite.data.omnisynth import load_omnisynth

        return load_omnisynth(ensure_omnisynth(cfg, data_dir), split, task=task or "VOS", strict=strict,
                              validate=validate, allow_missing_audio=allow_missing_audio)
    if cfg.data.dataset == "omnisynth-revos":
        return load_omnisynth_revos(ensure_omnisynth(cfg, data_dir), split or "valid", strict=strict,
                                    validate=validate)
    if cfg.data.dataset == "refavs":
        from omni_r1_lite.data.refavs import find_refavs_root, load_refavs

        return load_refavs(_find(find_refavs_root, data_dir, ("refavs",), "refavs"), split, strict=strict,
                           validate=validate, allow_missing_audio=allow_missing_audio,
                           skip_missing_mask_folders=training)
    if cfg.data.dataset == "revos":
        from omni_r1_lite.data.revos import find_revos_root, load_revos

        root = _find(find_revos_root, data_dir, ("revos", "revos_official"), "revos")
        return load_revos(root, split or "valid", strict=strict, validate=validate)
    if cfg.data.dataset == "mevis":
        from omni_r1_lite.data.mevis import find_mevis_root, load_mevis

        names = [split or "valid_u"] if isinstance(split, str) or split is None else list(split)
        out = LoadResult()
        for name in names:
            part = load_mevis(_find(find_mevis_root, data_dir, ("mevis",), "mevis"), name, strict=strict,
                              validate=validate)
            out.extend(part)
            out.skipped.extend(part.skipped)
            out.info.update(part.info)
        return out
    raise ValueError(f"unknown dataset {cfg.data.dataset!r} (omnisynth, omnisynth-revos, refavs, revos or mevis)")


_ITEMS = {"refavs": "`--only refavs`", "revos": "`--only revos` (or the manual `revos-official` / `sa2va-video-data`)",
          "mevis": "`--only mevis` (manual)"}


def _find(find, data_dir: Path, folders: tuple[str, ...], dataset: str) -> Path:
    """The dataset's root under the first of ``folders`` that holds one; otherwise a `DataError`
    that says where it looked and which download item provides it."""
    from omni_r1_lite.data.schema import DataError

    for name in folders:
        try:
            return find(data_dir / name)
        except DataError:
            continue
    where = " or ".join(str(data_dir / f) for f in folders)
    raise DataError(f"no {dataset} data under {where}: get it with `bash data_download.sh` {_ITEMS[dataset]} "
                    "(`python -m omni_r1_lite.data.download` after a pip install; `--list` shows every item)")


def load_omnisynth_revos(root: str | Path, split: str | list[str], strict: bool = True,
                         validate: bool = False) -> LoadResult:
    """OmniSynth's ReVOS layout read by the real `load_revos`, then given what the OmniSynth
    stand-in, the perception track and the per-type tables need: the clip's annotation (checked
    against the frames, as `load_omnisynth` does), ``literal``/``kind``/``target_ids``, the OmniSynth
    type (``audio-visual`` too, where ReVOS's ``type_id`` knows only referring and reasoning) and
    the soundtrack from the RefAVS copy of the clip."""
    import dataclasses

    from omni_r1_lite.data.omnisynth.loader import ClipAnnotation, checked_annotation
    from omni_r1_lite.data.revos import load_revos
    from omni_r1_lite.data.schema import EXPRESSION_TYPES

    root = Path(root)
    names = [split] if isinstance(split, str) else list(split)
    out = LoadResult(info={"omnisynth_root": str(root)})
    annotations: dict[str, ClipAnnotation] = {}
    for name in names:
        base = load_revos(root / "revos", name, strict=strict, validate=validate)
        out.skipped.extend(base.skipped)
        out.info.update({k: v for k, v in base.info.items() if k != "expression_file"})
        for s in base:
            vid = s.meta["video"]
            if checked_annotation(s, vid, annotations, root / "refavs" / "annotations", strict=strict,
                                  skipped=out.skipped) is None:
                continue
            audio = root / "refavs" / "media" / vid / "audio.wav"
            kind = s.meta.get("type")
            meta = dict(s.meta, annotation=annotations[vid], annotation_path=str(annotations[vid].path),
                        target_ids=tuple(int(i) for i in s.object_ids), literal=s.meta.get("literal", ""),
                        kind=s.meta.get("kind", ""))
            out.append(dataclasses.replace(
                s, audio_path=audio if audio.is_file() else None, meta=meta,
                expression_type=kind if kind in EXPRESSION_TYPES else s.expression_type))
    return out
