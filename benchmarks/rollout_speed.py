"""Rollouts per second: the group's prompt encoded once vs. the naive repeated prompt (same run).

    python benchmarks/rollout_speed.py [--g 8] [--prompts 2] [--new-tokens 64] [--repeats 3]

Both arms sample G completions for each of P OmniSynth prompts (frames + audio + perception track,
long prompts) from the tiny thinker and then compute the completions' log-probabilities (what a
GRPO step needs): the kit's path prefills each prompt once and repeats its cache
(`omni_r1_lite.grpo.rollout`); the baseline is ``generate(num_return_sequences=G)`` and a loss
forward over the prompt repeated G times. Prints the figures as one JSON object on the last line;
target ≥ 2× at G = 8.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> dict:
    import torch

    from omni_r1_lite.config import get_preset
    from omni_r1_lite.data.sources import load_samples
    from omni_r1_lite.grpo.rollout import (
        completion_logps,
        make_prompt_batch,
        naive_completion_logps,
        sample_group,
    )
    from omni_r1_lite.models import load_thinker, prepare_inputs, suppress_token_ids
    from omni_r1_lite.systems.reasoner import GlobalReasoner, resolve_system1

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--g", type=int, default=8)
    ap.add_argument("--prompts", type=int, default=2)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    data = Path(args.data_dir or tempfile.mkdtemp(prefix="rollout-"))
    cfg = get_preset("cpu-demo")
    model, proc = load_thinker(resolve_system1(cfg.system1.model, data))
    proc.tokenizer.padding_side = "left"
    r = GlobalReasoner(model, proc, cfg.system1, suppress_token_ids(proc.tokenizer))
    samples = load_samples(get_preset("smoke"), data, "train")[: args.prompts]
    media = [r.media(s) for s in samples]
    inputs = prepare_inputs(proc, [r.messages(s) for s in samples], videos=[m["videos"][0] for m in media],
                            audio=[m["audio"][0] for m in media], video_pixels=(3136, cfg.system1.frame_max_pixels))
    batch = make_prompt_batch(model, dict(inputs))
    g, n = args.g, args.new_tokens

    def kit():
        out = sample_group(model, batch, g, n, -1, r.eos_id, suppress_tokens=r.suppress_tokens,  # n tokens, as naive
                           generator=torch.Generator().manual_seed(0))
        completion_logps(model, batch, out.ids, out.mask, g)

    def naive():
        with torch.no_grad():
            seq = model.generate(**batch.inputs, max_new_tokens=n, min_new_tokens=n, do_sample=True, top_k=0,
                                 num_return_sequences=g, suppress_tokens=r.suppress_tokens, pad_token_id=r.eos_id)
        ids = seq[:, batch.length:]
        naive_completion_logps(model, batch, ids, torch.ones_like(ids), g)

    def timed(fn):
        fn()  # warm-up
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        return best

    with torch.no_grad():
        t_kit, t_naive = timed(kit), timed(naive)
    rollouts = args.prompts * g
    result = {"g": g, "prompts": args.prompts, "prompt_tokens": batch.length, "new_tokens": n,
              "kit_rollouts_per_s": round(rollouts / t_kit, 2), "naive_rollouts_per_s": round(rollouts / t_naive, 2),
              "speedup": round(t_naive / t_kit, 2), "target": 2.0}
    print(f"prompt {batch.length} tokens, G={g}: kit {t_kit:.2f} s, naive {t_naive:.2f} s per {rollouts} rollouts")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
