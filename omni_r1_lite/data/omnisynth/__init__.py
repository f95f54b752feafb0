"""OmniSynth: the kit's embedded, procedurally generated audio-visual referring-segmentation benchmark.

Deterministic from a seed, written in the RefAVS layout (and the ReVOS layout) so the real
loaders read it. The rules (see the submodules for details):

* **scene** (`scene`): 3–6 moving shapes (6 colours x 4 shapes x 3 sizes), unique
  (colour, shape) per clip with distractors sharing colour or shape, fixed depth order
  (occlusion), entries and exits, growing/shrinking;
* **sound** (`audio`, `config`): timbre follows the shape (circle beep, square buzz, triangle
  chirp, star click), pitch follows the size (small high, medium mid, large low); only some
  objects sound, and only in frames where they are on screen;
* **expressions** (`expressions`): referring (literal), reasoning (temporal / comparative),
  audio-visual, null; each with targets and a literal single-image description;
* **splits**: train, val, seen, unseen (colour+shape pairs of `UNSEEN_COMBOS`, never in
  train), null → RefAVS train, val, test_s, test_u, test_n;
* **perception track**: `omni_r1_lite.data.perception`.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as root:
...     summary = generate(root, OmniSynthConfig.smoke(clips={"seen": 2}))
...     samples = load_omnisynth(root, "seen")
...     masks = samples[0].load_masks()
>>> len(samples) == summary["rows"]["seen"], samples[0].dataset, samples[0].task, masks.shape
(True, 'omnisynth', 'AVS', (10, 168, 224))
"""

from omni_r1_lite.data.omnisynth.clip import Clip, make_clip
from omni_r1_lite.data.omnisynth.config import (
    COLOURS,
    PITCH_OF_SIZE,
    REFAVS_SPLIT,
    SHAPES,
    SIZES,
    SPLITS,
    TIMBRE_OF_SHAPE,
    UNSEEN_COMBOS,
    OmniSynthConfig,
)
from omni_r1_lite.data.omnisynth.expressions import TEMPLATES
from omni_r1_lite.data.omnisynth.loader import ClipAnnotation, find_omnisynth_root, load_omnisynth
from omni_r1_lite.data.omnisynth.vocab import text_corpus, vocabulary
from omni_r1_lite.data.omnisynth.writer import generate, main

__all__ = [
    "COLOURS",
    "PITCH_OF_SIZE",
    "REFAVS_SPLIT",
    "SHAPES",
    "SIZES",
    "SPLITS",
    "TEMPLATES",
    "TIMBRE_OF_SHAPE",
    "UNSEEN_COMBOS",
    "Clip",
    "ClipAnnotation",
    "OmniSynthConfig",
    "find_omnisynth_root",
    "generate",
    "load_omnisynth",
    "main",
    "make_clip",
    "text_corpus",
    "vocabulary",
]
