"""What evaluating a whole benchmark costs on a GPU, from per-unit costs measured here at real dims.

    python benchmarks/eval_cost.py [--presets colab-3b,a100-7b] [--quick] [--json FILE]

For RefAVS test (seen / unseen / null) and ReVOS valid at their published sizes (`SPLITS`: clips,
expressions, frames, resolution, each with its source), the estimated GPU-hours of each phase of
the kit's evaluation (``omni-r1-lite evaluate``: the paper's protocol, SAM2 over every frame) for
``colab-3b`` on a T4 and ``a100-7b`` on an A100:

================  ================================================================================
system1           the thinker's vision (and, for RefAVS, audio) towers and the language model's
                  prefill over the evaluation prompt (``eval.max_frames`` frames at the preset's
                  budget; RefAVS: its audio + the first frame), then ``--s1-tokens`` decoded tokens
grounding         per keyframe (RefAVS: 1, ReVOS: up to ``max_keyframes``): the tower on the keyframe
                  at ``grounding_max_pixels``, the prefill, ``--grounding-tokens`` decoded tokens
sam2              SAM2.1 of the preset at 1024 px: per frame and object, the image encoder and the
                  rest (memory attention, mask decoder, memory encoder); every frame of the clip
metrics           the kit's J&F (ReVOS) and RefAVS J / F per frame, on the host CPU
================  ================================================================================

**Measured here** (2 CPU cores, float32, random weights at the published sizes: Qwen's real
processor rebuilt offline, `omni_r1_lite.full_size`): every unit above at its real token count on
OmniSynth clips written at 1280×720, with fewer layers (1 decoder layer, 8 of 32 vision blocks =
7 windowed + 1 full, the real 32's mix; 2 of 32 audio layers) scaled up by depth; SAM2.1 at its
real size and resolution on a few frames.

**Scaled to a GPU** (the assumptions, all flags): compute-bound work (towers, prefill, SAM2) by
the ratio of the CPU's float32 GEMM rate measured in the same run to the GPU's dense half-precision
peak × ``--mfu`` (as if the CPU ran every unit at its GEMM rate: attention and small ops make the
GPU figure, if anything, too high); decoding at batch 1 as the bytes a token reads (16-bit weights
of every decoder layer and the LM head, plus the KV cache: `decode_bytes`) at the GPU's bandwidth ×
``--bw-eff``, never under ``--launch-ms`` per decoder layer per token (the eager kernel launches of
``generate``); the CPU's own seconds per token are reported beside it (a CPU decodes below its
bandwidth: scaling them would carry that in). Metrics run on the host CPU: not scaled.
A T4 (sm_75) has no bf16 tensor cores: where the kit computes in bf16 (SAM2's autocast;
``torch.cuda.is_bf16_supported()`` is True there through emulation, so System 1 loads bf16 too)
it runs at most at the T4's fp32 rate; ``t4_fp16`` shows what fp16 would give.

**The lever measured in the same run** (issue 20 item 4): SAM2's image features reused across
the expressions of one clip (``system2.sam2_cache_frames``), before / after seconds per
expression at 1024 px, masks compared; the estimate's last column applies it with the preset's
number of kept frames.

Prints a table and one JSON object on its last line:
``{"splits": {...}, "presets": {"<preset>": {"gpu": ..., "splits": {"<split>": {"hours": {phase: h},
"total_hours": h}}, "units_cpu_s": {...}}}, "probe": {...}, "assumptions": {...}, "levers": {...}}``.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SPLITS = {
    "refavs/test_s": dict(expressions=2288, videos=273, frames=10, height=720, width=1280,
                          source="GeWu-Lab/Ref-AVS data/metadata.csv (rows per split); 10 frames per clip "
                                 "(configs/config.py: 'Fixed to 10'); resolution not published: 720p assumed"),
    "refavs/test_u": dict(expressions=1656, videos=269, frames=10, height=720, width=1280,
                          source="GeWu-Lab/Ref-AVS data/metadata.csv"),
    "refavs/test_n": dict(expressions=1028, videos=257, frames=10, height=720, width=1280,
                          source="GeWu-Lab/Ref-AVS data/metadata.csv"),
    "revos/valid": dict(expressions=35074, videos=1042, frames=200, height=480, width=854, assumed=True,
                        source="not published where we could read it: the whole of ReVOS, 35,074 pairs from "
                               "1,042 videos (VISA, arXiv 2407.11325), an upper bound of valid; 200 frames a video "
                               "(the memory plan's bound); 480x854 (the metadata's train videos, e.g. "
                               "UVO/all/-CiPki3XuVI); --revos-meta meta_expressions_valid_.json gives the real ones"),
}
"""The benchmarks' sizes (``frames``: per expression, its clip's frames; for ReVOS the mean over
expressions). Resolution matters only for the metrics (host CPU): the thinker's inputs are capped
by pixel budgets below 720p and SAM2 resizes every frame to 1024 px."""


def revos_from_meta(path: str | Path) -> dict:
    """ReVOS split sizes from its ``meta_expressions_<split>_.json`` (``{"videos": {vid: {"frames":
    [...], "expressions": {...}, "height"?, "width"?}}}``): videos, expressions, frames per expression."""
    meta = json.loads(Path(path).read_text())["videos"]
    exprs = sum(len(v.get("expressions", {})) for v in meta.values())
    frames = sum(len(v["frames"]) * len(v.get("expressions", {})) for v in meta.values())
    sized = [(v["height"], v["width"]) for v in meta.values() if "height" in v and "width" in v]
    h, w = ((sum(a for a, _ in sized) / len(sized), sum(b for _, b in sized) / len(sized)) if sized
            else (SPLITS["revos/valid"]["height"], SPLITS["revos/valid"]["width"]))
    return dict(expressions=exprs, videos=len(meta), frames=frames / max(1, exprs), height=h, width=w,
                source=f"{path} (read)")


GPUS = {
    "T4": dict(fp16_tflops=65.0, bf16_tflops=8.1, bandwidth_gbs=320.0,
               note="NVIDIA T4 datasheet: 65 TFLOPS fp16 tensor, 8.1 TFLOPS fp32 (bf16 emulated), 320 GB/s"),
    "A100-80GB": dict(fp16_tflops=312.0, bf16_tflops=312.0, bandwidth_gbs=2039.0,
                      note="NVIDIA A100 80GB SXM datasheet: 312 TFLOPS bf16/fp16 dense, 2,039 GB/s"),
}
PRESET_GPU = {"colab-3b": "T4", "a100-7b": "A100-80GB", "eval-omni-r1": "A100-80GB"}
VISION_DEPTH, AUDIO_LAYERS = 8, 2  # of 32 each: 8 = 7 windowed + 1 full block, the real mix


def best(fn, repeats: int) -> float:
    """Best-of-``repeats`` seconds of ``fn()``."""
    out = float("inf")
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


def cpu_probe(repeats: int) -> dict:
    """This machine's float32 GEMM rate and copy bandwidth (what the scaling divides by)."""
    import torch

    a = torch.randn(2048, 2048)
    t = best(lambda: a @ a, repeats + 2)
    x = torch.empty(64 * 2**20)  # 256 MB
    y = torch.empty_like(x)
    c = best(lambda: y.copy_(x), repeats + 2)
    return {"gemm_gflops": round(2 * 2048**3 / t / 1e9, 1), "copy_gbs": round(2 * x.numel() * 4 / c / 1e9, 2),
            "threads": torch.get_num_threads()}


