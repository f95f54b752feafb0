"""GPU memory plan of a preset: will one GRPO step (rollout → System 2 → policy update) fit?

`plan_memory(cfg)` estimates, without loading anything, the GPU memory of the kit's single-GPU
recipe — one thinker whose LoRA adapters are the policy, the same weights with adapters disabled
as reference and System-2 grounder ("one base model, three roles"), and SAM2 in the same process —
and `check_fits(cfg)` refuses a preset that cannot fit **before** anything large is loaded, with
the estimate, the available memory and what to change.

>>> from omni_r1_lite.config import get_preset
>>> plan = plan_memory(get_preset("a100-7b"))
>>> plan.model, plan.tokens["sequences"], plan.total_gib < 78
('qwen2.5-omni-7b', 8, True)
>>> check_fits(get_preset("smoke"))  # CPU presets: nothing to check

How the estimate is built
=========================
Bytes are exact products of the formulas below; GiB = 2**30 bytes. ``T`` = tokens in the forward,
``h`` hidden size, ``L`` decoder layers, ``kv`` = key/value heads × head_dim, ``f`` the MLP's
intermediate size, ``V`` the vocabulary, ``b`` bytes per weight/activation element (2 for
bf16/fp16), ``G`` = ``grpo.num_generations``, ``n = grpo.per_device_prompts × G`` sequences,
``P`` prompt tokens, ``C = grpo.max_completion_length``.

The three phases of a step run one after another in one process, so their transient memory does
not add up: **total = persistent + the largest phase + 10 % of that phase for allocator
fragmentation**. Every row of `MemoryPlan.rows` names its phase and formula.

Persistent
  * *weights*: the thinker's parameter count (`omni_r1_lite.models.MODEL_REGISTRY`, counted from
    the published configs: 3B 4.70 B, 7B 8.93 B incl. vision and audio towers, no talker) × ``b``
    (the preset's dtype: ``system1.dtype``, else ``grpo.mixed_precision``; 1 or 0.5 byte for
    8-/4-bit loading).
  * *LoRA + AdamW*: LoRA on the language model's linear layers, ``r·(in+out)`` parameters per
    adapted ``in×out`` matrix (q, k, v, o, gate, up, down in every layer); peft keeps adapters in
    fp32, so 4 B weight + 4 B gradient + 8 B for AdamW's two fp32 moments = 16 B a parameter (the
    fp32 adapter *is* the master copy). Nothing else has gradients or optimizer state.
  * *SAM2*: SAM2.1 parameters (tiny 38.96 M, small 46.06 M, base+ 80.85 M, large 224.45 M,
    counted by building the ``sam2`` package's configs; checkpoint files of 156/184/324/898 MB) in
    fp32 (the predictor is built in fp32 and runs under bf16 autocast).
  * *CUDA context*: a fixed 0.75 GiB for the CUDA context, the loaded kernels and the
    cuBLAS/cuDNN workspaces (an assumption, not measured here: the context of recent PyTorch
    builds is commonly reported at 0.3–0.6 GiB).

Rollout phase (``generate``, no gradients)
  * *KV cache*: ``L × 2 × kv × (P + C) × n × b`` (grouped-query attention: 4 KV heads of 128 in
    the 7B, 2 in the 3B, so it is small).
  * *prefill*: the widest transient of one layer on ``n·P`` tokens,
    ``n·P × 2·(2h + 2kv + 3f)`` bytes (hidden state, q/k/v, the MLP's gate, up and product);
    ``generate`` expands the prompt to the ``n`` sequences before prefill.
  * *encoders*: the frozen vision tower on ``4 × visual tokens`` patches (2×2 merge) per sequence,
    ``2·(6d + 4f_v)`` bytes per patch for its widest layer (d = 1280, f_v = 3420), and the audio
    tower on ``50/s`` frames (``2·(6d + 2f_a)``, f_a = 5120); inputs expanded to ``n`` copies.

System-2 phase (greedy grounding + SAM2, no gradients)
  * *grounding*: one high-resolution keyframe (``system2.grounding_max_pixels``) + ~60 text tokens
    through the adapter-disabled thinker: prefill transient, KV cache for 128 new tokens, and the
    vision tower on its patches.
  * *SAM2 activations* at ``S`` = 1024 px (or ``system2.sam2_image_size``): the Hiera image
    encoder's widest stage, ``12 · C₁ · (S/4)² · 2`` bytes (C₁ = 96/96/112/144 channels for
    t/s/b+/l: input, norm, q/k/v, attention output, 4C MLP hidden), the FPN features kept for the
    frame (``256 · ((S/4)² + (S/8)² + (S/16)²) · 4``), the memory bank of every tracked frame
    (``64·(S/16)²`` bf16 memory features + fp32 positional encodings + a ``(S/4)²`` fp32 mask ≈
    1.8 MB at 1024 px) and 0.1 GiB for memory attention and the mask decoder. Frames stay in
    CPU memory (the kit's ``offload_video_to_cpu=True``). Clip length: 10 frames (RefAVS) or 200
    (ReVOS; longer clips add 1.8 MB a frame).
  * *SAM2 feature cache* (``system2.sam2_cache_frames`` > 0): the image features of up to that many
    frames of the current clip, kept so that its other expressions (or a GRPO group's rollouts)
    skip the encoder: ``4 · (32·(S/4)² + 64·(S/8)² + 256·(S/16)²)`` bytes a frame (16.8 MB at
    1024 px) plus one copy of the position encodings for the clip (84 MiB).

Training phase (the policy's log-prob forward + backward on ``n`` sequences of ``P + C`` tokens)
  * *activations* of one decoder layer, per token, with FlashAttention/SDPA (no ``T²`` score
    matrix) and frozen base weights (LoRA needs only the layer inputs it already keeps):
    ``18h + 6kv + 8f`` bytes = two RMSNorms (fp32 input 4h + output 2h each), q and its rotary
    copy (2h + 2h), k, v and rotary k (6kv), the attention output (2h), and the MLP's gate, up,
    SiLU and product (4 × 2f). This is the count of Korthikanti et al. 2022 ("Reducing Activation
    Recomputation in Large Transformer Models", §4.1: ``sbh(34 + 5as/h)``) redone for
    Qwen2's SwiGLU MLP, grouped-query attention, RMSNorm and no dropout.

    - with gradient checkpointing (per decoder layer, as transformers does it): the ``L`` layer
      inputs (``L × 2h × T``) + one layer recomputed in the backward pass
      (``(18h + 6kv + 8f) × T``) + two ``2h × T`` gradient buffers;
    - without: ``L × (18h + 6kv + 8f) × T`` (shown as an alternative row, not summed);
    - both: + ``6h × T`` for the final RMSNorm (fp32 input, output into the LM head).

    ``tests/test_memory.py`` checks these counts against the bytes autograd actually saves
    (``torch.autograd.graph.saved_tensors_hooks``) for a small bf16 Qwen2.5-Omni decoder with
    SDPA: within 10 % without checkpointing, and the checkpointed count exactly.
  * *logits*: only the ``n·C`` completion positions are scored: bf16 logits (2 B) and the fp32
    log-softmax kept for backward (4 B), then its fp32 gradient (4 B): ``n·C × V × 10`` bytes. A
    chunked log-prob kernel (TRL's ``add_fused_lm_head``) would remove most of it; the estimate
    does not assume one.
  * *encoders*: as in the rollout phase (the official code re-encodes the G copies).
  * The reference (KL) forward with adapters disabled runs before, without gradients; it keeps
    only ``n·C`` fp32 log-probs.

Prompt length ``P`` is the longer of the preset's two tasks: VOS = ``video tokens`` of
``system1.max_frames`` frames at ``system1.frame_max_pixels`` (from the Qwen2-VL processor's own
arithmetic, `omni_r1_lite.compute.video_tokens`, on 720×1280 frames) + the template's text; AVS
(RefAVS) = one frame at the same budget (`compute.image_tokens`) + 10 s of audio at 25 tokens/s
(Whisper's 100 mel frames/s, stride-2 convolution, stride-2 pooling) + the text. Text tokens are
the rendered template's characters / 3 (Qwen2's BPE on English is ~4 characters a token; JSON
timestamps are split digit by digit, so 3 is on the safe side) + 10 for the chat markup.

Margins (what the tests hold the GPU presets to): ``torch`` reports a "16 GB" T4 as 14.75 GiB
and an "80 GB" A100 as 79.1 GiB; the plans must stay under 14.0 GiB (colab-3b, 5 % headroom for
estimation error) and 72 GiB (a100-7b, 9 %).

Checked at full size (``benchmarks/rehearsal.py --preset colab-3b`` on a CPU: the 3B's real
dimensions and vocabulary, random bf16 weights, measured prompt length, 32-token completions): the
peak of live tensor bytes per phase against `tensor_gib` was rollout −8 %, grounding −2 %, SAM2
+1 %, GRPO update +11 % (12.04 against 10.87 GiB, T = 4 × 915 tokens), evaluation +3 %. Before the
loss forward scored only the completion positions it was +19 % (the prompt's logits at the real
vocabulary, ~1 GiB with their gradient). The rollout is below the plan because the kit's rollout
prefills the prompt (and runs the towers) once per group and repeats the cache G times, where the
plan's prefill and encoder rows assume ``generate``'s G copies (0.55 of the 0.68 GiB planned), and
because the LoRA gradients and AdamW moments (0.33 GiB) do not exist before the first update. The
plan keeps the conservative rows: other backends (TRL, vLLM) do expand the prompt. The update's
remaining excess is not attributed row by row; it is inside the 10 % fragmentation margin plus the
5 % headroom the colab-3b limit keeps. On CUDA, ``scripts/gpu_check.sh`` measures the same
phases with ``max_memory_allocated`` (CUDA kernels' workspaces are then inside the measurement,
the context is not); those figures are still to come. The plan's prompt estimate (chars / 3) is
on the safe side: 995 tokens where the real processor gives 883 for a 16-frame VOS prompt.

What is *not* in the plan: CPU offload, FSDP/ZeRO sharding (``configs/accelerate``), memory of
other processes on the GPU, and a grounding backend served by vLLM. The SFT warm start on a GPU
preset (batch 1, LoRA) needs less than the GRPO step planned here.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

from omni_r1_lite.config import KitConfig

GIB = 2**30
CUDA_CONTEXT_GIB = 0.75
FRAGMENTATION = 0.10
CHARS_PER_TOKEN = 3.0
AUDIO_TOKENS_PER_SECOND = 25
AUDIO_ENCODER_FRAMES_PER_SECOND = 50
REFAVS_AUDIO_SECONDS = 10.0
FRAME_HW = (720, 1280)
CLIP_FRAMES = {"refavs": 10, "revos": 200, "omnisynth": 10}
SAM2_FRAME_STATE_BYTES = 64 * 64 * 64 * 2 + 64 * 64 * 64 * 4 + 256 * 256 * 4  # at 1024 px, per frame
GROUNDING_NEW_TOKENS = 128
GROUNDING_TEXT_TOKENS = 60
MARGIN_GIB = {"colab-3b": 14.0, "a100-7b": 72.0}
"""The limits the tests hold the GPU presets to (see the module docstring)."""


@dataclasses.dataclass(frozen=True)
class ThinkerDims:
    """The sizes of a thinker that memory scales with (published ``config.json`` values)."""

    name: str
    params: float  # thinker parameters (LLM + towers)
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    vision_dim: int = 1280
    vision_depth: int = 32
    vision_intermediate: int = 3420
    audio_dim: int = 1280
    audio_layers: int = 32
    audio_intermediate: int = 5120

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim


GROUNDER_DIMS: dict[str, tuple[ThinkerDims, int, int, int]] = {
    # Qwen2.5-VL-7B-Instruct's config.json (VisionReasoner-7B is fine-tuned from it): an 840 x 840
    # keyframe is 900 image tokens; 184 more prompt tokens (measured, benchmarks/system2_grounders.py);
    # VisionReasonerGrounder's 1024 new tokens
    "visionreasoner": (ThinkerDims("visionreasoner-7b", 8.29e9, 28, 3584, 18944, 28, 4, 128, 152064), 900, 184, 1024),
    # Sa2VA-4B: InternVL2.5-4B (InternViT-300M + Qwen2.5-3B) + SAM2-L, ~4.0 B (model card); InternVL's
    # dynamic 448-px tiles, 256 tokens each, up to 6 + 1 thumbnail for a 16:9 frame (an estimate)
    "sa2va": (ThinkerDims("sa2va-4b", 4.0e9, 36, 2048, 11008, 16, 2, 128, 151674, 1024, 24, 4096), 7 * 256, 40, 16),
}
"""The separate grounders' sizes: ``(dims, image tokens per keyframe, text tokens, new tokens)``."""


