"""VisionReasoner as System 2's grounder at its real size: the path a GPU user's Table-5 run takes.

    python benchmarks/system2_grounders.py            # real widths + vocabulary, 2 layers per stack (CPU)
    python benchmarks/system2_grounders.py --full     # all 28 + 32 layers (a GPU: 16.6 GB of bf16 weights)

Qwen2.5-VL-7B-Instruct's shapes (`full_size.vl_config`; VisionReasoner-7B is fine-tuned from it) with
random weights, saved as a checkpoint folder with Qwen2.5-VL's processor rebuilt offline
(`offline_processor.build_vl_processor`), loaded back by the kit's `load_vision_reasoner`, and asked to
ground one 1280×720 OmniSynth keyframe (RefAVS layout) through `VisionReasonerGrounder`: the 840 × 840
square, the real prompt, greedy decoding (``--new-tokens``). Then the same grounder on a stored
VisionReasoner-style answer, checking that its box lands on the object in the original frame.

Per phase (load, ground): seconds and peak live tensor bytes (`omni_r1_lite.memtrack`), beside the
memory plan's rows for the backend (`memory.GROUNDER_DIMS`: weights + one keyframe's grounding) and
their ratio. One JSON object on the last line:
``{"grounder", "layers", "device", "image_tokens", "prompt_tokens", "new_tokens", "phases": {name:
{"seconds", "peak_tensor_gib"}}, "plan_gib": {...}, "measured_over_plan", "box_error_px"}``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--full", action="store_true", help="all layers (default: 2 per stack)")
    ap.add_argument("--device", default=None, help="default: cuda if available")
    ap.add_argument("--new-tokens", type=int, default=16)
    args = ap.parse_args(argv)

    import numpy as np

    from omni_r1_lite import full_size, memory
    from omni_r1_lite.config import apply_overrides, get_preset
    from omni_r1_lite.data.omnisynth import OmniSynthConfig, generate
    from omni_r1_lite.data.refavs import load_refavs
    from omni_r1_lite.memtrack import PhaseMeter
    from omni_r1_lite.models import resolve_device
    from omni_r1_lite.offline_processor import build_vl_processor
    from omni_r1_lite.systems.detail import _load_frame
    from omni_r1_lite.systems.factory import suppress_tokens_for
    from omni_r1_lite.systems.vision_reasoner import RESIZE, VisionReasonerGrounder, load_vision_reasoner

    device = resolve_device(args.device)
    dtype = "bfloat16" if device.startswith("cuda") else "float32"
    layers = None if args.full else 2
    work = Path(tempfile.mkdtemp(prefix="omni_r1_lite_grounders_"))
    meter = PhaseMeter(device=device)
    generate(work / "synth", OmniSynthConfig(clips={"train": 1}, width=1280, height=720, num_frames=10))
    sample = next(s for s in load_refavs(work / "synth" / "refavs", "train")
                  if not s.is_null and s.load_masks([0])[0].any())

    with meter.phase("build"):
        folder = work / "visionreasoner"
        model = full_size.random_vl(full_size.vl_config(text_layers=layers, vision_depth=layers), dtype=dtype)
        model.save_pretrained(folder)
        build_vl_processor(folder)
        del model
    with meter.phase("load"):
        model, processor = load_vision_reasoner(str(folder), device=device, dtype=dtype)
        grounder = VisionReasonerGrounder(model, processor, max_new_tokens=args.new_tokens,
                                          suppress_tokens=suppress_tokens_for(processor))
    image = _load_frame(sample, 0)
    inputs = grounder.prepare(image, sample.expression)
    image_tokens = int((inputs["input_ids"] == 151655).sum())
    with meter.phase("ground"):
        boxes = grounder.ground(sample, 0, sample.expression)
    # a stored answer: the object's box in the 840 square must land on it in the 1280x720 frame
    ys, xs = np.nonzero(sample.load_masks([0])[0])
    truth = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)
    sq = truth * np.array([RESIZE / 1280, RESIZE / 720] * 2)
    x1, y1, x2, y2 = (int(v) for v in np.round(sq))
    grounder.generate_text = lambda _: (f'<think>x</think><answer>[{{"bbox_2d": [{x1}, {y1}, {x2}, {y2}], '
                                        '"point_2d": [0, 0]}]</answer>')
    (back,) = grounder.ground(sample, 0, sample.expression)
    box_error = float(np.abs(back - truth).max())

    cfg = apply_overrides(get_preset("a100-7b"), ["system2.backend=visionreasoner"])
    plan = {r.name: r.bytes / 2**30 for r in memory.plan_memory(cfg).rows}
    scale = 1.0 if args.full else model.num_parameters() / full_size.VL_PARAMS_7B
    weights_plan = plan["visionreasoner grounder weights"] * scale * (1 if dtype == "bfloat16" else 2)
    ground_plan = weights_plan + plan["visionreasoner grounding (greedy)"]
    phases = {k: {"seconds": round(r.seconds, 2), "peak_tensor_gib": round(r.peak_tensor_bytes / 2**30, 3)}
              for k, r in meter.records.items()}
    report = {
        "grounder": "visionreasoner", "layers": "all" if args.full else 2, "device": device, "dtype": dtype,
        "parameters": model.num_parameters(), "image_tokens": image_tokens,
        "prompt_tokens": int(inputs["input_ids"].shape[1]), "new_tokens": args.new_tokens,
        "boxes_from_random_weights": int(len(boxes)), "phases": phases,
        "plan_gib": {"weights": round(weights_plan, 3), "weights+grounding": round(ground_plan, 3)},
        "measured_over_plan": round(phases["ground"]["peak_tensor_gib"] / ground_plan, 3),
        "box_error_px": round(box_error, 2),
    }
    print(f"{'phase':8s} {'s':>8s} {'peak GiB':>9s}")
    for k, v in phases.items():
        print(f"{k:8s} {v['seconds']:8.2f} {v['peak_tensor_gib']:9.3f}")
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        main()