# ----------------------------------------------------------------------------- System 1 + grounding


def thinker_units(preset: str, proc, avs, vos, repeats: int) -> dict:
    """CPU seconds of the thinker's units at the preset's real dims and token counts."""
    import torch

    from omni_r1_lite import full_size
    from omni_r1_lite.config import get_preset
    from omni_r1_lite.systems.detail import QwenGrounder, _load_frame
    from omni_r1_lite.systems.reasoner import GlobalReasoner

    cfg = get_preset(preset)
    key = full_size.model_key(cfg.system1.model)
    layers = full_size.PUBLISHED_TEXT[key]["num_hidden_layers"]
    config = full_size.thinker_config(key, text_layers=1, vision_depth=VISION_DEPTH, audio_layers=AUDIO_LAYERS)
    model = full_size.random_thinker(config, "float32", "cpu").eval()
    s1 = dataclasses.replace(cfg.system1, max_frames=cfg.eval.max_frames)  # what evaluation reads
    reasoner = GlobalReasoner(None, proc, s1)
    grounder = QwenGrounder(None, proc, max_pixels=cfg.system2.grounding_max_pixels)
    lm, head, hidden = model.model.language_model, model.lm_head, config.text_config.hidden_size
    vision_scale, audio_scale = 32 / VISION_DEPTH, 32 / AUDIO_LAYERS

    def tower(inputs) -> float:
        s = 0.0
        if "pixel_values_videos" in inputs:
            s += best(lambda: model.get_video_features(inputs["pixel_values_videos"], inputs["video_grid_thw"]),
                      repeats) * vision_scale
        if "pixel_values" in inputs:
            s += best(lambda: model.get_image_features(inputs["pixel_values"], inputs["image_grid_thw"]),
                      repeats) * vision_scale
        if "input_features" in inputs:
            s += best(lambda: model.get_audio_features(inputs["input_features"], inputs["feature_attention_mask"]),
                      repeats) * audio_scale
        return s

    def embeds(n: int):
        return torch.randn(1, n, hidden), torch.arange(n).view(1, 1, n).expand(3, 1, n)

    def prefill_layer(n: int) -> float:
        emb, pos = embeds(n)
        return best(lambda: lm(inputs_embeds=emb, position_ids=pos, use_cache=False), repeats)

    def decode_layer(n: int, steps: int = 8) -> float:
        emb, pos = embeds(n)
        out = lm(inputs_embeds=emb, position_ids=pos, use_cache=True)
        cache = out.cache if getattr(out, "cache", None) is not None else out.past_key_values
        one = torch.randn(1, 1, hidden)
        t0 = time.perf_counter()
        for i in range(steps):
            p = torch.full((3, 1, 1), n + i)
            lm(inputs_embeds=one, position_ids=p, cache=cache, use_cache=True)
        return (time.perf_counter() - t0) / steps

    def unit(inputs) -> dict:
        """One prompt's towers + prefill, and a decoding step after it, for the whole depth."""
        n = int(inputs["input_ids"].shape[1])
        dec = decode_layer(n)
        return {"prompt_tokens": n, "towers_s": tower(inputs), "prefill_s": prefill_layer(n) * layers + head_s,
                "decode_s_per_token": dec * layers + head_s, "decode_layer_s_per_token": dec}

    last = torch.randn(1, 1, hidden)
    head_s = best(lambda: head(last), repeats + 2)
    units: dict = {"model": key, "decoder_layers": layers, "lm_head_s": head_s}
    with torch.inference_mode():
        for name, sample in (("refavs", avs), ("revos", vos)):
            units[f"system1_{name}"] = unit(reasoner.encode(sample))
        inputs, hw = grounder.prepare(_load_frame(vos, 0), "the red circle on the left", "qwen")
        units["grounding"] = dict(unit(inputs), resized_hw=list(hw))
    return units


