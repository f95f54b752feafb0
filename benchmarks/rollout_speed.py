"""Rollouts per second: the group's prompt encoded once vs. the naive repeated prompt (same run).

    python benchmarks/rollout_speed.py [--model tiny|rehearsal-3b] [--g 8] [--prompts 2]
        [--new-tokens 64] [--repeats 3] [--text-layers 2]

Both arms sample G completions for each of P OmniSynth prompts (frames + audio + perception track)
and then compute the completions' log-probabilities (what a GRPO step needs): the kit's path
prefills each prompt once and repeats its cache (`omni_r1_lite.systems.generation`); the baseline is
``generate(num_return_sequences=G)`` and a loss forward over the prompt repeated G times. Rollout
(sampling) and loss forward are timed apart: rollouts/s and loss-forward tokens/s (prompt +
completion tokens the loss covers, per second) of each arm.

Models:

- ``tiny`` (default): cpu-demo's tiny thinker (1.1 M parameters) on its own prompts (~506 tokens).
- ``rehearsal-3b``: the Qwen2.5-Omni-3B thinker at its published width, heads and vocabulary with
  random weights (`omni_r1_lite.full_size`; ``--text-layers`` of its 36 decoder layers, 2 of the 32
  vision and audio layers each, to fit the CPU), Qwen's real processor rebuilt offline, and
  colab-3b's System-1 prompt: 16 frames at its 64·28·28 px budget plus the clip's audio (~900
  tokens). Fewer layers make the prompt (what the kit saves) a smaller share of the work than in
  the real 3B, whose LM head weighs the same but whose 36 layers weigh 18x more: the gain measured
  here is a lower bound for it.

``--g`` takes a comma-separated list (``4,8``): every G in one run. Prints the figures as one JSON
object on the last line: ``{"model": ..., "runs": {"<G>": {...}}, ...}``; target ≥ 2× at G = 8.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _tiny(data: Path):
    from omni_r1_lite.config import get_preset
    from omni_r1_lite.models import load_thinker
    from omni_r1_lite.systems.reasoner import resolve_system1

    cfg = get_preset("cpu-demo")
    model, proc = load_thinker(resolve_system1(cfg.system1.model, data))
    return cfg, get_preset("smoke"), model, proc, None


def _rehearsal_3b(data: Path, text_layers: int):
    from omni_r1_lite import full_size, offline_processor
    from omni_r1_lite.config import apply_overrides, get_preset

    cfg = apply_overrides(get_preset("colab-3b"), ["system1.with_audio=true"])  # frames + audio
    config = full_size.thinker_config("qwen2.5-omni-3b", text_layers=text_layers, vision_depth=2, audio_layers=2)
    model = full_size.random_thinker(config, "float32", "cpu")
    proc = offline_processor.build_processor(data / "processor")
    # 16 frames over 10 s with audio (RefAVS's length), each resized to the preset's budget
    data_cfg = apply_overrides(get_preset("smoke"), ["data.synth_num_frames=16", "data.synth_seconds_per_frame=0.625"])
    dims = {"hidden_size": config.text_config.hidden_size, "decoder_layers": text_layers,
            "vocab_size": config.text_config.vocab_size, "vision_layers": 2, "audio_layers": 2,
            "parameters_b": round(sum(p.numel() for p in model.parameters()) / 1e9, 3)}
    return cfg, data_cfg, model, proc, dims


def measure(model, batch, g: int, n: int, r, repeats: int) -> dict:
    """Best-of-``repeats`` seconds of both arms' rollout and loss phases at group size ``g``."""
    import torch

    from omni_r1_lite.systems.generation import completion_logps, naive_completion_logps, sample_group

    def kit_rollout():
        return sample_group(model, batch, g, n, -1, r.eos_id, suppress_tokens=r.suppress_tokens,  # n tokens, as naive
                            generator=torch.Generator().manual_seed(0)).ids

    def naive_rollout():
        seq = model.generate(**batch.inputs, max_new_tokens=n, min_new_tokens=n, do_sample=True, top_k=0,
                             num_return_sequences=g, suppress_tokens=r.suppress_tokens, pad_token_id=r.eos_id)
        return seq[:, batch.length:]

    def best(fn, *args):
        out, t = None, float("inf")
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            out = fn(*args)
            t = min(t, time.perf_counter() - t0)
        return t, out

    with torch.no_grad():
        kit_rollout_s, ids = best(kit_rollout)
        ones = torch.ones_like(ids)
        kit_loss_s, _ = best(lambda: completion_logps(model, batch, ids, ones, g))
        naive_rollout_s, nids = best(naive_rollout)
        naive_loss_s, _ = best(lambda: naive_completion_logps(model, batch, nids, torch.ones_like(nids), g))
    rollouts = batch.size * g
    loss_tokens = rollouts * (batch.length + n)
    kit_s, naive_s = kit_rollout_s + kit_loss_s, naive_rollout_s + naive_loss_s
    return {
        "g": g, "rollouts": rollouts,
        "kit_rollouts_per_s": round(rollouts / kit_rollout_s, 3),
        "naive_rollouts_per_s": round(rollouts / naive_rollout_s, 3),
        "rollout_speedup": round(naive_rollout_s / kit_rollout_s, 2),
        "kit_loss_tokens_per_s": round(loss_tokens / kit_loss_s, 1),
        "naive_loss_tokens_per_s": round(loss_tokens / naive_loss_s, 1),
        "loss_speedup": round(naive_loss_s / kit_loss_s, 2),
        "kit_s": round(kit_s, 3), "naive_s": round(naive_s, 3),
        "speedup": round(naive_s / kit_s, 2),
    }