def thinker_dims(model: str) -> ThinkerDims:
    """Dimensions of a System-1 model: the registry's real thinkers, or a tiny one (``tiny-xs``...).

    7B: transformers' ``Qwen2_5OmniThinkerConfig()`` defaults (= Qwen/Qwen2.5-Omni-7B); 3B: the
    published config (hidden 2048, 36 layers, 16 heads, 2 KV heads, MLP 11008, vocab 151936).
    """
    from omni_r1_lite.models import TINY_SIZES, get_model_spec

    spec = get_model_spec(model)
    key = spec.key if spec is not None else str(model).lower()
    if spec is not None and spec.llm_params_b > 5:
        return ThinkerDims(spec.key, spec.params_b * 1e9, 28, 3584, 18944, 28, 4, 128, 152064)
    if spec is not None:
        return ThinkerDims(spec.key, spec.params_b * 1e9, 36, 2048, 11008, 16, 2, 128, 151936)
    if "7b" in key:
        return thinker_dims("qwen2.5-omni-7b")
    if "3b" in key:
        return thinker_dims("qwen2.5-omni-3b")
    size = key.removeprefix("tiny-")
    if size in TINY_SIZES:
        sz = TINY_SIZES[size]
        head_dim = sz.text_hidden // sz.heads
        d = ThinkerDims(f"tiny-{size}", 0.0, sz.text_layers, sz.text_hidden, sz.text_ffn, sz.heads, sz.kv_heads,
                        head_dim, sz.vocab_size, sz.vision_hidden, sz.vision_depth, sz.vision_ffn,
                        sz.audio_hidden, sz.audio_layers, sz.audio_ffn)
        return dataclasses.replace(d, params=float(count_parameters(d)))
    raise ValueError(f"no memory model for {model!r}: use a Qwen2.5-Omni 3B/7B checkpoint or a tiny model")


