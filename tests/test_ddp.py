"""The GRPO trainer on several processes, actually run: ``accelerate launch --config_file
configs/accelerate/ddp.yaml --num_processes 2`` on the CPU (gloo) against one process with the
same global batch; checkpoints resumed under 2 processes; unequal per-process work; collective
decoding under sharded weights."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from omni_r1_lite.config import get_preset
from omni_r1_lite.data.sources import load_samples
from omni_r1_lite.grpo.trainer import grounds_with, read_log, sharded_weights
from omni_r1_lite.systems.generation import make_prompt_batch, sample_group

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "ddp_worker.py"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_world(tmp_path_factory, tiny_thinker_dir):
    data = tmp_path_factory.mktemp("ddp-data")
    load_samples(get_preset("smoke"), data, "train")  # written once here, read by every process
    return tmp_path_factory.mktemp("ddp-runs"), data, tiny_thinker_dir


def _run(world, name: str, processes: int, prompts: int, *extra: str, steps: int = 4) -> tuple[Path, int]:
    runs, data, thinker = world
    out = runs / name
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    args = [str(WORKER), "--thinker", str(thinker), "--data", str(data), "--out", str(out),
            "--prompts", str(prompts), "--steps", str(steps), *extra]
    if processes == 1:
        cmd = [sys.executable, *args]
    else:
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
               str(ROOT / "configs" / "accelerate" / "ddp.yaml"), "--num_processes", str(processes),
               "--main_process_port", str(_port()), *args]
    # a hang (a collective one process never reaches) fails the test instead of stalling CI
    res = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return out, res.returncode


def _ranks(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("rank-*.json"))]


def _adapter_diff(a: Path, b: Path) -> float:
    from safetensors.torch import load_file

    x = load_file(str(a / "adapter" / "adapter_model.safetensors"))
    y = load_file(str(b / "adapter" / "adapter_model.safetensors"))
    assert x.keys() == y.keys()
    return max(float((x[k] - y[k]).abs().max()) for k in x)


@pytest.fixture(scope="module")
def one_process(ddp_world):
    out, rc = _run(ddp_world, "one", 1, 2)
    assert rc == 0 and _ranks(out)[0]["processes"] == 1
    return out


def test_two_processes_train_the_one_process_adapter_and_resume(ddp_world, one_process):
    """2 processes x 1 prompt per step = 1 process x 2 prompts: same samples, same sampling noise per
    row, gradients averaged, the LR schedule stepped once per optimizer step; killed after step 3
    (checkpoint at 2) and relaunched, the run resumes and ends with the same adapter."""
    out, rc = _run(ddp_world, "two", 2, 1, "--kill-at", "3")
    assert rc != 0 and [p.name for p in out.glob("checkpoint-*")] == ["checkpoint-2"]
    out, rc = _run(ddp_world, "two", 2, 1)
    assert rc == 0
    ranks = _ranks(out)
    assert [r["processes"] for r in ranks] == [2, 2]
    assert _adapter_diff(one_process, out) < 1e-5
    one, two = read_log(one_process), read_log(out)
    assert [r["step"] for r in two] == [1, 2, 3, 4]  # written once (by process 0), the killed step redone
    # the log reports every process's groups, and the schedule is the one-process schedule
    assert [r["reward"] for r in two] == pytest.approx([r["reward"] for r in one], abs=1e-9)
    assert [r["lr"] for r in two] == pytest.approx([r["lr"] for r in one], abs=1e-12)
    assert len({r["lr"] for r in two}) == 4  # cosine: it moved every step (not twice per step)


def test_unequal_system2_work_per_process_neither_hangs_nor_changes_the_result(ddp_world, one_process):
    """Process 0 does three times the frozen-model forward passes of process 1 in the System-2
    phase (and pauses): no collective waits on that work, and the adapter is the same."""
    out, rc = _run(ddp_world, "unequal", 2, 1, "--unequal")
    assert rc == 0
    r0, r1 = _ranks(out)
    assert r0["forwards"] > r1["forwards"]  # the work really was unequal
    assert _adapter_diff(one_process, out) < 1e-5


def test_the_sft_anchor_under_two_processes_keeps_their_adapters_equal(ddp_world, one_process):
    """Each process takes its own anchor samples (their gradients kept local, then synced with the
    GRPO backward): the two processes end with the same weights, which the anchor moved."""
    out, rc = _run(ddp_world, "anchor", 2, 1, "--set", "grpo.sft_anchor_weight=0.5", "grpo.sft_anchor_batch=1",
                   steps=2)
    assert rc == 0
    r0, r1 = _ranks(out)
    assert r0["trainable_sum"] == pytest.approx(r1["trainable_sum"], rel=1e-9)
    assert _adapter_diff(one_process, out) > 1e-4  # not the run without the anchor (same samples and noise)
    assert all(r["sft_anchor"] > 0 for r in read_log(out))


def test_collective_decoding_runs_the_same_forward_passes_on_every_process(ddp_world):
    """Process 0's completions end at once, process 1's run to the limit: with the collective loop
    (what sharded weights turn on) both run the same number of forward passes."""
    out, rc = _run(ddp_world, "early", 2, 1, "--early-eos", steps=2)
    assert rc == 0
    r0, r1 = _ranks(out)
    assert r0["forwards"] < r1["forwards"]
    out, rc = _run(ddp_world, "lockstep", 2, 1, "--early-eos", "--lockstep", steps=2)
    assert rc == 0
    r0, r1 = _ranks(out)
    assert r0["forwards"] == r1["forwards"]


def test_noise_rows_give_each_row_the_noise_of_the_whole_batch(tiny_thinker_dir):
    """Sampling two prompts in one batch equals sampling each alone as its rows of the batch."""
    from omni_r1_lite.models import load_thinker

    model, proc = load_thinker(tiny_thinker_dir)
    tok = proc.tokenizer
    tok.padding_side = "left"
    texts = ["a red square moves", "the dog barks loudly at night"]
    both = make_prompt_batch(model, dict(tok(texts, return_tensors="pt", padding=True)))
    g, eos, pad = 3, tok.eos_token_id or 0, tok.pad_token_id or 0

    def gen():
        return torch.Generator().manual_seed(7)

    whole = sample_group(model, both, g, 6, eos, pad, generator=gen())
    for i, text in enumerate(texts):
        alone = make_prompt_batch(model, dict(tok([text], return_tensors="pt")))
        part = sample_group(model, alone, g, 6, eos, pad, generator=gen(), noise_rows=(i * g, 2 * g))
        n = part.ids.shape[1]
        assert part.ids.tolist() == whole.ids[i * g:(i + 1) * g, :n].tolist()
    with pytest.raises(ValueError, match="slice"):
        sample_group(model, both, g, 2, eos, pad, generator=gen(), noise_rows=(4, 6))


def test_sharded_weights_and_a_grounder_sharing_the_policy_are_recognised():
    def acc(kind, stage=None):
        plugin = None if stage is None else SimpleNamespace(zero_stage=stage)
        return SimpleNamespace(distributed_type=kind, state=SimpleNamespace(deepspeed_plugin=plugin))

    assert sharded_weights(acc("FSDP")) and sharded_weights(acc("DEEPSPEED", 3))
    assert not sharded_weights(acc("DEEPSPEED", 2)) and not sharded_weights(acc("MULTI_GPU"))
    assert not sharded_weights(acc("MULTI_CPU")) and not sharded_weights(acc("NO"))
    policy, other = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)

    def pipe(model):
        return SimpleNamespace(detail=SimpleNamespace(grounder=SimpleNamespace(model=model)))

    assert grounds_with(pipe(policy), policy)
    assert not grounds_with(pipe(other), policy)
    assert not grounds_with(SimpleNamespace(detail=SimpleNamespace()), policy)  # the stand-in: no model