# ----------------------------------------------------------------------------- SAM2


def sam2_units(config: str, clip, frames: int, expressions: int) -> dict:
    """SAM2 per frame at 1024 px (encoder apart), and the same clip's expressions with and without
    the kit's feature reuse (`Sam2Segmenter(cache_features=...)`): seconds per expression, masks equal."""
    import numpy as np
    import torch

    from omni_r1_lite.systems.detail import RandomWeightsWarning, Sam2Segmenter

    order = list(range(frames))
    boxes = [np.array([[100 + 60 * e, 80 + 40 * e, 700 + 50 * e, 560]], np.float32) for e in range(expressions)]
    out: dict = {"config": config, "frames": frames, "expressions": expressions}
    results = {}
    for arm, cache in (("before", 0), ("after", frames)):
        torch.manual_seed(0)  # the same random weights in both arms
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RandomWeightsWarning)
            seg = Sam2Segmenter(config, device="cpu", cache_features=cache)
            predictor = seg.predictor
        encoder = []
        original = predictor.forward_image

        def timed(img, _original=original, _log=encoder):
            t0 = time.perf_counter()
            r = _original(img)
            _log.append(time.perf_counter() - t0)
            return r

        predictor.forward_image = timed
        t0 = time.perf_counter()
        seg.segment(clip, {0: boxes[0]}, frames=order)  # warm: the state (frames decoded at 1024) built
        first = time.perf_counter() - t0
        masks, seconds = [], []
        encoder.clear()
        for e in range(expressions):
            t0 = time.perf_counter()
            masks.append(seg.segment(clip, {0: boxes[e]}, frames=order))
            seconds.append(time.perf_counter() - t0)
        results[arm] = masks
        out[arm] = {"first_call_s": round(first, 3), "s_per_expression": round(float(np.mean(seconds)), 3),
                    "encoder_calls": len(encoder), "encoder_s": round(sum(encoder), 3)}
        if arm == "before":
            out["per_frame_s"] = float(np.mean(seconds)) / frames
            out["encoder_per_frame_s"] = sum(encoder) / len(encoder)
            out["rest_per_frame_s"] = out["per_frame_s"] - out["encoder_per_frame_s"]
        if cache:
            kept = max(1, seg.feature_cache_frames())
            out["cache_mb_per_frame"] = round(seg.feature_cache_bytes(shared=False) / kept / 2**20, 1)
            out["cache_mb_shared"] = round((seg.feature_cache_bytes() - seg.feature_cache_bytes(shared=False)) / 2**20, 1)
        del seg, predictor
    out["identical"] = all(np.array_equal(a, b) for a, b in zip(results["before"], results["after"]))
    out["reuse_ratio"] = round(out["before"]["s_per_expression"] / out["after"]["s_per_expression"], 2)
    return out