def dims_from_config(config: Any, name: str = "custom") -> ThinkerDims:
    """`ThinkerDims` of a ``Qwen2_5OmniThinkerConfig`` (e.g. `omni_r1_lite.full_size.thinker_config`)."""
    t, v, a = config.text_config, config.vision_config, config.audio_config
    head_dim = getattr(t, "head_dim", None) or t.hidden_size // t.num_attention_heads
    d = ThinkerDims(name, 0.0, t.num_hidden_layers, t.hidden_size, t.intermediate_size, t.num_attention_heads,
                    t.num_key_value_heads, head_dim, t.vocab_size, v.hidden_size, v.depth, v.intermediate_size,
                    a.d_model, a.encoder_layers, a.encoder_ffn_dim)
    return dataclasses.replace(d, params=float(count_parameters(d)))


def count_parameters(d: ThinkerDims) -> int:
    """Parameters from the dimensions (embeddings + LM head untied, decoder layers, both towers)."""
    lm_layer = d.hidden * (2 * d.hidden + 2 * d.kv_dim) + 3 * d.hidden * d.intermediate
    vit_layer = 4 * d.vision_dim**2 + 3 * d.vision_dim * d.vision_intermediate
    audio_layer = 4 * d.audio_dim**2 + 2 * d.audio_dim * d.audio_intermediate
    return (2 * d.vocab * d.hidden + d.layers * lm_layer + d.vision_depth * vit_layer
            + d.audio_layers * audio_layer)


