"""Evaluation: methods on the smoke OmniSynth set, resume, sharding, bad input, CLI, paper tables."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from omni_r1_lite.config import apply_overrides, get_preset
from omni_r1_lite.data.schema import DataError
from omni_r1_lite.evaluation import (
    Evaluator,
    MissingWeightsError,
    RecordsError,
    StaleResultsError,
    build_scorer,
    evaluate_split,
    read_records,
    render_results,
    results_table,
    shard,
)
from omni_r1_lite.evaluation.records import replay

SPLITS = ("test_s", "test_u", "test_n")


def _strip(records):
    """Records without their timing (the only field that differs between two runs)."""
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.fixture(scope="module")
def cfg():
    return get_preset("smoke")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("eval_data")


@pytest.fixture(scope="module")
def reference_run(cfg, data_dir, tmp_path_factory):
    """uniform and oracle over the smoke eval splits, uninterrupted, in one process."""
    run = tmp_path_factory.mktemp("run_ref")
    results = {(m, s): evaluate_split(cfg, data_dir, s, m, run, progress=False)
               for m in ("uniform", "oracle") for s in SPLITS}
    return run, results


def test_oracle_beats_uniform_and_tables_are_written(reference_run):
    run, results = reference_run
    for split in ("seen", "unseen"):
        t = {m: results[(m, {"seen": "test_s", "unseen": "test_u"}[split])].table("refavs").row(split)
             for m in ("uniform", "oracle")}
        assert t["oracle"]["J&F"] > t["uniform"]["J&F"]
    res = results[("uniform", "test_s")]
    assert res.path == run / "eval" / "uniform" / "seen.jsonl" and len(res.scored) == 4 and not res.errors
    rec = res.scored[0]
    for key in ("sample_id", "split", "type", "completion", "keyframes", "descriptions", "plan_ok", "issues",
                "J", "F", "JF", "J_avs", "F_avs", "S", "A", "R", "seconds"):
        assert key in rec
    assert rec["completion"] is None and rec["split"] == "seen" and rec["keyframes"] == [0, 2, 5, 7]
    md = results_table(run)
    assert "| uniform |" in md and "| oracle |" in md and "per expression type" in md and "null S" in md
    saved = json.loads((run / "eval" / "results.json").read_text())
    assert set(saved["datasets"]["omnisynth"]["methods"]) == {"uniform", "oracle"}
    metrics = json.loads((run / "metrics.json").read_text())["eval"]
    assert metrics["omnisynth/oracle/seen/J&F"] > metrics["omnisynth/uniform/seen/J&F"]
    assert "omnisynth/uniform/null/S" in metrics


def test_resume_after_interruption_gives_identical_records_and_table(cfg, data_dir, reference_run, tmp_path):
    ref_run, results = reference_run
    calls = []

    def boom(record, done, total):
        calls.append(record["sample_id"])
        if done == 2:
            raise KeyboardInterrupt("simulated kill after 2 samples")

    with pytest.raises(KeyboardInterrupt):
        evaluate_split(cfg, data_dir, "test_s", "uniform", tmp_path, progress=False, callback=boom)
    path = tmp_path / "eval" / "uniform" / "seen.jsonl"
    assert len(read_records(path)) == 2
    with path.open("a") as fh:  # a kill in the middle of writing the third record
        fh.write('{"index": 2, "sample_id": "test_s/osyn')
    calls.clear()
    resumed = evaluate_split(cfg, data_dir, "test_s", "uniform", tmp_path, progress=False,
                             callback=lambda r, d, t: calls.append(r["sample_id"]))
    reference = results[("uniform", "test_s")]
    assert len(calls) == 2  # only the two unfinished samples were computed
    assert _strip(resumed.records) == _strip(reference.records)
    for bench in ("vos", "refavs"):
        assert resumed.table(bench).to_dicts() == reference.table(bench).to_dicts()


def test_sharded_run_merges_to_the_single_process_table(cfg, data_dir, reference_run, tmp_path):
    _, results = reference_run
    ev = Evaluator(cfg, data_dir, tmp_path, "oracle", progress=False)
    ev.run_split("test_s", rank=1, world_size=2, merge=False)
    ev.run_split("test_s", rank=0, world_size=2, merge=False)
    mdir = tmp_path / "eval" / "oracle"
    ids = [{r["sample_id"] for r in read_records(mdir / f"seen.rank{r}.jsonl")} for r in (0, 1)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]
    ev.merge_split("seen")
    assert not list(mdir.glob("seen.rank*.jsonl"))
    merged, reference = ev.result("seen"), results[("oracle", "test_s")]
    assert _strip(merged.records) == _strip(reference.records)
    assert merged.table("refavs").to_dicts() == reference.table("refavs").to_dicts()
    assert shard(5, 1, 2) == [1, 3]


def test_replayed_records_rebuild_the_live_scorer_exactly():
    from omni_r1_lite.metrics import BenchmarkScorer

    rng = np.random.default_rng(0)
    for bench, groups in (("refavs", ["seen", "unseen", "null"]), ("vos", ["a", "b"]), ("revos", [0, 1, 2])):
        live, records = BenchmarkScorer(bench, keep_records=False), []
        for i in range(7):
            gt = np.zeros((3, 20, 24), bool)
            if i % 3:
                gt[:, 4:12, 5:15] = True
            pred = rng.random(gt.shape) > 0.7
            group, tags = groups[i % len(groups)], [f"type: {'ab'[i % 2]}"]
            rec = live.add(str(i), group, pred, gt, tags=tags)
            records.append({**rec, "score_group": group, "tags": tags})
        rebuilt = BenchmarkScorer(bench, keep_records=False)
        for r in json.loads(json.dumps(records)):  # through JSON, as on disk
            replay(rebuilt, r)
        assert rebuilt.table().to_dicts() == live.table().to_dicts()
        assert build_scorer(bench, records).table().to_dicts() == live.table().to_dicts()


def test_tiny_base_model_runs_greedily_and_junk_scores_as_empty_masks(cfg, data_dir, tmp_path):
    res = evaluate_split(cfg, data_dir, "test_s", "base", tmp_path, progress=False, max_samples=2,
                         max_new_tokens=24)
    assert len(res.scored) == 2
    for r in res.scored:
        assert isinstance(r["completion"], str) and r["num_tokens"] > 0
        assert r["plan_ok"] is False and r["keyframes"] == [] and r["pred_frames"] == 0
        empty_fraction = (r["n_frames"] - r["gt_frames"]) / r["n_frames"]
        assert r["J"] == r["F"] == r["JF"] == empty_fraction  # DAVIS: empty vs empty = 1, else 0
    meta = json.loads((tmp_path / "eval" / "base" / "seen.meta.json").read_text())
    assert meta["inputs"]["method"] == "base" and "tiny-xs" in meta["inputs"]["weights"]["model"]


def test_grpo_adapter_is_loaded_with_peft_and_missing_one_is_explained(cfg, data_dir, tmp_path):
    with pytest.raises(MissingWeightsError) as e:
        Evaluator(cfg, data_dir, tmp_path, "grpo")
    assert str(tmp_path / "grpo" / "adapter") in str(e.value) and "04_grpo_training" in str(e.value)

    from peft import LoraConfig, PeftModel, get_peft_model

    from omni_r1_lite.evaluation.methods import base_weights
    from omni_r1_lite.models import load_thinker

    base = base_weights(cfg, data_dir).model
    model, _ = load_thinker(base, device="cpu")
    peft_model = get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    peft_model.save_pretrained(tmp_path / "grpo" / "adapter")
    ev = Evaluator(cfg, data_dir, tmp_path, "grpo", progress=False, max_samples=1, max_new_tokens=8)
    assert ev.weights.adapter == str(tmp_path / "grpo" / "adapter") and Path(ev.weights.model) == Path(base)
    res = ev.run_split("test_u", rank=0, world_size=1)
    assert isinstance(ev.model, PeftModel) and len(res.scored) == 1


def test_bad_media_gives_error_rows_or_raises_in_strict_mode(cfg, tmp_path):
    data = tmp_path / "data"
    samples = Evaluator(cfg, data, tmp_path / "probe", "uniform").samples("test_s")
    bad = samples[1]
    png = sorted(Path(bad.meta["gt_mask_dir"]).glob("*.png"))[0]
    good = png.read_bytes()
    png.unlink()  # OmniSynth hard-links identical masks: replace the file, do not edit it in place
    png.write_bytes(b"not a png")
    res = evaluate_split(cfg, data, "test_s", "uniform", tmp_path / "lenient", progress=False)
    assert len(res.scored) == 3 and len(res.errors) == 1
    err = res.errors[0]
    assert err["sample_id"] == bad.sample_id and str(png) in err["error"] and "JF" not in err
    assert "| 1 |" in results_table(tmp_path / "lenient")  # counted in the summary
    with pytest.raises(DataError, match=str(png)):
        evaluate_split(cfg, data, "test_s", "uniform", tmp_path / "strict", progress=False, strict=True)
    png.write_bytes(good)  # fixed: a new run retries the error row only
    calls = []
    res = evaluate_split(cfg, data, "test_s", "uniform", tmp_path / "lenient", progress=False,
                         callback=lambda r, d, t: calls.append(r["sample_id"]))
    assert calls == [bad.sample_id] and len(res.scored) == 4 and not res.errors
    # a missing frame folder is caught when listing: an error row too
    shutil.rmtree(samples[3].frame_dir)
    res = evaluate_split(cfg, data, "test_s", "uniform", tmp_path / "listing", progress=False)
    listing = [r for r in res.errors if r.get("stage") == "listing"]
    assert listing and all(str(samples[3].frame_dir.parent.name) in r["error"] for r in listing)


def test_jsonl_tolerates_only_a_truncated_last_line(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"sample_id": "a", "index": 0}\n{"sample_id": "b", "index": 1}\n{"sample_id": "c", "in')
    assert [r["sample_id"] for r in read_records(p)] == ["a", "b"]
    assert p.read_text().endswith('"in')  # reading alone does not modify the file
    read_records(p, repair=True)
    assert p.read_text().endswith("}\n") and len(read_records(p)) == 2
    p.write_text('{"sample_id": "a"}\ngarbage\n{"sample_id": "b"}\n')
    with pytest.raises(RecordsError, match="x.jsonl:2"):
        read_records(p)


def test_stale_results_are_refused_unless_overwritten(cfg, data_dir, tmp_path):
    evaluate_split(cfg, data_dir, "test_n", "uniform", tmp_path, progress=False, max_samples=1)
    other = apply_overrides(cfg, ["system1.max_keyframes=2"])
    with pytest.raises(StaleResultsError, match="max_keyframes"):
        evaluate_split(other, data_dir, "test_n", "uniform", tmp_path, progress=False, max_samples=1)
    res = evaluate_split(other, data_dir, "test_n", "uniform", tmp_path, progress=False, max_samples=1,
                         overwrite=True)
    assert len(res.scored) == 1 and len(res.scored[0]["keyframes"]) == 2
    # a stand-in System 2 that answers differently (code, not config) does not resume them either
    from omni_r1_lite.systems.standin import OmniSynthStandIn

    old = OmniSynthStandIn(unresolved="nothing")
    with pytest.raises(StaleResultsError):
        evaluate_split(other, data_dir, "test_n", "uniform", tmp_path, progress=False, max_samples=1, system2=old)
    evaluate_split(other, data_dir, "test_n", "uniform", tmp_path, progress=False, max_samples=1,
                   system2=OmniSynthStandIn())  # the default stand-in: the stored results resume


def test_released_and_base_weights_of_the_eval_preset_resolve_without_loading(tmp_path):
    from omni_r1_lite.evaluation import resolve_weights

    cfg = get_preset("eval-omni-r1")
    omni = resolve_weights("omni-r1", cfg, tmp_path)
    base = resolve_weights("base", cfg, tmp_path)
    assert (omni.model, omni.processor, omni.adapter) == ("Haoz0206/Omni-R1", "Qwen/Qwen2.5-Omni-7B", None)
    assert base.model == "Qwen/Qwen2.5-Omni-7B" and base.adapter is None
    local = tmp_path / "models" / "Omni-R1"
    local.mkdir(parents=True)
    (local / "config.json").write_text("{}")
    assert resolve_weights("omni-r1", cfg, tmp_path).model == str(local)  # data_download.sh's copy first


def test_oracle_needs_omnisynth():
    from omni_r1_lite.data.schema import EmptyMasks, Sample
    from omni_r1_lite.evaluation.methods import ReferenceMethod

    s = Sample("v/e", "revos", "VOS", "valid", Path("."), ("0.jpg",), None, "x", "referring", (1,),
               EmptyMasks(1, 2, 2, 1))
    with pytest.raises(ValueError, match="OmniSynth"):
        ReferenceMethod("oracle").propose(s, None)


def test_cli_evaluate_writes_the_expected_files(data_dir, tmp_path, capsys):
    from omni_r1_lite.cli import main

    run = tmp_path / "run"
    assert main(["evaluate", "--preset", "smoke", "--method", "uniform", "--max-samples", "2", "--run-dir",
                 str(run), "--data-dir", str(data_dir), "--no-progress", "--set", "eval.save_predictions=True"]) == 0
    for split in ("seen", "unseen", "null"):
        assert len(read_records(run / "eval" / "uniform" / f"{split}.jsonl")) == 2
        assert (run / "eval" / "uniform" / f"{split}.meta.json").exists()
    assert (run / "eval" / "results.json").exists() and (run / "config.json").exists()
    assert "eval" in json.loads((run / "metrics.json").read_text())
    assert "| uniform |" in capsys.readouterr().out
    rec = read_records(run / "eval" / "uniform" / "seen.jsonl")[0]
    pngs = sorted((run / "eval" / "uniform" / "predictions" / "seen" / rec["sample_id"]).glob("*.png"))
    assert len(pngs) == rec["n_frames"]


def _fake_results(preset: str) -> dict:
    def refavs_rows(jf):
        return [{"split": "seen", "n": 10, "J": jf - 2, "F_boundary": jf + 2, "J&F": jf, "J_avs": jf - 3,
                 "F_avs": jf + 3, "J&F_avs": jf, "S": None},
                {"split": "unseen", "n": 10, "J": jf + 8, "F_boundary": jf + 12, "J&F": jf + 10, "J_avs": 1.0,
                 "F_avs": 2.0, "J&F_avs": 1.5, "S": None},
                {"split": "null", "n": 5, "J": None, "F_boundary": None, "J&F": None, "J_avs": None,
                 "F_avs": None, "J&F_avs": None, "S": 0.123}]

    revos_rows = [{"group": g, "n": 3, "J": 1.0, "F": 2.0, "J&F": v, "A": 1.0, "R": 1.0}
                  for g, v in (("referring", 40.0), ("reasoning", 30.0), ("overall", 35.0), ("single", 36.0),
                               ("multi", 33.0))]
    info = {"n": 10, "errors": 0, "error_examples": [], "parse_ok": 1.0, "finished": 1.0, "seconds_per_sample": 2.0}
    return {"format": "omni-r1-lite-eval/1", "preset": preset, "paper_setting": preset in ("a100-7b", "eval-omni-r1"),
            "datasets": {
                "refavs": {"methods": {m: {"splits": {"test_s": info}, "tables": {"refavs": refavs_rows(jf)}}
                                       for m, jf in (("uniform", 20.0), ("grpo", 45.5))}},
                "revos": {"methods": {"omni-r1": {"splits": {"valid": info}, "tables": {"revos": revos_rows}}}},
            }}


def test_paper_numbers_appear_beside_ours_for_paper_presets():
    md = render_results(_fake_results("a100-7b"))
    lines = md.splitlines()
    grpo = next(i for i, line in enumerate(lines) if line.startswith("| grpo | 45.5"))
    assert lines[grpo + 1].startswith("| paper: Omni-R1-7B † | 47.2 | 43.0 | 51.4 | 74.2 | 71.3 | 77.0 |")
    assert "| paper: EEMC (Ref-AVS SOTA) | 42.8" in md  # the paper's other rows close the table
    assert "| uniform | 20.0 |" in md and "| paper: Qwen2.5-Omni-7B † (SFT) |" in md
    revos = next(i for i, line in enumerate(lines) if line.startswith("| omni-r1 | 40.0 | 30.0 | 36.0 | 33.0 | 35.0"))
    assert lines[revos + 1].startswith("| paper: Omni-R1-7B † (camera-ready) | 52.5 | 36.9 | 45.0 | 46.6 | 44.7")
    assert "0.1230" in md  # null S
    assert "paper:" not in render_results(_fake_results("colab-3b"))


def test_paired_difference_separates_a_real_gap_from_noise():
    from omni_r1_lite.evaluation.analysis import paired_difference

    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, 400)
    rec = lambda jf, t="referring": [{"sample_id": f"s{i}", "type": t, "JF": float(v)}  # noqa: E731
                                     for i, v in enumerate(jf)]
    better = np.clip(base + 0.05, 0, 1)
    d = paired_difference(rec(better), rec(base))
    assert d["n"] == 400 and 3.0 < d["diff"] < 5.1 and d["low"] > 0  # a consistent gap: beyond chance
    noisy = np.clip(base + rng.normal(0, 0.3, 400), 0, 1)
    d = paired_difference(rec(noisy), rec(base))
    assert d["low"] < d["diff"] < d["high"] and d["low"] < 0 < d["high"]  # symmetric noise: a tie
    # null samples are left out, samples are paired by id (order does not matter), and no overlap gives None
    nulls = rec(np.zeros(5), "null")
    assert paired_difference(rec(better) + nulls, list(reversed(rec(base))) + nulls)["diff"] == \
        paired_difference(rec(better), rec(base))["diff"]
    assert paired_difference(rec(better), [{"sample_id": "x", "type": "referring", "JF": 0.0}]) is None


def test_kind_gains_pair_by_sample_and_skip_incomplete_methods():
    from omni_r1_lite.evaluation.analysis import kind_gains

    def rec(i, kind, jf, typ="reasoning"):
        return {"sample_id": f"s{i}", "type": typ, "kind": kind, "JF": jf}

    uniform = [rec(0, "largest", 0.5), rec(1, "largest", 0.3), rec(2, "literal", 0.8, "referring")]
    sft = [rec(2, "literal", 0.9, "referring"), rec(1, "largest", 0.6), rec(0, "largest", 0.1)]  # other order
    partial = [rec(0, "largest", 1.0)]  # misses s1 and s2: no row value for it
    rows = kind_gains({"uniform": uniform, "sft": sft, "partial": partial})
    assert [(r["type"], r["kind"], r["n"]) for r in rows] == [("reasoning", "largest", 2), ("referring", "literal", 1)]
    assert rows[0]["uniform"] == 40.0 and rows[0]["sft"] == -5.0 and "partial" not in rows[0]
    assert rows[1]["sft"] == 10.0
    assert kind_gains({"uniform": [{"sample_id": "x", "type": "referring", "JF": 1.0}]}) == []  # no kinds


def test_info_table_tells_a_tagless_answer_from_a_well_formed_one():
    """The lenient parser reads text without <answer> tags (a random model's output "parses"); the
    info table's "tags ok %" counts only answers that followed the format."""
    from omni_r1_lite.evaluation.tables import _info_table, _split_info

    base = {"error": None, "seconds": 1.0, "finished": True}
    records = [dict(base, sample_id="a", completion="<answer>the dog</answer>", plan_ok=True, issues=[]),
               dict(base, sample_id="b", completion="random words", plan_ok=True, issues=["missing_answer_tags"]),
               dict(base, sample_id="c", completion="<answer>the", plan_ok=True, issues=["unclosed_answer"]),
               dict(base, sample_id="d", completion="", plan_ok=False, issues=["empty_output"])]
    info = _split_info(records)
    assert info["parse_ok"] == 0.75 and info["tags_ok"] == 0.25
    table = _info_table("refavs", {"m": {"splits": {"test_s": info}}})
    row = table.rows[0]
    assert row["parse ok %"] == 75.0 and row["tags ok %"] == 25.0
    assert table.columns.index("tags ok %") == table.columns.index("parse ok %") + 1


def test_one_failing_sample_is_an_error_row_and_the_rest_is_scored(cfg, tmp_path, monkeypatch):
    """Not only bad media: any failure of one sample (here the metric's shape check, as a deleted
    frame gives) becomes an error row naming the sample and the cause; strict mode still raises."""
    import omni_r1_lite.evaluation.runner as runner_mod

    data = tmp_path / "data"
    samples = Evaluator(cfg, data, tmp_path / "probe", "uniform").samples("test_s")
    bad = samples[2].sample_id
    real = runner_mod.Evaluator.evaluate_sample

    def flaky(self, i, sample):
        if sample.sample_id == bad:
            raise ValueError("pred and gt must have the same [T, H, W] shape")
        return real(self, i, sample)

    monkeypatch.setattr(runner_mod.Evaluator, "evaluate_sample", flaky)
    res = evaluate_split(cfg, data, "test_s", "uniform", tmp_path / "lenient", progress=False)
    assert len(res.scored) == len(samples) - 1 and [e["sample_id"] for e in res.errors] == [bad]
    assert res.errors[0]["error"].startswith("ValueError: pred and gt must have the same")
    assert "ValueError" in res.errors[0]["traceback"]
    with pytest.raises(ValueError, match="same"):
        evaluate_split(cfg, data, "test_s", "uniform", tmp_path / "strict", progress=False, strict=True)


def test_evaluation_validates_media_by_default(cfg, tmp_path):
    """A truncated WAV is read by no reference method: validated by default, its sample is an error
    row naming the file and both durations, the rest is scored; `validate=False` scores it."""
    data = tmp_path / "data"
    samples = Evaluator(cfg, data, tmp_path / "probe", "uniform").samples("test_s")
    bad = samples[2]
    wav = bad.audio_path
    whole = wav.read_bytes()
    wav.unlink()  # hard-linked: replace, do not cut in place
    wav.write_bytes(whole[: 44 + (len(whole) - 44) // 2])
    same_clip = [s.sample_id for s in samples if s.audio_path == wav]
    res = evaluate_split(cfg, data, "test_s", "uniform", tmp_path / "checked", progress=False)
    assert sorted(r["sample_id"] for r in res.errors) == sorted(same_clip)
    assert all(str(wav) in r["error"] and "declares" in r["error"] for r in res.errors)
    assert len(res.scored) == len(samples) - len(same_clip)
    unchecked = evaluate_split(cfg, data, "test_s", "uniform", tmp_path / "unchecked", progress=False,
                               validate=False)
    assert not unchecked.errors and len(unchecked.scored) == len(samples)


def test_the_scoring_protocol_is_a_setting_and_the_report_names_it(tmp_path):
    """eval.protocol=visa scores ReVOS (here OmniSynth in the ReVOS layout) with VISA's arithmetic:
    each record says so, resuming under another protocol is refused, the report names it."""
    from omni_r1_lite.evaluation import collect_results, render_results

    base = get_preset("smoke-revos")
    visa = apply_overrides(base, ["eval.protocol=visa"])
    data, run = tmp_path / "data", tmp_path / "run"
    res = evaluate_split(visa, data, "valid", "uniform", run, progress=False)
    assert res.scored and all(r["protocol"] == "visa" for r in res.scored)
    assert "[protocol visa]" in res.table().title
    kit = evaluate_split(base, data, "valid", "uniform", tmp_path / "kit", progress=False)
    assert [r["J"] for r in kit.scored] == [r["J"] for r in res.scored]  # J and F do not depend on it
    with pytest.raises(StaleResultsError):
        evaluate_split(base, data, "valid", "uniform", run, progress=False)
    text = render_results(collect_results(run))
    assert "scored with protocol `visa`" in text
    assert "scored with protocol `kit`" in render_results(collect_results(tmp_path / "kit"))
    with pytest.raises(ValueError, match="eval.protocol"):
        evaluate_split(apply_overrides(base, ["eval.protocol=davis"]), data, "valid", "uniform", run)


def test_sam2_feature_cache_does_not_change_the_fingerprint(tmp_path):
    """The cache changes speed, not masks: results stored without it resume with it, and back."""
    base = get_preset("smoke")
    a = Evaluator(base, tmp_path, tmp_path / "a", "uniform").fingerprint("omnisynth", "seen")
    cached = apply_overrides(base, ["system2.sam2_cache_frames=64"])
    b = Evaluator(cached, tmp_path, tmp_path / "b", "uniform").fingerprint("omnisynth", "seen")
    assert a == b and "sam2_cache_frames" not in json.dumps(a)
    other = apply_overrides(base, ["system2.sam2_image_size=512"])
    assert Evaluator(other, tmp_path, tmp_path / "c", "uniform").fingerprint("omnisynth", "seen") != a
