"""Media I/O: frames, audio and preview clips, decoded with PyAV and Pillow into numpy arrays.

Everything here returns plain arrays so that no caller depends on torchcodec or torchvision.io:

- `read_frames` decodes a clip at **low resolution** for System 1: a folder of integer-named JPEGs,
  a list of image paths, a `Sample`, or a video file (mp4, ...), each frame resized to a per-frame
  pixel budget the way Qwen2.5-VL / Qwen2.5-Omni do it (`smart_resize`).
- `read_keyframes` decodes **only the requested frames**, by default at native resolution, for
  System 2 (for a video file it seeks to the keyframe before each request instead of decoding
  the whole stream; for a folder it opens only those JPEGs).
- `sample_indices` picks frames evenly, like qwen-vl-utils and Omni-R1.
- `read_audio` decodes mono 16 kHz float32 from a wav or from the audio track of a video.
- `write_wav`, `write_frames` and `write_preview_mp4` write what the readers read.

Errors are `DataError` subclasses whose message names the file:
`MissingMediaError` (no such file or folder), `CorruptMediaError` (exists but does not decode,
or a video ends early) and `NoAudioError` (a video file without an audio track).

>>> smart_resize(480, 640, max_pixels=128 * 28 * 28)
(252, 364)
>>> sample_indices(10, 4)
[0, 3, 6, 9]
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from omni_r1_lite.data.schema import DataError, sort_frame_names

__all__ = [
    "IMAGE_FACTOR",
    "VIDEO_EXTENSIONS",
    "CorruptMediaError",
    "MediaInfo",
    "MissingMediaError",
    "NoAudioError",
    "image_size",
    "media_info",
    "read_audio",
    "read_frames",
    "read_image",
    "read_keyframes",
    "sample_indices",
    "smart_resize",
    "write_frames",
    "write_preview_mp4",
    "write_wav",
]

IMAGE_FACTOR = 28
"""Qwen2.5-VL / Qwen2.5-Omni patch merge size: 14-pixel patches merged 2x2."""

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v")
_MAX_ASPECT_RATIO = 200


class MissingMediaError(DataError):
    """A media file or folder that should exist does not."""


class CorruptMediaError(DataError):
    """A media file exists but cannot be decoded (corrupt, truncated, wrong format)."""


class NoAudioError(DataError):
    """A video file has no audio track.

    Callers that accept silent clips catch it, or pass ``missing="silence"`` to `read_audio`,
    which then returns zeros for the clip's duration.
    """


# --------------------------------------------------------------------------- sizes and indices


def _round_by(x: float, factor: int) -> int:
    return round(x / factor) * factor


def _ceil_by(x: float, factor: int) -> int:
    return math.ceil(x / factor) * factor


def _floor_by(x: float, factor: int) -> int:
    return math.floor(x / factor) * factor


def smart_resize(
    height: int,
    width: int,
    factor: int = IMAGE_FACTOR,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
) -> tuple[int, int]:
    """Target ``(height, width)`` for a frame under a pixel budget, as Qwen2.5-VL computes it.

    Both sides become multiples of `factor` (rounded to the nearest multiple), the aspect ratio
    is kept as closely as that allows, and the area ends up within ``[min_pixels, max_pixels]``:
    when it is too large both sides are scaled down (then floored to the factor), when too
    small scaled up (then ceiled). ``min_pixels`` defaults to ``4 * factor**2`` (or
    ``max_pixels`` if smaller) and ``max_pixels`` to ``16384 * factor**2`` (the Qwen image
    defaults). Like Qwen's own function, the up-scaling branch can overshoot ``max_pixels``
    when the two bounds are close. Omni-R1 feeds System 1
    video frames at about ``128 * 28 * 28`` pixels each.

    >>> smart_resize(480, 640, max_pixels=128 * 28 * 28)   # VGA at the paper's System-1 budget
    (252, 364)
    >>> smart_resize(1080, 1920, max_pixels=128 * 28 * 28)
    (224, 420)
    >>> smart_resize(100, 100)                              # already small: rounded to 28s only
    (112, 112)
    >>> smart_resize(10, 12, min_pixels=56 * 56)            # too small: scaled up
    (56, 84)
    >>> h, w = smart_resize(333, 517, max_pixels=64 * 28 * 28)
    >>> h % 28 == 0 and w % 28 == 0 and h * w <= 64 * 28 * 28
    True
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"height and width must be positive, got {height}x{width}")
    if max(height, width) / min(height, width) > _MAX_ASPECT_RATIO:
        raise ValueError(f"aspect ratio must be below {_MAX_ASPECT_RATIO}, got {height}x{width}")
    max_pixels = 16384 * factor * factor if max_pixels is None else int(max_pixels)
    min_pixels = min(4 * factor * factor, max_pixels) if min_pixels is None else int(min_pixels)
    if min_pixels > max_pixels:
        raise ValueError(f"min_pixels ({min_pixels}) exceeds max_pixels ({max_pixels})")
    h = max(factor, _round_by(height, factor))
    w = max(factor, _round_by(width, factor))
    if h * w > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h = max(factor, _floor_by(height / beta, factor))
        w = max(factor, _floor_by(width / beta, factor))
    elif h * w < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h = _ceil_by(height * beta, factor)
        w = _ceil_by(width * beta, factor)
    return h, w