def main(argv=None) -> dict:
    import torch

    from omni_r1_lite.data.sources import load_samples
    from omni_r1_lite.models import prepare_inputs, suppress_token_ids
    from omni_r1_lite.systems.generation import make_prompt_batch
    from omni_r1_lite.systems.reasoner import GlobalReasoner

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny", choices=["tiny", "rehearsal-3b"])
    ap.add_argument("--g", default="8", help="group size(s), comma-separated: 4,8")
    ap.add_argument("--prompts", type=int, default=2)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--text-layers", type=int, default=2, help="rehearsal-3b: decoder layers (of 36)")
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args(argv)
    groups = [int(v) for v in str(args.g).split(",") if v.strip()]
    torch.set_num_threads(max(1, torch.get_num_threads()))
    data = Path(args.data_dir or tempfile.mkdtemp(prefix="rollout-"))
    t0 = time.perf_counter()
    if args.model == "tiny":
        cfg, data_cfg, model, proc, dims = _tiny(data)
    else:
        cfg, data_cfg, model, proc, dims = _rehearsal_3b(data, args.text_layers)
    proc.tokenizer.padding_side = "left"
    r = GlobalReasoner(model, proc, cfg.system1, suppress_token_ids(proc.tokenizer))
    samples = load_samples(data_cfg, data, "train")[: args.prompts]
    media = [r.media(s) for s in samples]
    px = cfg.system1.frame_max_pixels
    lo = px if args.model == "rehearsal-3b" else 3136  # the real budget: frames resized up to it
    inputs = prepare_inputs(proc, [r.messages(s) for s in samples], videos=[m["videos"][0] for m in media],
                            audio=[m["audio"][0] for m in media], video_pixels=(lo, px))
    batch = make_prompt_batch(model, dict(inputs))
    print(f"{args.model}: prompt {batch.length} tokens x {batch.size}, {args.new_tokens} new tokens; "
          f"set up in {time.perf_counter() - t0:.0f} s", flush=True)
    runs = {}
    for g in groups:
        res = measure(model, batch, g, args.new_tokens, r, args.repeats)
        runs[str(g)] = res
        print(f"G={g}: rollouts/s kit {res['kit_rollouts_per_s']} vs naive {res['naive_rollouts_per_s']} "
              f"({res['rollout_speedup']}x); loss tokens/s kit {res['kit_loss_tokens_per_s']} vs naive "
              f"{res['naive_loss_tokens_per_s']} ({res['loss_speedup']}x); together {res['speedup']}x", flush=True)
    result = {"model": args.model, "dims": dims, "prompts": args.prompts, "prompt_tokens": batch.length,
              "new_tokens": args.new_tokens, "repeats": args.repeats, "runs": runs, "target": 2.0}
    last = runs[str(groups[-1])]
    result.update(g=last["g"], speedup=last["speedup"], kit_rollouts_per_s=last["kit_rollouts_per_s"],
                  naive_rollouts_per_s=last["naive_rollouts_per_s"])
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