def lora_parameters(d: ThinkerDims, r: int, modules: tuple[str, ...] = ("q", "k", "v", "o", "gate", "up", "down")) -> int:
    """LoRA parameters on the language model's linear layers: ``r·(in + out)`` per adapted matrix."""
    shapes = {
        "q": (d.hidden, d.heads * d.head_dim), "k": (d.hidden, d.kv_dim), "v": (d.hidden, d.kv_dim),
        "o": (d.heads * d.head_dim, d.hidden), "gate": (d.hidden, d.intermediate),
        "up": (d.hidden, d.intermediate), "down": (d.intermediate, d.hidden),
    }
    return d.layers * sum(r * (shapes[m][0] + shapes[m][1]) for m in modules)


def activation_bytes_per_token_layer(d: ThinkerDims, b: float = 2) -> float:
    """One decoder layer's saved activations per token: ``(9h + 3kv + 4f) · b`` = ``18h+6kv+8f`` at b=2."""
    return b * (9 * d.hidden + 3 * d.kv_dim + 4 * d.intermediate)


# ----------------------------------------------------------------------------- SAM2

SAM2_SPECS: dict[str, tuple[float, int, int]] = {
    "sam2.1_hiera_t": (38.96e6, 96, 156),
    "sam2.1_hiera_s": (46.06e6, 96, 184),
    "sam2.1_hiera_b+": (80.85e6, 112, 324),
    "sam2.1_hiera_l": (224.45e6, 144, 898),
}
"""SAM2.1 model → (parameters, Hiera stage-1 channels C₁, checkpoint MB); parameters and channels
counted from ``sam2.build_sam.build_sam2(config, None)`` (sam2 1.1.0), file sizes from the SAM2 README."""


def _sam2_key(name: str) -> str:
    key = str(name).replace(".yaml", "").split("/")[-1]
    aliases = {"tiny": "t", "small": "s", "base_plus": "b+", "base-plus": "b+", "large": "l"}
    for alias, short in aliases.items():
        key = key.replace(f"hiera_{alias}", f"hiera_{short}")
    key = key.replace("sam2_hiera", "sam2.1_hiera")
    if key not in SAM2_SPECS:
        raise ValueError(f"unknown SAM2 config {name!r}; one of {sorted(SAM2_SPECS)}")
    return key


# ----------------------------------------------------------------------------- tokens


@functools.lru_cache(maxsize=64)
def _visual_tokens(kind: str, frames: int, height: int, width: int, max_pixels: int) -> int:
    from omni_r1_lite import compute

    if kind == "video":
        return compute.video_tokens(frames, height, width, max_pixels=max_pixels,
                                    min_pixels=min(16 * 28 * 28, max_pixels))
    return compute.image_tokens(height, width, max_pixels=max_pixels, min_pixels=min(4 * 28 * 28, max_pixels))


def _text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) + 10


def prompt_tokens(cfg: KitConfig, frame_hw: tuple[int, int] = FRAME_HW) -> dict[str, int]:
    """Estimated System-1 prompt tokens per task and their maximum (see the module docstring)."""
    from omni_r1_lite.systems.prompts import avs_prompt_text, vos_prompt_text

    s1 = cfg.system1
    h, w = frame_hw
    expression = "the person who walks to the left and then sits down next to the dog"
    vos_text = _text_tokens(vos_prompt_text(expression, s1.max_frames, template=s1.template))
    video = _visual_tokens("video", s1.max_frames, h, w, s1.frame_max_pixels)
    # a VOS soundtrack lasts the clip: ≥ 1 s a sampled frame (RefAVS: 10 frames of 1 s)
    vos_audio = int(AUDIO_TOKENS_PER_SECOND * s1.max_frames) if s1.with_audio else 0
    # OmniSynth's perception track (CPU presets): one ~120-character line a frame
    perception = s1.max_frames * _text_tokens("x" * 120) if s1.use_perception else 0
    image = _visual_tokens("image", 1, h, w, s1.frame_max_pixels)
    avs_text = _text_tokens(avs_prompt_text(expression, REFAVS_AUDIO_SECONDS, template=s1.template))
    audio = int(AUDIO_TOKENS_PER_SECOND * REFAVS_AUDIO_SECONDS)
    vos = video + vos_audio + vos_text + perception
    avs = image + audio + avs_text + (_text_tokens("x" * 120) if s1.use_perception else 0)
    return {"vos": vos, "avs": avs, "prompt": max(vos, avs), "video": video, "image": image, "audio": audio,
            "vos_audio": vos_audio}