def sample_indices(num_frames: int, n: int) -> list[int]:
    """``n`` frame indices spread evenly over ``[0, num_frames - 1]``, first and last included.

    ``np.linspace(0, num_frames - 1, n)`` rounded to the nearest integer, as qwen-vl-utils
    samples video frames (Omni-R1 truncates instead of rounding; the two differ by at most one
    frame). When ``n >= num_frames`` every frame is returned once (no duplicates).

    >>> sample_indices(100, 5)
    [0, 25, 50, 74, 99]
    >>> sample_indices(10, 1)
    [0]
    >>> sample_indices(3, 24)
    [0, 1, 2]
    >>> sample_indices(0, 4)
    []
    """
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if num_frames <= 0:
        return []
    if n >= num_frames:
        return list(range(num_frames))
    if n == 1:
        return [0]
    return [int(i) for i in np.round(np.linspace(0, num_frames - 1, n)).astype(int)]


# --------------------------------------------------------------------------- sources


@dataclasses.dataclass(frozen=True)
class MediaInfo:
    """What a clip is made of, read from headers only (nothing is decoded).

    Attributes:
        num_frames: frames in the folder, or frames declared by the video stream (estimated
            from duration x rate when the container does not declare a count).
        height, width: frame size in pixels (of the first frame for a folder).
        fps: the video stream's average rate; ``None`` for a frame folder.
        duration: seconds; ``None`` for a frame folder.
        has_audio: whether a video file has an audio track (``False`` for a folder).
    """

    num_frames: int
    height: int
    width: int
    fps: float | None = None
    duration: float | None = None
    has_audio: bool = False