# ----------------------------------------------------------------------------- metrics


def metric_units(repeats: int) -> dict:
    """Host-CPU seconds per 1280×720 frame of the kit's J&F and of the RefAVS J / F."""
    import numpy as np
    from metrics_speed import make_ragged_masks  # the ragged 720p workload (several parts, holes, thin parts)

    from omni_r1_lite.metrics import jf_per_frame
    from omni_r1_lite.metrics.refavs import avs_stats

    pred, gt = make_ragged_masks(16, 720, 1280, seed=0)
    jf = best(lambda: jf_per_frame(pred, gt), repeats) / len(gt)
    prob = pred.astype(np.float32)
    avs = best(lambda: avs_stats(prob, gt), repeats) / len(gt)
    return {"revos_jf_s_per_frame": jf, "refavs_s_per_frame": avs, "pixels": 720 * 1280}


# ----------------------------------------------------------------------------- estimate


@dataclasses.dataclass
class Scale:
    compute: float  # GPU seconds per CPU second of compute-bound work
    bandwidth_gbs: float  # what batch-1 decoding reaches on the GPU
    launch_s_per_layer: float


def scale_for(gpu: dict, probe: dict, dtype: str, mfu: float, bw_eff: float, launch_ms: float) -> Scale:
    peak = gpu["fp16_tflops"] if dtype == "fp16" else gpu["bf16_tflops"]
    compute = probe["gemm_gflops"] / (peak * 1e3 * mfu)
    return Scale(compute, gpu["bandwidth_gbs"] * bw_eff, launch_ms / 1e3)


