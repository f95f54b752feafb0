"""Media I/O: smart_resize, frame sampling, frame/video decoding, audio, writers, bad files."""

from __future__ import annotations

import wave

import numpy as np
import pytest
from data_fixtures import flat_frames, frame_colour, tone, write_test_video
from hypothesis import given, settings
from hypothesis import strategies as st

from omni_r1_lite.data.media import (
    CorruptMediaError,
    MissingMediaError,
    NoAudioError,
    media_info,
    read_audio,
    read_frames,
    read_keyframes,
    sample_indices,
    smart_resize,
    write_frames,
    write_preview_mp4,
    write_wav,
)
from omni_r1_lite.data.schema import DataError


def dominant_grey(frames: np.ndarray) -> list[int]:
    return [int(round(float(f.mean()))) for f in frames]


# --------------------------------------------------------------------------- sizes and indices


@settings(max_examples=200, deadline=None)
@given(
    h=st.integers(28, 4000),
    w=st.integers(28, 4000),
    budget=st.integers(4, 2000),
)
def test_smart_resize_properties(h, w, budget):
    if max(h, w) / min(h, w) > 100:
        return
    max_pixels = budget * 28 * 28
    rh, rw = smart_resize(h, w, max_pixels=max_pixels, min_pixels=28 * 28)
    assert rh % 28 == 0 and rw % 28 == 0
    assert rh >= 28 and rw >= 28
    assert rh * rw <= max_pixels or min(rh, rw) == 28  # one side clamped to a single patch
    if min(rh, rw) > 28:  # not clamped to one patch: aspect ratio kept up to the rounding to 28s
        assert abs(np.log(rh / rw) - np.log(h / w)) <= np.log1p(28 / rh) + np.log1p(28 / rw) + 1e-9


def test_smart_resize_upscales_tiny_frames_and_rejects_bad_input():
    assert smart_resize(10, 10, min_pixels=56 * 56) == (56, 56)
    with pytest.raises(ValueError):
        smart_resize(1, 500)
    with pytest.raises(ValueError):
        smart_resize(100, 100, min_pixels=10_000, max_pixels=100)


@given(num=st.integers(1, 500), n=st.integers(1, 64))
def test_sample_indices_properties(num, n):
    idx = sample_indices(num, n)
    assert len(idx) == min(num, n)
    assert idx == sorted(set(idx))
    assert idx[0] == 0
    assert idx[-1] == num - 1 or len(idx) == 1
    assert all(0 <= i < num for i in idx)


def test_sample_indices_matches_linspace_rounding():
    assert sample_indices(240, 24) == [int(round(x)) for x in np.linspace(0, 239, 24)]
    with pytest.raises(ValueError):
        sample_indices(10, 0)


# --------------------------------------------------------------------------- frame folders


def test_read_frames_folder_native_and_budget(tmp_path):
    frames = flat_frames(6, 60, 80)
    write_frames(tmp_path / "clip", frames)
    native = read_frames(tmp_path / "clip")
    assert native.shape == (6, 60, 80, 3) and native.dtype == np.uint8
    assert dominant_grey(native) == pytest.approx([frame_colour(t) for t in range(6)], abs=2)

    small = read_frames(tmp_path / "clip", [4, 1], max_pixels=4 * 28 * 28)
    assert small.shape == (2, *smart_resize(60, 80, max_pixels=4 * 28 * 28), 3)
    assert dominant_grey(small) == pytest.approx([frame_colour(4), frame_colour(1)], abs=2)

    exact = read_frames(tmp_path / "clip", [0], size=(30, 40))
    assert exact.shape == (1, 30, 40, 3)


def test_read_frames_sorts_integer_names_and_accepts_path_lists(tmp_path):
    d = tmp_path / "clip"
    write_frames(d, flat_frames(12, 16, 16))  # 0.jpg .. 11.jpg: lexical order would put 10 after 1
    got = read_frames(d)
    assert dominant_grey(got) == pytest.approx([frame_colour(t) for t in range(12)], abs=2)
    paths = [d / "3.jpg", d / "10.jpg"]
    assert dominant_grey(read_frames(paths)) == pytest.approx([frame_colour(3), frame_colour(10)], abs=2)


def test_read_keyframes_folder_opens_only_requested(tmp_path):
    d = tmp_path / "clip"
    write_frames(d, flat_frames(5, 16, 16))
    (d / "2.jpg").write_bytes(b"not a jpeg")  # never opened when not requested
    got = read_keyframes(d, [4, 0, 4])
    assert got.shape == (3, 16, 16, 3)
    assert dominant_grey(got) == pytest.approx([frame_colour(4), frame_colour(0), frame_colour(4)], abs=2)


