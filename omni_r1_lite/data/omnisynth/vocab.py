"""Every word OmniSynth can write, and a text corpus to train a tiny tokenizer on.

>>> words = vocabulary()
>>> {"beep", "circle", "top-left", "a9", "f0:", "|", ";"} <= set(words)
True
>>> any("the red circle" == s for s in text_corpus(clips=0))
True
"""

from __future__ import annotations

import itertools
import string

from omni_r1_lite.data.omnisynth.config import (
    COLOURS,
    PITCHES,
    SHAPES,
    SIZES,
    SPLITS,
    TIMBRES,
    OmniSynthConfig,
)
from omni_r1_lite.data.omnisynth.expressions import DIRECTIONS, TEMPLATES
from omni_r1_lite.data.perception import perception_text, perception_words

_VALUES = {
    "colour": tuple(COLOURS), "shape": SHAPES, "size": SIZES, "pitch": PITCHES, "timbre": TIMBRES,
    "direction": DIRECTIONS, "o_colour": tuple(COLOURS), "o_shape": SHAPES,
}
MAX_FRAMES = 64


def _fields(phrasing: str) -> list[str]:
    fields = {f for _, f, _, _ in string.Formatter().parse(phrasing) if f}
    return sorted({"shape" if f == "shapes" else f for f in fields})


def expression_strings() -> list[str]:
    """Every expression and literal description OmniSynth can emit (sorted, unique)."""
    out = set()
    for _kind, (_type, phrasings) in TEMPLATES.items():
        for p in phrasings:
            fields = _fields(p)
            for combo in itertools.product(*(_VALUES[f] for f in fields)):
                words = dict(zip(fields, combo))
                if "shape" in words:
                    words["shapes"] = words["shape"] + "s"
                out.add(p.format(**words))
    for c, s in itertools.product(COLOURS, SHAPES):
        out.add(f"the {c} {s}")
    for z, s in itertools.product(SIZES, SHAPES):
        out.add(f"the {z} {s}")
    return sorted(out)


def vocabulary() -> list[str]:
    """Sorted whitespace-separated words of every expression, literal description (multi-target
    literals join with ``and``) and perception line (frame tags ``f0:`` … ``f63:``). Perception
    timing (``timing=True``) adds ``@<seconds>`` strings, covered by the characters ``@.0-9``."""
    words = set()
    for s in expression_strings():
        words.update(s.split())
    words.update(["and", *COLOURS, *SHAPES, *SIZES, *PITCHES, *TIMBRES, *perception_words()])
    words.update(f"f{t}:" for t in range(MAX_FRAMES))
    words.update(["@", ".", *string.digits])
    return sorted(words)


def text_corpus(config: OmniSynthConfig | None = None, clips: int = 20) -> list[str]:
    """Strings to train a tokenizer: all `expression_strings` plus the perception text,
    expressions and literal descriptions of ``clips`` clips per split generated in memory."""
    from omni_r1_lite.data.omnisynth.clip import make_clip

    config = config or OmniSynthConfig()
    out = expression_strings()
    for split in SPLITS:
        for i in range(clips):
            ann = make_clip(config, split, i).annotation
            for layout in ("frames", "objects"):
                out.extend(perception_text(ann, layout=layout).split("\n"))
            for e in ann["expressions"]:
                out.extend([e["exp"], e["literal"]])
    return out
