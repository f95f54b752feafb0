"""The foundation: light import, presets, run folders, CLI."""

import json
import subprocess
import sys

import pytest

from omni_r1_lite.config import PRESETS, apply_overrides, describe, from_dict, get_preset, to_dict
from omni_r1_lite.envcheck import Machine, check_preset
from omni_r1_lite.repro import RunDir, package_versions, seed_everything


def test_import_is_light():
    code = ("import sys, omni_r1_lite, omni_r1_lite.config, omni_r1_lite.repro, omni_r1_lite.notebook, "
            "omni_r1_lite.envcheck, omni_r1_lite.cli, omni_r1_lite.data, omni_r1_lite.viz; "
            "print(sorted(m for m in ('torch', 'transformers', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_round_trip_and_document_every_field(name):
    cfg = get_preset(name)
    assert cfg.name == name
    assert from_dict(to_dict(cfg)) == cfg
    rows = describe(cfg)
    assert len(rows) > 50
    undocumented = [r[0] for r in rows if not r[2]]
    assert undocumented == []


def test_presets_are_independent_copies():
    a, b = get_preset("cpu-demo"), get_preset("cpu-demo")
    default = b.grpo.beta
    a.grpo.beta = default + 0.5
    assert b.grpo.beta == default and get_preset("cpu-demo").grpo.beta == default


def test_overrides_parse_literals_and_reject_unknown_fields():
    cfg = apply_overrides(get_preset("smoke"), ["grpo.num_generations=2", "data.eval_splits=('test_s',)",
                                                "system1.model=tiny-s"])
    assert cfg.grpo.num_generations == 2 and cfg.data.eval_splits == ("test_s",)
    assert cfg.system1.model == "tiny-s"
    with pytest.raises(KeyError):
        apply_overrides(cfg, ["grpo.no_such_field=1"])
    with pytest.raises(KeyError):
        get_preset("no-such-preset")


def test_gpu_presets_refuse_a_cpu_machine_and_say_why():
    cpu = Machine(cuda=False, gpu_memory_gb=0, ram_gb=24, gpu_name=None)
    small_gpu = Machine(cuda=True, gpu_memory_gb=8, ram_gb=24, gpu_name="tiny")
    assert check_preset(get_preset("cpu-demo"), cpu, data_dir="/nonexistent").ok
    r = check_preset(get_preset("a100-7b"), small_gpu, data_dir="/nonexistent")
    assert not r.ok
    assert any("GiB of GPU memory" in x for x in r.reasons)
    assert any("missing downloads" in x for x in r.reasons)


def test_run_dir_records_config_versions_metrics(tmp_path):
    cfg = get_preset("smoke")
    run = RunDir.create(tmp_path / "run", cfg)
    assert json.loads((run.path / "config.json").read_text())["name"] == "smoke"
    assert json.loads((run.path / "versions.json").read_text())["packages"]["numpy"]
    run.record_metrics("eval", {"jf": 0.1})
    run.record_metrics("eval", {"jf": 0.2, "j": 0.3})
    assert run.metrics() == {"eval": {"jf": 0.2, "j": 0.3}}
    RunDir.create(tmp_path / "run", cfg)  # reopening with the same config is fine
    with pytest.raises(ValueError, match=r"different config \(seed differ\)"):
        RunDir.create(tmp_path / "run", apply_overrides(cfg, ["seed=1"]))
    with pytest.raises(ValueError, match=r"sft.max_steps, system1.max_frames differ"):
        RunDir.create(tmp_path / "run", apply_overrides(cfg, ["sft.max_steps=7", "system1.max_frames=3"]))
    # a re-measured time estimate changes no result: the folder is reused and its config updated
    RunDir.create(tmp_path / "run", apply_overrides(cfg, ["requirements.est_minutes=99"]))
    assert json.loads((run.path / "config.json").read_text())["requirements"]["est_minutes"] == 99


def test_seeding_repeats_random_streams():
    import numpy as np
    import torch

    seed_everything(5)
    a = (np.random.rand(3), torch.rand(3))
    seed_everything(5)
    b = (np.random.rand(3), torch.rand(3))
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_package_versions_reports_missing_as_none():
    v = package_versions(("numpy", "surely-not-a-package-xyz"))
    assert v["numpy"] and v["surely-not-a-package-xyz"] is None


def test_cli_presets_and_show(capsys):
    from omni_r1_lite.cli import main

    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in PRESETS)
    assert main(["presets", "--show", "smoke"]) == 0
    assert "grpo.num_generations" in capsys.readouterr().out


def test_splits_come_from_the_dataset_wherever_they_are_read(tmp_path):
    """`--set data.dataset=revos` used to keep test_s/test_u/test_n, so notebooks 02, 04, 05 and the
    GRPO held-out evaluation asked ReVOS for a test_s file; the dataset's own splits are used now,
    and a split a dataset does not have is refused naming the setting."""
    from omni_r1_lite.config import DATASET_SPLITS

    revos = apply_overrides(get_preset("cpu-demo"), ["data.dataset=revos"])
    assert revos.data.splits("eval") == ("valid",) and revos.data.splits("train") == ("train",)
    for name in ("smoke", "colab-3b", "a100-7b", "eval-omni-r1"):
        cfg = get_preset(name)
        assert cfg.data.splits("eval") == DATASET_SPLITS[cfg.data.dataset]["eval"]
        assert apply_overrides(cfg, ["data.dataset=revos"]).data.splits("eval") == ("valid",)
    assert get_preset("smoke-revos").data.splits("eval") == ("valid",)
    stale = apply_overrides(revos, ["data.eval_splits=['test_s']"])
    with pytest.raises(ValueError, match=r"data.eval_splits.*revos has no split 'test_s'.*eval_splits=None"):
        stale.data.splits("eval")
    assert from_dict(to_dict(stale)).data.eval_splits == ("test_s",)  # a list read back is a tuple


def test_the_stand_in_is_refused_on_real_data_before_any_work(tmp_path):
    """It used to raise ValueError in the middle of an evaluation; now at the start, naming the fix."""
    from omni_r1_lite.config import check_system2
    from omni_r1_lite.evaluation.runner import Evaluator

    for dataset in ("refavs", "revos"):
        cfg = apply_overrides(get_preset("smoke"), [f"data.dataset={dataset}"])
        with pytest.raises(ValueError, match="system2.backend=paper"):
            Evaluator(cfg, tmp_path / "no-data", tmp_path / "run", "uniform")
        with pytest.raises(ValueError, match="standin"):
            check_system2(cfg)
    assert not (tmp_path / "run").exists() and not (tmp_path / "no-data").exists()
    check_system2(get_preset("smoke-revos"))  # OmniSynth in either layout is fine