@functools.cache
def _decoder_weights(model: str) -> tuple[int, int, int, int]:
    """Parameters a decoding step reads (every decoder layer and the LM head), layers, KV width."""
    from omni_r1_lite import full_size

    config = full_size.thinker_config(model, text_layers=1)
    meta = full_size.meta_thinker(config)
    t = config.text_config
    layers = full_size.PUBLISHED_TEXT[model]["num_hidden_layers"]
    layer = sum(p.numel() for p in meta.model.language_model.layers[0].parameters())
    kv_width = 2 * t.num_key_value_heads * (t.hidden_size // t.num_attention_heads)
    return layers * layer + meta.lm_head.weight.numel(), layers, kv_width, 2


def decode_bytes(model: str, context: int) -> dict:
    """Bytes one decoding step reads at batch 1 in 16 bits: every decoder layer's weights, the LM
    head and the KV cache of ``context`` tokens (the towers and the embedding are not read)."""
    params, layers, kv_width, b = _decoder_weights(model)
    return {"weights": b * params, "kv_cache": b * layers * kv_width * context, "layers": layers}


def per_expression(split: dict, units: dict, sam: dict, metric: dict, scale: Scale, cfg, args,
                   reuse: bool) -> dict:
    """GPU seconds of each phase for one expression of ``split``."""
    avs = split["name"].startswith("refavs")
    s1 = units["system1_refavs" if avs else "system1_revos"]
    layers = units["decoder_layers"]

    def decode(u, tokens):
        read = decode_bytes(units["model"], u["prompt_tokens"] + tokens // 2)
        per = max((read["weights"] + read["kv_cache"]) / (scale.bandwidth_gbs * 1e9), scale.launch_s_per_layer * layers)
        return tokens * per

    system1 = (s1["towers_s"] + s1["prefill_s"]) * scale.compute + decode(s1, args.s1_tokens)
    g = units["grounding"]
    keyframes = 1 if avs else cfg.system1.max_keyframes
    grounding = keyframes * ((g["towers_s"] + g["prefill_s"]) * scale.compute + decode(g, args.grounding_tokens))
    frames = split["frames"]
    per_video = split["expressions"] / split["videos"]
    kept = min(1.0, cfg.system2.sam2_cache_frames / frames) if reuse else 0.0  # frames whose features are kept
    encoder = sam["encoder_per_frame_s"] * (kept / per_video + (1 - kept))
    sam2 = frames * (encoder + sam["rest_per_frame_s"]) * scale.compute
    pixels = split["height"] * split["width"] / metric["pixels"]
    metrics = frames * pixels * (metric["refavs_s_per_frame"] if avs else metric["revos_jf_s_per_frame"])
    return {"system1": system1, "grounding": grounding, "sam2": sam2, "metrics": metrics}


def estimate(preset: str, units: dict, sam: dict, metric: dict, probe: dict, args) -> dict:
    from omni_r1_lite.config import get_preset

    cfg = get_preset(preset)
    gpu_name = PRESET_GPU[preset]
    gpu = GPUS[gpu_name]
    kit_dtype = "bf16"  # what the kit picks on both (emulated on a T4: see the module docstring)
    arms = {"kit": scale_for(gpu, probe, kit_dtype, args.mfu, args.bw_eff, args.launch_ms)}
    if gpu_name == "T4":
        arms["t4_fp16"] = scale_for(gpu, probe, "fp16", args.mfu, args.bw_eff, args.launch_ms)
    out: dict = {"gpu": gpu_name, "splits": {}}
    for name, split in SPLITS.items():
        split = dict(split, name=name)
        row = {}
        for arm, scale in arms.items():
            for reuse in (False, True):
                sec = per_expression(split, units, sam, metric, scale, cfg, args, reuse)
                hours = {k: v * split["expressions"] / 3600 for k, v in sec.items()}
                label = arm + ("+reuse" if reuse else "")
                row[label] = {"hours": {k: round(v, 3) for k, v in hours.items()},
                              "total_hours": round(sum(hours.values()), 2),
                              "seconds_per_expression": round(sum(sec.values()), 2)}
        out["splits"][name] = row
    return out


def table(result: dict) -> str:
    lines = ["| preset | GPU | split | expressions | System 1 h | grounding h | SAM2 h | metrics h | total h | "
             "with SAM2 reuse h |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for preset, est in result["presets"].items():
        for split, row in est["splits"].items():
            h, r = row["kit"]["hours"], row["kit+reuse"]
            lines.append(f"| {preset} | {est['gpu']} | {split} | {SPLITS[split]['expressions']:,} | "
                         f"{h['system1']:.2f} | {h['grounding']:.2f} | {h['sam2']:.2f} | {h['metrics']:.2f} | "
                         f"{row['kit']['total_hours']:.2f} | {r['total_hours']:.2f} |")
    return "\n".join(lines)


def finish(result: dict, args) -> dict:
    """The estimates and the lever's figures from the measured units (``--from-json`` re-runs this)."""
    from omni_r1_lite.config import get_preset

    result["splits"] = SPLITS
    result["assumptions"] = {"mfu": args.mfu, "bw_eff": args.bw_eff, "launch_ms_per_layer": args.launch_ms,
                             "s1_tokens": args.s1_tokens, "grounding_tokens": args.grounding_tokens,
                             "objects_per_expression": 1, "revos_keyframes": "max_keyframes (an upper bound)",
                             "cpu_runs_at_probe_rate": True, "decode": "16-bit weights + KV read once per token"}
    result["presets"] = {}
    for preset, units in result["units_cpu_s"].items():
        sam = result["sam2_cpu"][get_preset(preset).system2.sam2_config]
        result["presets"][preset] = estimate(preset, units, sam, result["metrics_cpu"], result["probe"], args)
    result["levers"] = {"sam2_feature_reuse": {c: {"before_s_per_expression": s["before"]["s_per_expression"],
                                                   "after_s_per_expression": s["after"]["s_per_expression"],
                                                   "ratio": s["reuse_ratio"], "identical": s["identical"],
                                                   "cache_mb_per_frame": s.get("cache_mb_per_frame"),
                                                   "cache_mb_shared": s.get("cache_mb_shared")}
                                               for c, s in result["sam2_cpu"].items()}}
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, default=str))
    return result


def measure_all(args, presets: list[str]) -> dict:
    """Every per-unit CPU cost: the probe, the metrics, each preset's thinker units, its SAM2."""
    import torch
    from rehearsal import pick, write_data

    from omni_r1_lite import offline_processor
    from omni_r1_lite.config import get_preset
    from omni_r1_lite.data.refavs import load_refavs
    from omni_r1_lite.data.revos import load_revos

    torch.manual_seed(0)
    work = Path(args.data_dir or tempfile.mkdtemp(prefix="eval-cost-"))
    t_start = time.perf_counter()
    probe = cpu_probe(args.repeats)
    print(f"CPU: {probe['gemm_gflops']} GFLOP/s float32 GEMM, {probe['copy_gbs']} GB/s copy, "
          f"{probe['threads']} threads", flush=True)
    revos_root = write_data(work, work / "data", 24)
    avs = pick(load_refavs(work / "data" / "refavs", "train"))
    vos = pick(load_revos(revos_root, "train"))
    proc = offline_processor.build_processor(work / "processor")
    metric = metric_units(args.repeats)
    print(f"metrics per 720p frame: J&F {metric['revos_jf_s_per_frame'] * 1e3:.1f} ms, "
          f"RefAVS {metric['refavs_s_per_frame'] * 1e3:.1f} ms", flush=True)
    result: dict = {"probe": probe, "units_cpu_s": {}, "sam2_cpu": {}, "metrics_cpu": metric, "gpus": GPUS}
    for preset in presets:
        t0 = time.perf_counter()
        units = thinker_units(preset, proc, avs, vos, args.repeats)
        print(f"{preset}: thinker units in {time.perf_counter() - t0:.0f} s: "
              + ", ".join(f"{k} {v['prefill_s'] + v['towers_s']:.1f} s + {v['decode_s_per_token']:.2f} s/token"
                          for k, v in units.items() if isinstance(v, dict)), flush=True)
        result["units_cpu_s"][preset] = units
        config = get_preset(preset).system2.sam2_config
        if config not in result["sam2_cpu"]:
            t0 = time.perf_counter()
            s = result["sam2_cpu"][config] = sam2_units(config, vos, args.sam2_frames, args.sam2_expressions)
            print(f"{config} at 1024 px: {s['per_frame_s']:.2f} s per frame (encoder {s['encoder_per_frame_s']:.2f} s); "
                  f"feature reuse over {s['expressions']} expressions: {s['reuse_ratio']}x, identical "
                  f"{s['identical']} ({time.perf_counter() - t0:.0f} s)", flush=True)
    result["seconds"] = round(time.perf_counter() - t_start, 1)
    return result


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="colab-3b,a100-7b")
    ap.add_argument("--quick", action="store_true", help="one repeat, 3 SAM2 frames, 2 expressions")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--sam2-frames", type=int, default=4)
    ap.add_argument("--sam2-expressions", type=int, default=3)
    ap.add_argument("--s1-tokens", type=int, default=256, help="System-1 tokens decoded per expression (assumed)")
    ap.add_argument("--grounding-tokens", type=int, default=40, help="grounding tokens decoded per keyframe")
    ap.add_argument("--mfu", type=float, default=0.35, help="share of the GPU's peak compute reached")
    ap.add_argument("--bw-eff", type=float, default=0.6, help="share of the GPU's bandwidth reached decoding")
    ap.add_argument("--launch-ms", type=float, default=0.4, help="eager decoding floor: ms per layer per token")
    ap.add_argument("--revos-meta", default=None, help="ReVOS's meta_expressions_valid_.json: its real sizes")
    ap.add_argument("--from-json", default=None, help="re-estimate from an earlier run's JSON (no measuring)")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats, args.sam2_frames, args.sam2_expressions = 1, 3, 2
    if args.revos_meta:
        SPLITS["revos/valid"] = revos_from_meta(args.revos_meta)
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
        result = {k: result[k] for k in ("probe", "units_cpu_s", "sam2_cpu", "metrics_cpu", "gpus", "seconds")}
    else:
        result = measure_all(args, [p for p in args.presets.split(",") if p])
    return finish(result, args)


if __name__ == "__main__":
    main()