# ----------------------------------------------------------------------------- the plan


@dataclasses.dataclass(frozen=True)
class MemoryRow:
    """One component: ``phase`` is persistent / rollout / system2 / train / alternative."""

    name: str
    phase: str
    bytes: float
    formula: str

    @property
    def gib(self) -> float:
        return self.bytes / GIB


PHASES = ("rollout", "system2", "train")


@dataclasses.dataclass
class MemoryPlan:
    """Rows of the estimate; ``total_gib`` = persistent + largest phase (+ fragmentation)."""

    preset: str
    model: str
    device: str
    rows: list[MemoryRow]
    tokens: dict[str, int]
    settings: dict[str, Any]

    def phase_gib(self, phase: str) -> float:
        return sum(r.gib for r in self.rows if r.phase == phase)

    @property
    def persistent_gib(self) -> float:
        return self.phase_gib("persistent")

    @property
    def peak_phase(self) -> str:
        return max(PHASES, key=self.phase_gib)

    @property
    def fragmentation_gib(self) -> float:
        return FRAGMENTATION * self.phase_gib(self.peak_phase)

    @property
    def total_gib(self) -> float:
        return self.persistent_gib + self.phase_gib(self.peak_phase) + self.fragmentation_gib

    def row(self, name: str) -> MemoryRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def to_markdown(self) -> str:
        """The plan as a Markdown table with the phase totals and the total."""
        s = self.settings
        what = (f"GRPO step: G = {s['num_generations']}, {self.tokens['sequences']} sequences of "
                f"{self.tokens['prompt']} prompt + {self.tokens['completion']} completion tokens, gradient "
                f"checkpointing {'on' if s['gradient_checkpointing'] else 'off'}" if s["training"] else
                f"evaluation: {self.tokens['sequences']} sequence(s) of {self.tokens['prompt']} prompt + "
                f"{self.tokens['completion']} completion tokens")
        lines = [
            f"**Memory plan — preset `{self.preset}`** ({self.model} on {self.device}, weights "
            f"{s['weight_dtype']}; {what}; SAM2 {s['sam2_config']})",
            "",
            "| component | phase | GiB | formula |",
            "| --- | --- | ---: | --- |",
        ]
        for r in self.rows:
            phase = r.phase if r.phase != "alternative" else "(not summed)"
            lines.append(f"| {r.name} | {phase} | {r.gib:.2f} | {r.formula} |")
        for phase in ("persistent", *PHASES):
            mark = " ← peak" if phase == self.peak_phase else ""
            lines.append(f"| *{phase} total* | | {self.phase_gib(phase):.2f} | {mark.strip()} |")
        lines.append(f"| *allocator fragmentation* | | {self.fragmentation_gib:.2f} | "
                     f"{FRAGMENTATION:.0%} of the peak phase |")
        lines.append(f"| **total** | | **{self.total_gib:.2f}** | persistent + peak phase + fragmentation |")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:  # Jupyter
        return self.to_markdown()


def _weight_bytes(cfg: KitConfig, weight_bits: int | None) -> tuple[float, str]:
    if weight_bits is not None:
        return weight_bits / 8, {16: "bf16/fp16", 8: "int8", 4: "4-bit"}.get(weight_bits, f"{weight_bits}-bit")
    if cfg.requirements.device != "cuda":
        return 4.0, "fp32"
    dtype = cfg.system1.dtype
    if dtype in ("float32", "fp32"):
        return 4.0, "fp32"
    if dtype in ("bfloat16", "float16"):
        return 2.0, dtype
    mp = cfg.grpo.mixed_precision
    return 2.0, {"fp16": "float16", "bf16": "bfloat16"}.get(mp, "bfloat16")