def test_corrupt_jpeg_names_the_file(tmp_path):
    d = tmp_path / "clip"
    paths = write_frames(d, flat_frames(3, 32, 32))
    paths[1].write_bytes(paths[1].read_bytes()[:200])  # truncated JPEG
    with pytest.raises(CorruptMediaError, match=r"1\.jpg"):
        read_frames(d)
    paths[1].write_bytes(b"\x00garbage")
    with pytest.raises(CorruptMediaError, match=r"1\.jpg") as e:
        read_frames(d, max_pixels=4 * 28 * 28)
    assert isinstance(e.value, DataError) and e.value.path == paths[1]


def test_missing_frames_and_folders(tmp_path):
    with pytest.raises(MissingMediaError, match="nowhere"):
        read_frames(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingMediaError, match="empty"):
        read_frames(tmp_path / "empty")
    write_frames(tmp_path / "c", flat_frames(2, 8, 8))
    with pytest.raises(IndexError):
        read_frames(tmp_path / "c", [2])
    with pytest.raises(MissingMediaError, match="7.jpg"):
        read_frames([tmp_path / "c" / "7.jpg"])


def test_frames_of_different_sizes_need_a_budget(tmp_path):
    d = tmp_path / "clip"
    write_frames(d, flat_frames(1, 16, 16))
    write_frames(d, flat_frames(1, 20, 16), start=1)
    with pytest.raises(CorruptMediaError, match=r"1\.jpg"):
        read_frames(d)
    assert read_frames(d, size=(16, 16)).shape == (2, 16, 16, 3)


# --------------------------------------------------------------------------- video files


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    d = tmp_path_factory.mktemp("video")
    frames = flat_frames(30, 48, 64)
    path = write_test_video(d / "clip.mp4", frames, fps=10, audio=tone(3.0, freq=440), gop=5)
    silent = write_test_video(d / "silent.mp4", frames[:10], fps=10, audio=None)
    return {"path": path, "silent": silent, "frames": frames}


def test_read_frames_video_all_and_selected(video):
    allf = read_frames(video["path"])
    assert allf.shape == (30, 48, 64, 3)
    assert dominant_grey(allf) == pytest.approx([frame_colour(t) % 256 for t in range(30)], abs=3)
    sel = read_frames(video["path"], [7, 2], max_pixels=2 * 28 * 28)
    assert sel.shape == (2, *smart_resize(48, 64, max_pixels=2 * 28 * 28), 3)
    assert dominant_grey(sel) == pytest.approx([frame_colour(7), frame_colour(2)], abs=3)


def test_read_keyframes_video_seeks_to_each_index(video):
    idx = [25, 3, 17, 3, 29]
    got = read_keyframes(video["path"], idx)
    assert got.shape == (5, 48, 64, 3)
    assert dominant_grey(got) == pytest.approx([frame_colour(i) % 256 for i in idx], abs=3)
    with pytest.raises(CorruptMediaError, match="clip.mp4"):
        read_keyframes(video["path"], [30])


def test_read_keyframes_decodes_only_from_the_preceding_keyframe(video, monkeypatch):
    import omni_r1_lite.data.media as media

    decoded = []
    real = media._frame_index
    monkeypatch.setattr(media, "_frame_index", lambda *a: decoded.append(real(*a)) or decoded[-1])
    got = read_keyframes(video["path"], [27])
    assert dominant_grey(got) == pytest.approx([frame_colour(27) % 256], abs=3)
    assert 1 <= len(decoded) <= 5 and min(decoded) >= 25  # keyframes every 5 frames: 25, 26, 27
    monkeypatch.setattr(media, "_frame_index", lambda *a: -1)  # a stream without timestamps
    fallback = read_keyframes(video["path"], [12, 4])  # counts frames from the start instead
    assert dominant_grey(fallback) == pytest.approx([frame_colour(12) % 256, frame_colour(4)], abs=3)
    converted = []
    monkeypatch.setattr(media, "_to_rgb", lambda f, t: converted.append(1) or f.to_ndarray(format="rgb24"))
    read_frames(video["path"], [3, 9])
    assert len(converted) == 2  # sequential mode converts only the wanted frames


def test_media_info(video, tmp_path):
    info = media_info(video["path"])
    assert (info.num_frames, info.height, info.width, info.fps, info.has_audio) == (30, 48, 64, 10.0, True)
    assert info.duration == pytest.approx(3.0, abs=0.2)
    write_frames(tmp_path / "f", flat_frames(4, 10, 12))
    finfo = media_info(tmp_path / "f")
    assert (finfo.num_frames, finfo.height, finfo.width, finfo.fps, finfo.has_audio) == (
        4,
        10,
        12,
        None,
        False,
    )


def test_truncated_and_garbage_mp4_name_the_file(video, tmp_path):
    data = video["path"].read_bytes()
    bad = tmp_path / "truncated.mp4"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptMediaError, match="truncated.mp4"):
        read_frames(bad)
    with pytest.raises(CorruptMediaError, match="truncated.mp4"):
        read_audio(bad)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 512)
    with pytest.raises(CorruptMediaError, match="junk.mp4"):
        read_keyframes(junk, [0])
    with pytest.raises(MissingMediaError, match="absent.mp4"):
        read_frames(tmp_path / "absent.mp4")


