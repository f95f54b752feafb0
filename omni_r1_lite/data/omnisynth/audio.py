"""OmniSynth soundtracks: one timbre per shape, one pitch per size, events at known times.

* ``beep``  (circle):   a sine at the pitch;
* ``buzz``  (square):   a band-limited square wave at the pitch (odd harmonics below 7 kHz);
* ``chirp`` (triangle): a sine sweeping up one octave from the pitch;
* ``click`` (star):     a train of short decaying clicks (12 per second) with a carrier of
  four times the pitch.

Pitches are octaves apart: low 220 Hz, mid 440 Hz, high 880 Hz. Every event has 10 ms fades,
amplitude 0.3; a faint white-noise floor (amplitude 0.004) is added; the mix is returned as
``int16`` (the writer stores it with `omni_r1_lite.data.media.write_wav`, mono 16-bit PCM).

>>> import numpy as np
>>> x = tone("beep", 440.0, 0.5, 16000)
>>> x.shape, x.dtype, round(float(np.abs(x).max()), 2)
((8000,), dtype('float32'), 0.3)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from omni_r1_lite.data.omnisynth.config import PITCH_HZ

_AMP = 0.3
_FADE_S = 0.01
_NOISE = 0.004
_CLICK_RATE = 12.0


def tone(timbre: str, freq: float, duration: float, sr: int) -> np.ndarray:
    """One sound event, ``float32[round(duration*sr)]`` in [-_AMP, _AMP], with fades."""
    n = int(round(duration * sr))
    t = np.arange(n, dtype=np.float64) / sr
    if timbre == "beep":
        x = np.sin(2 * np.pi * freq * t)
    elif timbre == "buzz":
        x = np.zeros(n)
        for k in range(1, int(7000 // freq) + 1, 2):
            x += np.sin(2 * np.pi * k * freq * t) / k
        x *= 4 / np.pi / 1.18  # the band-limited square overshoots ~18 % (Gibbs)
    elif timbre == "chirp":
        x = np.sin(2 * np.pi * (freq * t + freq * t * t / (2 * max(duration, 1e-6))))
    elif timbre == "click":
        phase = np.mod(t, 1.0 / _CLICK_RATE)
        x = np.sin(2 * np.pi * 4 * freq * phase) * np.exp(-phase / 0.006)
    else:
        raise ValueError(f"unknown timbre {timbre!r}")
    peak = float(np.abs(x).max()) if n else 1.0
    x = x / max(peak, 1e-9) * _AMP
    f = min(int(_FADE_S * sr), n // 2)
    if f:
        ramp = np.linspace(0.0, 1.0, f, endpoint=False)
        x[:f] *= ramp
        x[n - f:] *= ramp[::-1]
    return x.astype(np.float32)


def soundtrack(events: Sequence, duration: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Mix ``events`` (objects with ``start``, ``end``, ``pitch``, ``timbre``) into ``int16[N]``."""
    n = int(round(duration * sr))
    mix = rng.uniform(-_NOISE, _NOISE, size=n)
    for e in events:
        a = int(round(e.start * sr))
        x = tone(e.timbre, PITCH_HZ[e.pitch], e.end - e.start, sr)
        b = min(a + x.size, n)
        mix[a:b] += x[: b - a]
    return (np.clip(mix, -1.0, 1.0) * 32767.0).round().astype(np.int16)