def _is_video_file(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTENSIONS


def _frame_paths(source: Any) -> list[Path] | Path:
    """A list of image paths, or the path of a video file."""
    if hasattr(source, "frame_paths"):  # a Sample
        return list(source.frame_paths)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            try:
                names = sort_frame_names(os.listdir(path))
            except OSError as e:
                raise MissingMediaError(f"cannot list frame folder ({e})", path) from e
            if not names:
                raise MissingMediaError("no integer-named JPEG frames in folder", path)
            return [path / n for n in names]
        if _is_video_file(path):
            if not path.exists():
                raise MissingMediaError("video file not found", path)
            return path
        if not path.exists():
            raise MissingMediaError("no such frame folder or video file", path)
        raise DataError(
            "not a frame folder or a video file (extensions: " + ", ".join(VIDEO_EXTENSIONS) + ")", path
        )
    if isinstance(source, Sequence):
        return [Path(p) for p in source]
    raise TypeError(f"cannot read frames from {type(source).__name__}")


def _check_indices(indices: Sequence[int] | None, n: int, where: Path | str) -> list[int]:
    if indices is None:
        return list(range(n))
    out = [int(i) for i in indices]
    bad = [i for i in out if not 0 <= i < n]
    if bad:
        raise IndexError(f"frame indices {bad[:5]} out of range for {n} frames: {where}")
    return out


def _target_size(
    height: int,
    width: int,
    size: tuple[int, int] | None,
    min_pixels: int | None,
    max_pixels: int | None,
    factor: int,
) -> tuple[int, int] | None:
    if size is not None:
        return int(size[0]), int(size[1])
    if max_pixels is None and min_pixels is None:
        return None
    return smart_resize(height, width, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)


# --------------------------------------------------------------------------- images


def image_size(path: str | Path) -> tuple[int, int]:
    """``(height, width)`` of an image from its header (nothing is decoded)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            return im.size[1], im.size[0]
    except FileNotFoundError as e:
        raise MissingMediaError("frame not found", path) from e
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise CorruptMediaError(f"cannot read image header ({e})", path) from e


def read_image(path: str | Path, size: tuple[int, int] | None = None, draft: bool = True) -> np.ndarray:
    """One image as ``uint8[H, W, 3]`` RGB, optionally resized (bicubic) to ``size=(H, W)``.

    With ``draft=True`` a JPEG that is being shrunk is decoded at a reduced DCT scale first
    (libjpeg's 1/2, 1/4, 1/8 modes, never below the target), which is several times faster
    for System-1 resolutions; the whole entropy-coded stream is still read, so a truncated or
    corrupt file still fails. Raises `MissingMediaError` / `CorruptMediaError` naming the file.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            if size is not None and draft and im.format == "JPEG":
                im.draft("RGB", (int(size[1]), int(size[0])))
            rgb = im.convert("RGB")  # forces the full decode
    except FileNotFoundError as e:
        raise MissingMediaError("frame not found", path) from e
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise CorruptMediaError(f"cannot decode image ({e})", path) from e
    if size is not None and rgb.size != (int(size[1]), int(size[0])):
        rgb = rgb.resize((int(size[1]), int(size[0])), Image.Resampling.BICUBIC)
    return np.asarray(rgb, dtype=np.uint8)


def _read_image_list(
    paths: list[Path],
    indices: list[int],
    size: tuple[int, int] | None,
    min_pixels: int | None,
    max_pixels: int | None,
    factor: int,
) -> np.ndarray:
    if not indices:
        return np.zeros((0, 0, 0, 3), dtype=np.uint8)
    first = paths[indices[0]]
    target = _target_size(*image_size(first), size, min_pixels, max_pixels, factor)
    frames = [read_image(paths[i], size=target) for i in indices]
    for i, f in zip(indices, frames, strict=True):
        if f.shape != frames[0].shape:
            raise CorruptMediaError(
                f"frame size {f.shape[:2]} differs from {frames[0].shape[:2]} of {first.name} "
                "(pass size= or max_pixels= to resize)",
                paths[i],
            )
    return np.stack(frames)


# --------------------------------------------------------------------------- video files


def _open_video(path: Path):
    import av

    try:
        container = av.open(str(path))
    except FileNotFoundError as e:
        raise MissingMediaError("video file not found", path) from e
    except (av.error.FFmpegError, OSError) as e:
        raise CorruptMediaError(f"cannot open video (corrupt or truncated?) ({e})", path) from e
    if not container.streams.video:
        container.close()
        raise CorruptMediaError("file has no video stream", path)
    return container


def _stream_fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise CorruptMediaError("video stream declares no frame rate", getattr(stream.container, "name", "?"))
    return float(rate)


def _frame_index(frame, stream, fps: float) -> int:
    if frame.pts is None:
        return -1
    start = stream.start_time or 0
    return int(round((frame.pts - start) * float(stream.time_base) * fps))


def _declared_frames(container, stream, fps: float) -> int:
    if stream.frames:
        return int(stream.frames)
    if stream.duration is not None and stream.time_base is not None:
        return int(round(stream.duration * float(stream.time_base) * fps))
    if container.duration is not None:
        return int(round(container.duration / 1_000_000 * fps))
    return 0


def _to_rgb(frame, target: tuple[int, int] | None) -> np.ndarray:
    if target is None:
        return frame.to_ndarray(format="rgb24")
    return frame.to_ndarray(format="rgb24", width=target[1], height=target[0], interpolation="BICUBIC")


def _decode_counting(container, stream, need: set[int], target, got: dict[int, np.ndarray]) -> None:
    """Decode from the current position, counting frames, keeping those in ``need``."""
    last = max(need, default=-1)
    for i, frame in enumerate(container.decode(stream)):
        if i in need:
            got[i] = _to_rgb(frame, target)
        if i >= last:
            break


def _read_video(
    path: Path,
    indices: Sequence[int] | None,
    size: tuple[int, int] | None,
    min_pixels: int | None,
    max_pixels: int | None,
    factor: int,
    seek: bool,
) -> np.ndarray:
    import av

    container = _open_video(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = _stream_fps(stream)
        declared = _declared_frames(container, stream, fps)
        target = _target_size(stream.height, stream.width, size, min_pixels, max_pixels, factor)
        if indices is None:
            wanted: list[int] | None = None
        else:
            wanted = [int(i) for i in indices]
            if any(i < 0 for i in wanted):
                raise IndexError(f"negative frame index in {wanted[:5]}: {path}")
        got: dict[int, np.ndarray] = {}
        all_frames: list[np.ndarray] = []
        try:
            if wanted is None:
                for frame in container.decode(stream):
                    all_frames.append(_to_rgb(frame, target))
            elif seek:
                fallback = set()
                for target_idx in sorted(set(wanted)):
                    ts = int(target_idx / fps / float(stream.time_base)) + (stream.start_time or 0)
                    container.seek(ts, stream=stream, backward=True, any_frame=False)
                    for k, frame in enumerate(container.decode(stream)):
                        idx = _frame_index(frame, stream, fps)
                        if idx < 0 or (k == 0 and idx > target_idx):
                            fallback.add(target_idx)  # no timestamps, or the seek overshot
                            break
                        if idx >= target_idx:
                            got[target_idx] = _to_rgb(frame, target)
                            break
                if fallback:  # count frames from the start instead
                    container.seek(stream.start_time or 0, stream=stream, backward=True, any_frame=False)
                    _decode_counting(container, stream, fallback, target, got)
            else:
                _decode_counting(container, stream, set(wanted), target, got)
        except av.error.FFmpegError as e:
            raise CorruptMediaError(f"cannot decode video ({e})", path) from e
    finally:
        container.close()
    if wanted is None:
        if not all_frames:
            raise CorruptMediaError("video has no decodable frames", path)
        if declared and len(all_frames) < declared - 1:
            raise CorruptMediaError(
                f"video ended after {len(all_frames)} of {declared} declared frames (truncated?)", path
            )
        return np.stack(all_frames)
    missing = [i for i in wanted if i not in got]
    if missing:
        raise CorruptMediaError(
            f"frames {missing[:5]} not found; the video declares {declared} frames (truncated?)",
            path,
        )
    if not wanted:
        return np.zeros((0, 0, 0, 3), dtype=np.uint8)
    return np.stack([got[i] for i in wanted])


# --------------------------------------------------------------------------- public readers


def read_frames(
    source: Any,
    indices: Sequence[int] | None = None,
    *,
    max_pixels: int | None = None,
    min_pixels: int | None = None,
    factor: int = IMAGE_FACTOR,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Decode frames of a clip into ``uint8[T, H, W, 3]`` (RGB).

    Args:
        source: a folder of integer-named JPEGs, a sequence of image paths, a `Sample`
            (its ``frame_paths``) or a video file (``.mp4``, ``.mkv``, ...).
        indices: which frames, in the order wanted (``None``: all). For a folder only those
            files are opened; for a video file the stream is decoded up to the last one.
        max_pixels, min_pixels, factor: per-frame pixel budget applied with `smart_resize`
            to the first frame's size, then used for every frame (so all frames share one
            size). With neither given, frames keep their native size.
        size: explicit ``(H, W)``; overrides the budget.

    Raises `MissingMediaError` / `CorruptMediaError` naming the file, `IndexError` for an index
    outside the clip.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = write_frames(d, np.zeros((3, 120, 160, 3), np.uint8))
    >>> read_frames(d, max_pixels=16 * 28 * 28).shape
    (3, 84, 112, 3)
    """
    src = _frame_paths(source)
    if isinstance(src, Path):
        return _read_video(src, indices, size, min_pixels, max_pixels, factor, seek=False)
    idx = _check_indices(indices, len(src), src[0].parent if src else "empty frame list")
    return _read_image_list(src, idx, size, min_pixels, max_pixels, factor)


def read_keyframes(
    source: Any,
    indices: Sequence[int],
    *,
    max_pixels: int | None = None,
    min_pixels: int | None = None,
    factor: int = IMAGE_FACTOR,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Decode only the requested frames, by default at native resolution: ``uint8[K, H, W, 3]``.

    The System-2 reader. Frames come back in the order of `indices` (repeats allowed). For a
    video file each requested frame is reached by seeking to the preceding keyframe and
    decoding forward from there, so a few keyframes of a long video cost a few GOPs, not the
    whole stream; for a folder only those JPEGs are opened. Frame index ``i`` of a video is
    the frame at time ``i / fps`` (constant frame rate assumed).
    """
    src = _frame_paths(source)
    if isinstance(src, Path):
        return _read_video(src, list(indices), size, min_pixels, max_pixels, factor, seek=True)
    idx = _check_indices(list(indices), len(src), src[0].parent if src else "empty frame list")
    return _read_image_list(src, idx, size, min_pixels, max_pixels, factor)


def media_info(source: Any) -> MediaInfo:
    """Frame count, size, rate and audio presence from headers only (see `MediaInfo`)."""
    src = _frame_paths(source)
    if not isinstance(src, Path):
        if not src:
            raise MissingMediaError("empty frame list", None)
        h, w = image_size(src[0])
        return MediaInfo(num_frames=len(src), height=h, width=w)
    container = _open_video(src)
    try:
        stream = container.streams.video[0]
        fps = _stream_fps(stream)
        duration = container.duration / 1_000_000 if container.duration is not None else None
        return MediaInfo(
            num_frames=_declared_frames(container, stream, fps),
            height=stream.height,
            width=stream.width,
            fps=fps,
            duration=duration,
            has_audio=bool(container.streams.audio),
        )
    finally:
        container.close()


def read_audio(
    path: str | Path | None,
    sr: int = 16000,
    *,
    missing: str = "error",
    duration: float | None = None,
) -> np.ndarray:
    """Decode audio as mono ``float32[N]`` in ``[-1, 1]`` at ``sr`` Hz (PyAV resampling).

    Works for audio files (wav, flac, ...) and for the audio track of a video file. Several
    channels are averaged (``(L + R) / 2``; FFmpeg's own mono downmix would scale by 1/sqrt(2)).

    Args:
        path: the file, or ``None`` for "this clip has no audio".
        sr: target sample rate.
        missing: ``"error"`` (default): a missing file raises `MissingMediaError` and a video
            without an audio track raises `NoAudioError`. ``"silence"``: both return zeros
            of ``duration`` seconds (for a video without audio, ``duration`` defaults to the
            container's). This is the documented fallback for silent clips; a file that exists
            but does not decode always raises `CorruptMediaError`.
        duration: seconds of silence for the fallback.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "tone.wav"
    >>> _ = write_wav(p, 0.5 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000), sr=8000)
    >>> x = read_audio(p, sr=16000)
    >>> x.dtype, x.shape, round(float(np.abs(x).max()), 2)
    (dtype('float32'), (16000,), 0.5)
    >>> read_audio(None, missing="silence", duration=0.5).shape
    (8000,)
    """
    import av

    if missing not in ("error", "silence"):
        raise ValueError(f"missing must be 'error' or 'silence', got {missing!r}")

    def silence(seconds: float | None, why: str) -> np.ndarray:
        if seconds is None:
            raise DataError(f"{why}; pass duration= for the silence fallback", path)
        return np.zeros(int(round(float(seconds) * sr)), dtype=np.float32)

    if path is None:
        if missing == "silence":
            return silence(duration, "no audio path")
        raise MissingMediaError("no audio file given", None)
    path = Path(path)
    if not path.exists():
        if missing == "silence":
            return silence(duration, "audio file not found")
        raise MissingMediaError("audio file not found", path)
    check_wav_length(path)
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise CorruptMediaError(f"cannot open audio (corrupt or truncated?) ({e})", path) from e
    try:
        if not container.streams.audio:
            if missing == "silence":
                seconds = duration
                if seconds is None and container.duration is not None:
                    seconds = container.duration / 1_000_000
                return silence(seconds, "no audio track and no container duration")
            raise NoAudioError("file has no audio track", path)
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", rate=sr)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as e:
            raise CorruptMediaError(f"cannot decode audio ({e})", path) from e
    finally:
        container.close()
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    audio = np.concatenate(chunks, axis=1)  # [C, N]
    return audio.mean(axis=0).astype(np.float32)


def check_wav_length(path: str | Path) -> None:
    """Raise `CorruptMediaError` when a RIFF/WAVE file holds fewer audio bytes than its header
    declares (a cut download or copy). FFmpeg decodes such a file without a word, with the
    duration of what is left, so the header's data size is compared with the bytes on disk.
    Files that are not RIFF/WAVE, and WAVs written with an unknown size (0 or 0xFFFFFFFF, as
    streaming writers do), are not checked.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "cut.wav"
    >>> _ = write_wav(p, np.zeros(16000), sr=16000)
    >>> check_wav_length(p)
    >>> _ = p.write_bytes(p.read_bytes()[:20000])
    >>> check_wav_length(p)
    Traceback (most recent call last):
    ...
    omni_r1_lite.data.media.CorruptMediaError: WAV file truncated: the header declares 1.000 s of audio, the file holds 0.624 s ...
    """
    import struct

    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        byte_rate = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return  # no data chunk: FFmpeg's error says what is wrong
            cid, csize = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(csize + (csize & 1))
                if len(fmt) >= 12:
                    byte_rate = struct.unpack("<I", fmt[8:12])[0]
                continue
            if cid == b"data":
                if csize in (0, 0xFFFFFFFF):
                    return
                held = size - f.tell()
                if held < csize:
                    rate = byte_rate or 0
                    secs = (f" the header declares {csize / rate:.3f} s of audio, the file holds {held / rate:.3f} s"
                            if rate else f" the header declares {csize} bytes of audio, the file holds {held}")
                    raise CorruptMediaError(f"WAV file truncated:{secs} (an interrupted download or copy?)", path)
                return
            f.seek(csize + (csize & 1), 1)


# --------------------------------------------------------------------------- writers


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def write_wav(path: str | Path, audio: np.ndarray, sr: int = 16000) -> Path:
    """Write 16-bit PCM wav with the stdlib `wave` module; the bytes depend only on the input.

    Args:
        audio: ``float[N]`` or ``float[N, C]`` in ``[-1, 1]``: scaled by 32768, rounded and
            clipped to ``[-32768, 32767]`` (the inverse of FFmpeg's ``s16 -> float`` division by
            32768, so `read_audio` gives the samples back within half a step); or ``int16``
            written as is.
        sr: sample rate in Hz.

    The file appears atomically (written beside, then renamed).
    """
    path = Path(path)
    a = np.asarray(audio)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"audio must be [N] or [N, C], got shape {a.shape}")
    if a.dtype != np.int16:
        a = np.clip(np.round(a.astype(np.float64) * 32768.0), -32768, 32767).astype(np.int16)
    tmp = _atomic_target(path)
    try:
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(a.shape[1])
            w.setsampwidth(2)
            w.setframerate(int(sr))
            w.writeframes(np.ascontiguousarray(a).astype("<i2").tobytes())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_frames(
    folder: str | Path,
    frames: np.ndarray | Sequence[np.ndarray],
    *,
    start: int = 0,
    digits: int = 0,
    quality: int = 95,
) -> list[Path]:
    """Write ``uint8[T, H, W, 3]`` frames as integer-named JPEGs (``0.jpg``, or ``00000.jpg``
    with ``digits=5``), the folder layout RefAVS, ReVOS, OmniSynth and SAM2 all read.
    Returns the written paths in order."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, frame in enumerate(frames):
        arr = np.asarray(frame)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[-1] != 3:
            raise ValueError(f"frame {i} must be uint8[H, W, 3], got {arr.dtype}{list(arr.shape)}")
        p = folder / f"{start + i:0{digits}d}.jpg"
        Image.fromarray(arr).save(p, format="JPEG", quality=quality)
        out.append(p)
    return out


def write_preview_mp4(
    frames: np.ndarray | Sequence[np.ndarray],
    audio: np.ndarray | None,
    path: str | Path,
    fps: float,
    sr: int = 16000,
) -> Path:
    """Write a tutorial preview: H.264 video + AAC sound, with moviepy 2.x.

    Args:
        frames: ``uint8[T, H, W, 3]``; odd sizes are padded by one edge pixel (H.264 4:2:0
            needs even sides).
        audio: mono ``float[N]`` or ``float[N, C]`` at ``sr``, trimmed or zero-padded to the
            clip's ``T / fps`` seconds; ``None`` writes a silent video without a sound track.
        path: the ``.mp4`` to write (parents are created). moviepy's temporary audio file goes
            to a temporary folder, never to the working directory.
    """
    from moviepy import AudioArrayClip, ImageSequenceClip

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.asarray(frames)
    if arr.ndim != 4 or arr.shape[-1] != 3 or len(arr) == 0:
        raise ValueError(f"frames must be uint8[T, H, W, 3] with T > 0, got shape {arr.shape}")
    arr = arr.astype(np.uint8, copy=False)
    pad_h, pad_w = arr.shape[1] % 2, arr.shape[2] % 2
    if pad_h or pad_w:
        arr = np.pad(arr, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    clip = ImageSequenceClip(list(arr), fps=fps)
    duration = len(arr) / float(fps)
    if audio is not None:
        a = np.asarray(audio, dtype=np.float32)
        if a.ndim == 1:
            a = a[:, None]
        n = int(round(duration * sr))
        a = a[:n] if len(a) >= n else np.pad(a, ((0, n - len(a)), (0, 0)))
        if a.shape[1] == 1:
            a = np.repeat(a, 2, axis=1)  # stereo: what players and moviepy handle best
        clip = clip.with_audio(AudioArrayClip(np.clip(a, -1.0, 1.0), fps=sr).with_duration(duration))
    with tempfile.TemporaryDirectory() as tmp:
        clip.write_videofile(
            str(path),
            fps=fps,
            codec="libx264",
            audio_codec="aac" if audio is not None else None,
            audio=audio is not None,
            audio_fps=sr,
            temp_audiofile=str(Path(tmp) / "preview_audio.m4a"),
            logger=None,
        )
    clip.close()
    return path