# --------------------------------------------------------------------------- audio


def test_wav_round_trip_and_resampling(tmp_path):
    x = tone(0.5, sr=16000, amp=0.8)
    p = write_wav(tmp_path / "a.wav", x, sr=16000)
    y = read_audio(p)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert np.abs(y - x).max() <= 0.5 / 32768 + 1e-7
    y8 = read_audio(p, sr=8000)
    assert len(y8) == pytest.approx(4000, abs=2)
    spectrum = np.abs(np.fft.rfft(y8))
    assert np.argmax(spectrum) * 8000 / len(y8) == pytest.approx(440, abs=4)


def test_stereo_is_averaged(tmp_path):
    left = tone(0.25, amp=0.6)
    p = write_wav(tmp_path / "st.wav", np.stack([left, np.zeros_like(left)], axis=1))
    y = read_audio(p)
    assert np.abs(y).max() == pytest.approx(0.3, abs=1e-3)


def test_write_wav_is_deterministic_pcm16(tmp_path):
    x = tone(0.1)
    a = write_wav(tmp_path / "a.wav", x).read_bytes()
    b = write_wav(tmp_path / "b.wav", x).read_bytes()
    assert a == b
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 16000, len(x))
    clipped = read_audio(write_wav(tmp_path / "c.wav", np.array([2.0, -2.0, 0.5])))
    assert clipped.tolist() == pytest.approx([1.0, -1.0, 0.5], abs=1e-4)


def test_audio_track_of_a_video(video):
    y = read_audio(video["path"])
    assert y.dtype == np.float32
    assert len(y) == pytest.approx(3 * 16000, rel=0.05)
    spectrum = np.abs(np.fft.rfft(y))
    assert np.argmax(spectrum) * 16000 / len(y) == pytest.approx(440, abs=4)


def test_missing_audio_and_silent_video(video, tmp_path):
    with pytest.raises(MissingMediaError, match="nope.wav"):
        read_audio(tmp_path / "nope.wav")
    with pytest.raises(NoAudioError, match="silent.mp4"):
        read_audio(video["silent"])
    quiet = read_audio(video["silent"], missing="silence")
    assert quiet.shape == (16000,) and not quiet.any()  # 10 frames at 10 fps
    assert read_audio(tmp_path / "nope.wav", missing="silence", duration=0.25).shape == (4000,)
    with pytest.raises(DataError, match="duration"):
        read_audio(tmp_path / "nope.wav", missing="silence")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....garbage")
    with pytest.raises(CorruptMediaError, match="bad.wav"):
        read_audio(bad, missing="silence", duration=1.0)


# --------------------------------------------------------------------------- preview


def test_write_preview_mp4_has_video_and_sound(tmp_path):
    frames = flat_frames(8, 33, 45)  # odd sizes get padded to even
    out = write_preview_mp4(frames, tone(0.5, freq=660), tmp_path / "p" / "preview.mp4", fps=8)
    info = media_info(out)
    assert info.has_audio and (info.height, info.width) == (34, 46)
    assert info.num_frames == pytest.approx(8, abs=1)
    back = read_frames(out)
    assert dominant_grey(back[:, :33, :45]) == pytest.approx(
        [frame_colour(t) for t in range(len(back))], abs=4
    )
    y = read_audio(out)
    assert len(y) == pytest.approx(16000, rel=0.05)  # 8 frames at 8 fps: the tone is padded to 1 s
    assert np.argmax(np.abs(np.fft.rfft(y))) * 16000 / len(y) == pytest.approx(660, abs=6)
    assert not list(tmp_path.glob("*.m4a")) and not list(tmp_path.glob("p/*TEMP*"))
    silent = write_preview_mp4(frames, None, tmp_path / "silent.mp4", fps=8)
    assert not media_info(silent).has_audio


def test_a_truncated_wav_is_an_error_naming_the_file(tmp_path):
    """A WAV cut to half its length used to decode as 31,989 of its 64,000 samples without a word."""
    import struct

    from omni_r1_lite.data.media import CorruptMediaError, read_audio, write_wav

    full = tmp_path / "full.wav"
    write_wav(full, 0.3 * np.sin(np.arange(64000) / 10), sr=16000)
    assert read_audio(full).shape == (64000,)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(CorruptMediaError, match=r"truncated: the header declares 4\.000 s.*cut\.wav"):
        read_audio(cut)
    # a streaming writer's unknown size (0xFFFFFFFF) is not a truncation
    raw = bytearray(full.read_bytes())
    pos = raw.index(b"data") + 4
    raw[pos:pos + 4] = struct.pack("<I", 0xFFFFFFFF)
    stream = tmp_path / "stream.wav"
    stream.write_bytes(bytes(raw))
    assert read_audio(stream).shape[0] >= 63000