def plan_memory(
    cfg: KitConfig,
    *,
    num_generations: int | None = None,
    max_completion_length: int | None = None,
    gradient_checkpointing: bool | None = None,
    model: str | None = None,
    sam2_config: str | None = None,
    weight_bits: int | None = None,
    frame_hw: tuple[int, int] = FRAME_HW,
    clip_frames: int | None = None,
    prompt_tokens: int | None = None,
    dims: ThinkerDims | None = None,
) -> MemoryPlan:
    """The memory plan of ``cfg`` (keyword overrides answer "what if": a smaller G, shorter
    completions, another model or SAM2, 8-/4-bit weights; ``prompt_tokens`` replaces the estimated
    prompt length with a measured one, and ``dims`` the model's sizes, e.g. for a shortened stack in
    ``benchmarks/rehearsal.py``). Loads nothing."""
    g = cfg.grpo
    d = dims if dims is not None else thinker_dims(model or cfg.system1.model)
    G = int(num_generations or g.num_generations)
    C = int(max_completion_length or g.max_completion_length)
    ckpt = g.gradient_checkpointing if gradient_checkpointing is None else gradient_checkpointing
    sam_key = _sam2_key(sam2_config or cfg.system2.sam2_config)
    wb, wname = _weight_bytes(cfg, weight_bits)
    b = 2.0 if cfg.requirements.device == "cuda" else 4.0  # activations: bf16/fp16 on GPU, fp32 on CPU
    training = g.max_steps > 0
    n = max(1, g.per_device_prompts) * G if training else max(1, cfg.eval.batch_size)
    gen_per_seq = G if training else 1
    tok = globals()["prompt_tokens"](cfg, frame_hw)
    P = int(prompt_tokens) if prompt_tokens is not None else tok["prompt"]
    T = n * (P + C)
    h, kv, f, L, V = d.hidden, d.kv_dim, d.intermediate, d.layers, d.vocab
    rows: list[MemoryRow] = []
    add = lambda *a: rows.append(MemoryRow(*a))  # noqa: E731

    # persistent
    count = f"{d.params / 1e9:.2f} B" if d.params >= 1e8 else f"{d.params / 1e6:.2f} M"
    add("thinker weights", "persistent", d.params * wb, f"{count} params × {wb:g} B ({wname})")
    if training:
        lp = lora_parameters(d, g.lora_r)
        add("LoRA adapters + grads + AdamW", "persistent", lp * 16.0,
            f"{lp / 1e6:.1f} M LoRA params (r={g.lora_r}, q/k/v/o/gate/up/down × {L} layers) × 16 B")
    sam_params, c1, sam_mb = SAM2_SPECS[sam_key]
    if cfg.system2.backend in GROUNDER_DIMS:
        gd = GROUNDER_DIMS[cfg.system2.backend][0]  # loaded as activations are kept: bf16 on GPU, fp32 on CPU
        add(f"{cfg.system2.backend} grounder weights", "persistent", gd.params * b,
            f"{gd.name}: {gd.params / 1e9:.2f} B params × {b:g} B (bf16 on GPU, fp32 on CPU)")
    if cfg.system2.backend != "standin":
        add("SAM2 weights", "persistent", sam_params * 4.0, f"{sam_key}: {sam_params / 1e6:.1f} M × 4 B (fp32, {sam_mb} MB file)")
    if cfg.requirements.device == "cuda":
        add("CUDA context + workspaces", "persistent", CUDA_CONTEXT_GIB * GIB, "fixed estimate")

    # rollout
    kv_bytes = L * 2 * kv * (P + C) * n * b
    add("KV cache (generation)", "rollout", kv_bytes, f"{L}·2·{kv}·({P}+{C})·{n}·{b:g} B")
    prefill = n * P * b * (2 * h + 2 * kv + 3 * f)
    add("prefill transient (one layer)", "rollout", prefill, f"{n}·{P}·{b:g}·(2h+2kv+3f)")
    visual = tok["video"] if tok["vos"] >= tok["avs"] else tok["image"]
    patches = 4 * visual
    vit = n * patches * b * (6 * d.vision_dim + 4 * d.vision_intermediate)
    audio_s = REFAVS_AUDIO_SECONDS if tok["avs"] > tok["vos"] else (tok["vos_audio"] / AUDIO_TOKENS_PER_SECOND)
    aud = n * audio_s * AUDIO_ENCODER_FRAMES_PER_SECOND * b * (6 * d.audio_dim + 2 * d.audio_intermediate)
    add("vision + audio encoders (transient)", "rollout", vit + aud,
        f"{n}·{patches} patches·{b:g}·(6d+4f_v) + {n}·{audio_s * AUDIO_ENCODER_FRAMES_PER_SECOND:.0f} frames·{b:g}·(6d+2f_a)")

    # System 2
    if cfg.system2.backend != "standin":
        if cfg.system2.backend in GROUNDER_DIMS:
            gd, key_tokens, text_tokens, new_tokens = GROUNDER_DIMS[cfg.system2.backend]
            what = f"{cfg.system2.backend} grounding (greedy)"
        else:
            gd, text_tokens, new_tokens = d, GROUNDING_TEXT_TOKENS, GROUNDING_NEW_TOKENS
            key_tokens = _visual_tokens("image", 1, *frame_hw, cfg.system2.grounding_max_pixels)
            what = "grounding (adapters disabled, greedy)"
        gp = key_tokens + text_tokens
        ground = (gp * b * (2 * gd.hidden + 2 * gd.kv_dim + 3 * gd.intermediate)
                  + gd.layers * 2 * gd.kv_dim * (gp + new_tokens) * b
                  + 4 * key_tokens * b * (6 * gd.vision_dim + 4 * gd.vision_intermediate))
        add(what, "system2", ground,
            f"one keyframe: {key_tokens} image tokens + {text_tokens} text, prefill + KV ({new_tokens} new) + ViT")
        size = cfg.system2.sam2_image_size or 1024
        frames = clip_frames or CLIP_FRAMES.get(cfg.data.dataset, 10)
        levels = ((size / 4) ** 2, (size / 8) ** 2, (size / 16) ** 2)  # the FPN levels' pixels
        enc = 12 * c1 * levels[0] * 2 + 256 * sum(levels) * 4
        state = frames * SAM2_FRAME_STATE_BYTES * (size / 1024) ** 2
        add("SAM2 activations", "system2", enc + state + 0.1 * GIB,
            f"Hiera 12·{c1}·({size}/4)²·2 + FPN + {frames} frames × {SAM2_FRAME_STATE_BYTES * (size / 1024) ** 2 / 2**20:.1f} MiB + 0.1 GiB")
        kept = min(frames, int(cfg.system2.sam2_cache_frames))
        if kept:
            per_frame = 4 * sum(c * n for c, n in zip((32, 64, 256), levels))  # the FPN levels, fp32
            shared = 4 * 256 * sum(levels)  # position encodings, one copy for the clip
            # kept with the clip's SAM2 state between calls, so through the other phases too
            add("SAM2 feature cache", "persistent", kept * per_frame + shared,
                f"{kept} frames × {per_frame / 2**20:.1f} MiB (FPN 32/64/256 ch) + {shared / 2**20:.0f} MiB shared")

    # training
    if training:
        per_layer = activation_bytes_per_token_layer(d, b)
        final_norm = 3 * h * b * T  # the final RMSNorm: fp32 input + output feeding the LM head
        full = L * per_layer * T + final_norm
        # the layer inputs + one layer recomputed + two gradient buffers + the final norm
        with_ckpt = L * h * b * T + per_layer * T + 2 * h * b * T + final_norm
        if ckpt:
            add("LM activations (checkpointed)", "train", with_ckpt,
                f"T={T}: L·{b:g}h·T + (18h+6kv+8f)·T + 2·{b:g}h·T + {3 * b:g}h·T")
            add("LM activations without checkpointing", "alternative", full, f"L·(18h+6kv+8f)·T + {3 * b:g}h·T, T={T}")
        else:
            add("LM activations (no checkpointing)", "train", full, f"L·(18h+6kv+8f)·T + {3 * b:g}h·T, T={T}")
            add("LM activations with checkpointing", "alternative", with_ckpt,
                f"L·{b:g}h·T + (18h+6kv+8f)·T + {5 * b:g}h·T")
        logit_b = 2 + 4 + 4 if b == 2 else 4 + 4 + 4
        add("completion logits + log-softmax + grad", "train", n * C * V * logit_b, f"{n}·{C}·{V}·{logit_b} B")
        add("vision + audio encoders (transient)", "train", vit + aud, "as in the rollout")

    settings = {
        "num_generations": G if training else gen_per_seq,
        "max_completion_length": C,
        "gradient_checkpointing": bool(ckpt),
        "sam2_config": sam_key,
        "weight_dtype": wname,
        "frame_hw": list(frame_hw),
        "training": training,
    }
    tokens = {"prompt": P, "completion": C, "sequences": n, "train_tokens": T if training else 0,
              "vos_prompt": tok["vos"], "avs_prompt": tok["avs"]}
    return MemoryPlan(cfg.name, d.name, cfg.requirements.device, rows, tokens, settings)


