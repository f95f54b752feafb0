"""System-1 and System-2 prompts (in the kit's own words) and the 2 fps virtual timeline.

**The virtual timeline.** System 1 sees ``N ≤ 24`` frames sampled evenly from the clip
(`sample_frame_indices`). Whatever the clip's real frame rate, the prompt presents them as a video
at 2 frames per second, as Omni-R1 does: it lasts ``N / 2`` seconds and sampled frame ``i`` sits at
``i / 2`` seconds. An answer's timestamp ``t`` maps back to sampled frame ``min(int(t * 2), N - 1)``
(`seconds_to_index`); the reverse is `index_to_timestamp`. Timestamps therefore index *sampled*
frames, never real video time; the caller maps a sampled index to a clip frame with the indices it
sampled.

>>> sample_frame_indices(100, 5)
[0, 24, 49, 74, 99]
>>> seconds_to_index(1.5, num_frames=10), seconds_to_index(99.0, num_frames=10)
(3, 9)
>>> index_to_timestamp(3)
'00:01.50'

**Messages.** The builders return chat ``messages`` whose media parts carry no data
(``{"type": "video"}``, ``{"type": "audio"}``, ``{"type": "image"}``): the frames and the waveform
are passed to the processor separately, in the order the parts appear.

>>> msgs = build_system1_messages("VOS", "the ball that bounces last", num_frames=10, seed=1)
>>> [p["type"] for p in msgs[0]["content"]]
['video', 'text']
>>> "Given a 5.0-second video" in msgs[0]["content"][1]["text"]
True
>>> [p["type"] for p in build_system1_messages("AVS", "the loudest object")[0]["content"]]
['audio', 'image', 'text']
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

FPS = 2.0
"""Frames per second of the virtual timeline that System 1 reasons on."""
MAX_FRAMES = 24
"""At most this many frames reach System 1 (the paper samples 8–24 in training, ≤ 24 at inference)."""
DEFAULT_KEYFRAMES = 4
"""The number of moments the prompt asks for ("about 4")."""
TEMPLATES = ("forcing", "no_hint", "compact")
GROUNDING_STYLES = ("qwen", "refavs")


# ----------------------------------------------------------------------------- timeline


def sample_frame_indices(total_frames: int, num_frames: int = MAX_FRAMES) -> list[int]:
    """Evenly spaced clip-frame indices (``np.linspace``, truncated), at most ``num_frames``.

    Clips with ``total_frames <= num_frames`` keep every frame.

    >>> sample_frame_indices(7, 24)
    [0, 1, 2, 3, 4, 5, 6]
    >>> sample_frame_indices(10, 4)
    [0, 3, 6, 9]
    """
    if total_frames <= 0:
        return []
    if num_frames <= 0:
        raise ValueError(f"num_frames must be positive, got {num_frames}")
    if total_frames <= num_frames:
        return list(range(total_frames))
    return np.linspace(0, total_frames - 1, num_frames, dtype=int).tolist()


def timeline_seconds(num_frames: int, fps: float = FPS) -> float:
    """Duration of the virtual video shown to System 1: ``num_frames / fps`` seconds.

    >>> timeline_seconds(9)
    4.5
    """
    return num_frames / fps


def format_timestamp(seconds: float) -> str:
    """``"mm:ss.ff"`` with hundredths, the format the prompts ask for.

    >>> format_timestamp(0.0), format_timestamp(61.5)
    ('00:00.00', '01:01.50')
    """
    centis = int(round(max(seconds, 0.0) * 100))
    minutes, centis = divmod(centis, 6000)
    return f"{minutes:02d}:{centis // 100:02d}.{centis % 100:02d}"


def index_to_timestamp(index: int, fps: float = FPS) -> str:
    """Timestamp of sampled frame ``index`` on the virtual timeline (``index / fps`` seconds).

    >>> index_to_timestamp(0), index_to_timestamp(23)
    ('00:00.00', '00:11.50')
    """
    return format_timestamp(index / fps)


def seconds_to_index(seconds: float, num_frames: int, fps: float = FPS) -> int:
    """Sampled-frame index of a time on the virtual timeline: ``int(seconds * fps)`` clipped to ``[0, N-1]``.

    >>> seconds_to_index(0.49, 10), seconds_to_index(0.5, 10), seconds_to_index(5.0, 10)
    (0, 1, 9)
    """
    if num_frames <= 0:
        raise ValueError(f"num_frames must be positive, got {num_frames}")
    return int(min(max(int(seconds * fps), 0), num_frames - 1))


def example_indices(num_frames: int, seed: int, k: int = DEFAULT_KEYFRAMES) -> list[int]:
    """The ``k`` frame indices shown as example timestamps in the forcing template.

    Drawn uniformly and independently per sample (not sorted, repeats allowed) so that the policy
    cannot score by copying the example, as in the paper's appendix B.

    >>> example_indices(10, seed=0) == example_indices(10, seed=0)
    True
    >>> all(0 <= i < 10 for i in example_indices(10, seed=3))
    True
    """
    rng = random.Random(seed)
    return [rng.randrange(max(num_frames, 1)) for _ in range(k)]


# ----------------------------------------------------------------------------- answers


def format_moment(index: int, description: str, fps: float = FPS) -> str:
    """One single-frame moment as the answer's JSON object (``start_time == end_time``).

    >>> format_moment(3, "the small red circle")
    '{"start_time": "00:01.50", "end_time": "00:01.50", "description": "the small red circle"}'
    """
    ts = index_to_timestamp(index, fps)
    return json.dumps({"start_time": ts, "end_time": ts, "description": description}, ensure_ascii=False)


def format_vos_answer(keyframes: Sequence[int], descriptions: Sequence[str] | str, think: str = "") -> str:
    """A well-formed VOS completion: ``<think>…</think>`` then one JSON moment per line in ``<answer>``.

    Used for SFT targets and in tests; `omni_r1_lite.systems.parsing.parse_vos_answer` inverts it.

    >>> print(format_vos_answer([1, 6], "the red circle", think="it moves right"))
    <think>it moves right</think>
    <answer>{"start_time": "00:00.50", "end_time": "00:00.50", "description": "the red circle"}
    {"start_time": "00:03.00", "end_time": "00:03.00", "description": "the red circle"}</answer>
    """
    if isinstance(descriptions, str):
        descriptions = [descriptions] * len(keyframes)
    if len(descriptions) != len(keyframes):
        raise ValueError("one description per keyframe")
    body = "\n".join(format_moment(i, d) for i, d in zip(keyframes, descriptions))
    return f"<think>{think}</think>\n<answer>{body}</answer>"


def format_avs_answer(description: str, think: str = "") -> str:
    """A well-formed AVS completion: the single-image rewrite as free text in ``<answer>``.

    >>> format_avs_answer("the dog on the left", think="the barking comes from the dog")
    '<think>the barking comes from the dog</think>\\n<answer>the dog on the left</answer>'
    """
    return f"<think>{think}</think>\n<answer>{description}</answer>"


# ----------------------------------------------------------------------------- System 1 templates

_VOS_TASK = (
    "Given a {duration}-second video and the instruction [{expression}], which may describe how "
    "things behave over time, work out which object or objects the instruction refers to. "
)
_REWRITE_RULES = (
    "For each moment, rewrite the referred object(s) as a short description that can be matched in "
    "that single image alone: use what is visible, such as colour, shape, size, clothing, pose, "
    "position or grouping, and avoid words about time, motion or comparison such as walking, moving, "
    "approaching, first, last, bigger or smaller. "
)
_SPREAD_RULES = (
    "Spread the moments over the whole video: do not choose neighbouring or overlapping times, and "
    "do not take them all from the beginning. "
)

VOS_FORCING_TEMPLATE = (
    _VOS_TASK
    + "Choose about {k} moments in which the referred object(s) are clearly visible. "
    + _REWRITE_RULES
    + _SPREAD_RULES
    + "Reason inside <think> </think>, then answer inside <answer> </answer> with {k} JSON objects, "
    "one per line, each a single moment whose start_time equals its end_time, in this format:\n"
    "<think> your reasoning about the video and the instruction </think>\n"
    "<answer>{examples}</answer>"
)
"""The "prompt forcing" template (paper Fig. 3), with per-sample random example timestamps."""

VOS_NO_HINT_TEMPLATE = (
    _VOS_TASK
    + "Choose between 1 and {k} moments in which the referred object(s) are clearly visible. "
    + _REWRITE_RULES
    + _SPREAD_RULES
    + "Reason inside <think> </think>, then answer inside <answer> </answer> with one JSON object "
    'per moment, each with "start_time" and "end_time" written as mm:ss.ff and a "description".'
)
"""The template without an answer skeleton (used when prompt forcing is off)."""

AVS_TEMPLATE = (
    "Given {duration} seconds of audio, one image from the same video and the instruction "
    "[{expression}], which may depend on sounds or on what happens over time: first work out which "
    "objects in the image could be making sounds (voices, instruments, animals, machines); then "
    "decide from the audio which object the instruction refers to; finally rewrite it as a short "
    "description that identifies it in this single image without the audio, using only visible "
    "cues and no words about time or sound. Reason inside <think> </think> and put only the "
    "description inside <answer> </answer>, for example <answer>the man in the red shirt on the "
    "left</answer>."
)
"""The RefAVS template (paper Fig. 4): audio + one frame → a free-text single-image rewrite."""

VOS_COMPACT_TEMPLATE = (
    "A {duration}-second video at 2 frames per second and the instruction [{expression}]. Pick about "
    "{k} well-spread moments where the referred object(s) are clearly visible and describe them as "
    "seen in one image, without words about time or motion. Reason in <think> </think>, then answer "
    "in <answer> </answer> with one JSON moment per line, such as {example}"
)
"""A short VOS template for CPU presets (a tiny model pays for every prompt token); same content."""

COMPACT_REMINDER = "\nInstruction: [{expression}]"
"""Ends every compact VOS prompt (after the perception track): the instruction, once more."""

AVS_COMPACT_TEMPLATE = (
    "{duration} seconds of audio, one image and the instruction [{expression}]. Decide from the sound "
    "which object is meant and describe it as seen in this image, without words about time or sound. "
    "Reason in <think> </think>, then put the description in <answer> </answer>."
)
"""A short AVS template for CPU presets."""

PERCEPTION_HEADER = "\nPerception notes (what a pretrained model would see and hear):\n"
"""Heading of the optional perception-track section (CPU presets only; never in the real presets)."""


def _clean_expression(expression: str) -> str:
    return " ".join(str(expression).split())


def _with_perception(text: str, perception: str | None) -> str:
    if perception is None or not str(perception).strip():
        return text
    return text + PERCEPTION_HEADER + str(perception).strip()


def vos_prompt_text(
    expression: str,
    num_frames: int,
    seed: int = 0,
    template: str = "forcing",
    perception: str | None = None,
    k: int = DEFAULT_KEYFRAMES,
) -> str:
    """The VOS instruction text for ``num_frames`` sampled frames (a ``num_frames/2``-second video).

    ``seed`` draws the example timestamps of the forcing template; ``perception`` appends the
    perception-track section.

    >>> t = vos_prompt_text("the cat that jumps", num_frames=8, seed=0)
    >>> t.startswith("Given a 4.0-second video and the instruction [the cat that jumps]")
    True
    >>> t.count('"start_time"')
    4
    >>> "Perception notes" in vos_prompt_text("x", 8, perception="frame 0: red circle")
    True
    """
    if num_frames <= 0:
        raise ValueError(f"num_frames must be positive, got {num_frames}")
    fields = dict(
        duration=f"{timeline_seconds(num_frames):.1f}", expression=_clean_expression(expression), k=k
    )
    if template == "forcing":
        placeholder = "description of the referred object(s) at this moment"
        examples = "\n".join(format_moment(i, placeholder) for i in example_indices(num_frames, seed, k))
        text = VOS_FORCING_TEMPLATE.format(examples=examples, **fields)
    elif template == "no_hint":
        text = VOS_NO_HINT_TEMPLATE.format(**fields)
    elif template == "compact":
        example = format_moment(example_indices(num_frames, seed, 1)[0], "what the object looks like")
        text = VOS_COMPACT_TEMPLATE.format(example=example, **fields)
    else:
        raise ValueError(f"template must be one of {TEMPLATES}, got {template!r}")
    text = _with_perception(text, perception)
    if template == "compact":
        # the instruction again, last, next to the answer: a tiny model reading a long perception track
        # otherwise ignores it (measured on OmniSynth: SFT J&F 0.33 -> 0.54 with this line)
        text += COMPACT_REMINDER.format(expression=fields["expression"])
    return text


def avs_prompt_text(
    expression: str, audio_seconds: float = 10.0, perception: str | None = None, template: str = "forcing"
) -> str:
    """The AVS instruction text (audio + one frame). The official code hard-codes 10 s of audio.

    ``template="compact"`` gives the short CPU variant; any other template name gives the paper's.

    >>> avs_prompt_text("the instrument playing the melody", audio_seconds=2).startswith("Given 2.0 seconds of audio")
    True
    """
    if template not in TEMPLATES:
        raise ValueError(f"template must be one of {TEMPLATES}, got {template!r}")
    fmt = AVS_COMPACT_TEMPLATE if template == "compact" else AVS_TEMPLATE
    text = fmt.format(duration=f"{float(audio_seconds):.1f}", expression=_clean_expression(expression))
    return _with_perception(text, perception)


def build_system1_messages(
    task: str,
    expression: str,
    num_frames: int | None = None,
    seed: int = 0,
    perception: str | None = None,
    template: str = "forcing",
    audio_seconds: float | None = None,
    with_audio: bool = False,
) -> list[dict[str, Any]]:
    """Chat messages for System 1: one user turn, no system prompt.

    - ``task="VOS"``: content ``[video, text]``; pass the ``num_frames`` sampled low-res frames as
      the one video (``uint8[N, H, W, 3]``) to the processor; no audio, as in Omni-R1.
      ``with_audio=True`` gives ``[video, audio, text]`` (the clip's soundtrack as a separate audio
      part, not interleaved): OmniSynth's audio-visual expressions need it.
    - ``task="AVS"``: content ``[audio, image, text]``; pass the 16 kHz waveform (``float32[S]``)
      and one frame (the clip's first, as in the paper's training) to the processor.
      ``audio_seconds`` defaults to 10, the value the official code hard-codes.

    ``template``: ``"forcing"`` (the paper's default), ``"no_hint"`` (VOS without the answer
    skeleton; AVS has one template) or ``"compact"`` (short variants for CPU presets).
    ``perception`` appends the perception-track section (CPU presets only).
    """
    if task == "VOS":
        if num_frames is None:
            raise ValueError("VOS prompts need num_frames (the number of sampled frames)")
        text = vos_prompt_text(expression, num_frames, seed=seed, template=template, perception=perception)
        content: list[dict[str, Any]] = [{"type": "video"}, {"type": "text", "text": text}]
        if with_audio:
            content.insert(1, {"type": "audio"})
    elif task == "AVS":
        seconds = 10.0 if audio_seconds is None else audio_seconds
        text = avs_prompt_text(expression, seconds, perception, template=template)
        content = [{"type": "audio"}, {"type": "image"}, {"type": "text", "text": text}]
    else:
        raise ValueError(f"task must be 'VOS' or 'AVS', got {task!r}")
    return [{"role": "user", "content": content}]


# ----------------------------------------------------------------------------- System 2 grounding

GROUNDING_TEMPLATES = {
    "qwen": "Locate every object that matches '{description}' in the image and output their bounding "
    "boxes (bbox_2d) in JSON format.",
    "refavs": "Find the bounding box of '{description}' and output it in JSON format.",
}
"""System-2 grounding prompts: Qwen2.5-VL-style JSON boxes (default) and the RefAVS variant."""


def clean_description(description: str) -> str:
    """Normalise a System-1 description for the grounding prompt (trimmed, lower case, no final period).

    >>> clean_description("  The Red Circle. ")
    'the red circle'
    """
    return " ".join(str(description).split()).strip(" .").lower()


def grounding_prompt_text(description: str, style: str = "qwen") -> str:
    """The grounding instruction for one high-resolution keyframe.

    >>> grounding_prompt_text("The red circle.")
    "Locate every object that matches 'the red circle' in the image and output their bounding boxes (bbox_2d) in JSON format."
    """
    if style not in GROUNDING_TEMPLATES:
        raise ValueError(f"style must be one of {GROUNDING_STYLES}, got {style!r}")
    return GROUNDING_TEMPLATES[style].format(description=clean_description(description))


def build_grounding_messages(description: str, style: str = "qwen") -> list[dict[str, Any]]:
    """Chat messages for System 2: ``[image, text]``; pass the keyframe to the processor as the image.

    >>> [p["type"] for p in build_grounding_messages("a dog")[0]["content"]]
    ['image', 'text']
    """
    return [
        {
            "role": "user",
            "content": [
                {"type": "image"},
                {"type": "text", "text": grounding_prompt_text(description, style)},
            ],
        }
    ]


# ----------------------------------------------------------------------------- tokenizer corpus

_CORPUS_WORDS = (
    "the", "a", "small", "large", "red", "green", "blue", "yellow", "circle", "square", "triangle",
    "object", "on", "left", "right", "top", "bottom", "near", "person", "dog", "car",
)  # fmt: skip


def tokenizer_corpus(seed: int = 0, repeats: int = 8) -> list[str]:
    """Rendered prompts and canonical answers, mixed into the tiny tokenizer's training corpus.

    Deterministic in ``seed``. Weighted towards what the policy *generates*: every timestamp of the
    timeline and the answer skeletons (JSON moments, ``bbox_2d`` lists, the reasoning tags) appear
    ``repeats`` times, so BPE spends its merges on them; the long prompt templates appear twice.

    >>> c = tokenizer_corpus(seed=0, repeats=2)
    >>> c == tokenizer_corpus(seed=0, repeats=2), any('"start_time"' in s for s in c)
    (True, True)
    """
    rng = random.Random(seed)
    out: list[str] = []
    for r in range(2):
        desc = " ".join(rng.choice(_CORPUS_WORDS) for _ in range(3))
        n = rng.randint(4, MAX_FRAMES)
        for template in TEMPLATES:
            out.append(vos_prompt_text(desc, n, seed=seed * 1000 + r, template=template))
        for template in ("forcing", "compact"):
            out.append(avs_prompt_text(desc, audio_seconds=rng.choice([2, 4, 10]), template=template))
        for style in GROUNDING_STYLES:
            out.append(grounding_prompt_text(desc, style))
        out.append(PERCEPTION_HEADER.strip())
    for _ in range(repeats):
        out.extend(index_to_timestamp(i) for i in range(MAX_FRAMES))
        desc = " ".join(rng.choice(_CORPUS_WORDS) for _ in range(3))
        n = rng.randint(4, MAX_FRAMES)
        keys = sorted(rng.sample(range(n), min(DEFAULT_KEYFRAMES, n)))
        out.append(format_vos_answer(keys, desc, think=f"the {desc} is visible in these frames"))
        out.append(format_avs_answer(desc, think=f"the sound comes from the {desc}"))
        x = sorted(rng.sample(range(0, 224), 2))
        y = sorted(rng.sample(range(0, 224), 2))
        out.append(json.dumps([{"bbox_2d": [x[0], y[0], x[1], y[1]], "label": desc}]))
    return out