def tensor_gib(plan: MemoryPlan, phase: str, rows: tuple[str, ...] | None = None) -> float:
    """What a plan expects of the *live tensor bytes* at the peak of ``phase``: the persistent rows
    (without the CUDA context, which holds no tensors) plus the phase's rows (only those named in
    ``rows`` when given), without the allocator's fragmentation. This is the figure to hold
    against ``torch.cuda.max_memory_allocated`` or `omni_r1_lite.memtrack.LiveTensors`.

    >>> from omni_r1_lite.config import get_preset
    >>> p = plan_memory(get_preset("colab-3b"))
    >>> round(tensor_gib(p, "train") + CUDA_CONTEXT_GIB + p.fragmentation_gib, 6) == round(p.total_gib, 6)
    True
    """
    persistent = sum(r.gib for r in plan.rows if r.phase == "persistent" and not r.name.startswith("CUDA context"))
    chosen = [r for r in plan.rows if r.phase == phase and (rows is None or r.name in rows)]
    if rows is not None and len(chosen) != len(rows):
        raise KeyError(f"plan rows {sorted(set(rows) - {r.name for r in chosen})} not in phase {phase!r}")
    return persistent + sum(r.gib for r in chosen)


# ----------------------------------------------------------------------------- the check


class InsufficientGPUMemory(RuntimeError):
    """The preset's memory plan does not fit the GPU (the message says what to change)."""


class GPUUnavailable(InsufficientGPUMemory):
    """A CUDA preset on a machine where torch sees no GPU."""


def _suggestions(cfg: KitConfig, plan: MemoryPlan, limit: float) -> list[str]:
    out: list[tuple[float, str]] = []

    def trial(label: str, base: KitConfig | None = None, **kw: Any) -> None:
        try:
            alt = plan_memory(base or cfg, **kw).total_gib
        except ValueError:
            return
        if alt < plan.total_gib - 0.05:
            ok = "fits" if alt <= limit else "still too large"
            out.append((alt, f"{label}: {alt:.1f} GiB ({ok})"))

    g = cfg.grpo
    if plan.settings["training"]:
        if g.num_generations > 2:
            trial(f"smaller G: grpo.num_generations={g.num_generations // 2}", num_generations=g.num_generations // 2)
        if g.max_completion_length > 128:
            c = g.max_completion_length // 2
            trial(f"shorter completions: grpo.max_completion_length={c}", max_completion_length=c)
        if not plan.settings["gradient_checkpointing"]:
            trial("grpo.gradient_checkpointing=True", gradient_checkpointing=True)
    if cfg.system2.backend != "standin" and plan.settings["sam2_config"] != "sam2.1_hiera_t":
        trial("smaller SAM2: system2.sam2_config='sam2.1_hiera_s'" if plan.settings["sam2_config"] != "sam2.1_hiera_s"
              else "smaller SAM2: system2.sam2_config='sam2.1_hiera_t'",
              sam2_config="sam2.1_hiera_s" if plan.settings["sam2_config"] != "sam2.1_hiera_s" else "sam2.1_hiera_t")
    if cfg.system2.backend != "standin" and cfg.system2.sam2_cache_frames:
        trial("no SAM2 feature cache: system2.sam2_cache_frames=0 (slower, same masks)",
              dataclasses.replace(cfg, system2=dataclasses.replace(cfg.system2, sam2_cache_frames=0)))
    if plan.model in ("qwen2.5-omni-7b", "omni-r1"):
        trial("3B instead of 7B: system1.model='Qwen/Qwen2.5-Omni-3B' (or the colab-3b preset)",
              model="qwen2.5-omni-3b")
    quant = "bitsandbytes, load_thinker(..., quantization_config=BitsAndBytesConfig(...)); not a preset field"
    trial(f"8-bit weights ({quant})", weight_bits=8)
    trial(f"4-bit weights (QLoRA; {quant})", weight_bits=4)
    tips = [text for _, text in sorted(out, key=lambda x: -x[0])]
    if not any(alt <= limit for alt, _ in out):
        combo: dict[str, Any] = {"weight_bits": 4}
        if plan.settings["training"]:
            combo.update(num_generations=max(2, g.num_generations // 2),
                         max_completion_length=max(128, g.max_completion_length // 2), gradient_checkpointing=True)
        if plan.model in ("qwen2.5-omni-7b", "omni-r1"):
            combo["model"] = "qwen2.5-omni-3b"
        if cfg.system2.backend != "standin":
            combo["sam2_config"] = "sam2.1_hiera_t"
        alt = plan_memory(cfg, **combo).total_gib
        ok = "fits" if alt <= limit else "still too large: use a larger GPU"
        tips.append("all together (" + ", ".join(f"{k}={v}" for k, v in combo.items()) + f"): {alt:.1f} GiB ({ok})")
    if plan.model in ("qwen2.5-omni-7b", "omni-r1") and limit < 16.5:
        tips.append(f"or the preset made for one 16 GB GPU: 'colab-3b' "
                    f"(≈ {plan_memory(_preset('colab-3b')).total_gib:.1f} GiB)")
    return tips


def _preset(name: str) -> KitConfig:
    from omni_r1_lite.config import get_preset

    return get_preset(name)


def check_fits(cfg: KitConfig, gpu_memory_gb: float | None = None) -> None:
    """Raise `InsufficientGPUMemory` if ``cfg``'s plan exceeds the GPU; nothing for CPU presets.

    ``gpu_memory_gb`` (GiB) defaults to the total memory torch reports for the current CUDA device;
    a CUDA preset without a visible GPU raises `GPUUnavailable`. Call it before loading models.
    """
    if cfg.requirements.device != "cuda":
        return None
    plan = plan_memory(cfg)
    if gpu_memory_gb is None:
        import torch

        if not torch.cuda.is_available():
            raise GPUUnavailable(
                f"preset {cfg.name!r} needs a CUDA GPU with ≈ {plan.total_gib:.1f} GiB (its memory plan), but torch "
                f"sees none (torch.cuda.is_available() is False; torch {torch.__version__}, CUDA build "
                f"{torch.version.cuda}). Run it on a GPU machine (Colab/Kaggle: switch the runtime to GPU), or "
                "use a CPU preset: 'smoke' or 'cpu-demo'."
            )
        device = torch.cuda.current_device()
        gpu_memory_gb = torch.cuda.get_device_properties(device).total_memory / GIB
    if plan.total_gib <= gpu_memory_gb:
        return None
    tips = _suggestions(cfg, plan, gpu_memory_gb)
    lines = "\n".join(f"  - {t}" for t in tips) or "  - no single change is enough: use a larger GPU"
    raise InsufficientGPUMemory(
        f"preset {cfg.name!r} ({plan.model}) needs ≈ {plan.total_gib:.1f} GiB of GPU memory by its memory plan "
        f"(peak phase: {plan.peak_phase}), but the GPU has {gpu_memory_gb:.1f} GiB. Nothing was loaded. "
        f"Options, with the estimate each gives:\n{lines}\n"
        "Apply them as overrides, e.g. get_preset(name, ['grpo.num_generations=4']); "
        "omni_r1_lite.memory.plan_memory(cfg).to_markdown() shows the whole table."
    )
