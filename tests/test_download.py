"""The downloader, without touching any real host: file:// URLs and 127.0.0.1 only."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from omni_r1_lite.data.download import (
    EXIT_FAILED,
    EXIT_OFFLINE,
    EXIT_OK,
    EXIT_USAGE,
    DownloadError,
    check_archive,
    is_present,
    load_manifest,
    main,
    select_items,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Tests talk to 127.0.0.1 and file:// only: keep any configured proxy out of the way."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    rc = main(list(argv), out=out)
    return rc, out.getvalue()


def make_targz(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tf.addfile(info, io.BytesIO(data))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(path: Path, items: list[dict]) -> Path:
    path.write_text(json.dumps({"version": 1, "items": items}))
    return path


@pytest.fixture()
def archive(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    files = {"REFAVS/metadata.csv": b"vid,uid,split,fid,exp\n", "REFAVS/media/a/audio.wav": b"x" * 5000}
    return make_targz(src / "bench.tar.gz", files)


def item(url: str, **kw) -> dict:
    d = {
        "name": "bench",
        "group": "datasets",
        "url": url,
        "dest": "downloads/bench.tar.gz",
        "archive": "tar.gz",
        "extract_to": "bench",
    }
    d.update(kw)
    return d


# --------------------------------------------------------------------------- manifest and dry run


def test_packaged_manifest_is_complete():
    items = {i.name: i for i in load_manifest()}
    assert items["refavs"].url == "https://zenodo.org/records/12970978/files/RefAVSBench.tar.gz?download=1"
    for size in ("tiny", "small", "base_plus", "large"):
        it = items[f"sam2.1_hiera_{size}"]
        assert it.url == f"https://dl.fbaipublicfiles.com/segment_anything_2/092824/sam2.1_hiera_{size}.pt"
    assert {items[n].hf_repo for n in ("qwen2.5-omni-3b", "qwen2.5-omni-7b", "omni-r1-7b")} == {
        "Qwen/Qwen2.5-Omni-3B",
        "Qwen/Qwen2.5-Omni-7B",
        "Haoz0206/Omni-R1",
    }
    # the only published sums are ReVOS-api's; nothing else claims a checksum
    assert all(i.sha256 is None for i in items.values())
    assert all(len(f["sha256"]) == 64 for f in items["revos-official"].files)
    default = [i.name for i in select_items(list(items.values()), None, False)]
    assert "refavs" in default and "revos" in default and "omni-r1-7b" not in default
    assert "revos-official" not in default


def test_revos_sums_are_the_readmes_current_ones():
    """ReVOS-api replaced the meta_expressions sums on 2024-07-13 (7d40fe4): the old ones renamed good
    files .corrupt-*. Pinned to the README at 2633da9 (2024-07-20), with its OneDrive link."""
    official = next(i for i in load_manifest() if i.name == "revos-official")
    sums = {f["dest"].split("/")[-1]: f["sha256"] for f in official.files}
    assert sums["meta_expressions_train_.json"].startswith("3917dfba") and sums["meta_expressions_valid_.json"].startswith("127b975e")
    assert sums["meta_expressions_train_sub_.json"].startswith("e1710287")
    assert not {"3fbc3d82", "291d1854"} & {v[:8] for v in sums.values()}
    assert "Ek3rFeIbNZtAv8kxVxr5n6sB6g3kbIThTscrq8cNt0zvgA" in official.instructions


def test_dry_run_prints_and_touches_nothing(tmp_path):
    data = tmp_path / "data"
    rc, out = run("--dry-run", "--data-dir", str(data), "--with-models")
    assert rc == EXIT_OK
    assert "https://zenodo.org/records/12970978/files/RefAVSBench.tar.gz?download=1" in out
    assert str(data / "checkpoints" / "sam2.1_hiera_large.pt") in out
    assert f"hf download Haoz0206/Omni-R1 --local-dir {data / 'models' / 'Omni-R1'}" in out
    assert not data.exists()


def test_shell_wrapper_dry_run_and_only(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "DATA_DIR": str(tmp_path / "d")}
    proc = subprocess.run(
        [
            "bash",
            str(REPO / "data_download.sh"),
            "--dry-run",
            "--only",
            "sam2.1_hiera_tiny",
            "--only",
            "refavs",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sam2.1_hiera_tiny.pt" in proc.stdout and "RefAVSBench.tar.gz" in proc.stdout
    assert "sam2.1_hiera_large" not in proc.stdout and "revos" not in proc.stdout
    assert str(tmp_path / "d") in proc.stdout and not (tmp_path / "d").exists()
    assert os.access(REPO / "data_download.sh", os.X_OK)


def test_unknown_name_is_a_usage_error():
    rc, out = run("--dry-run", "--only", "mevis-v3")
    assert rc == EXIT_USAGE and "mevis-v3" in out and "refavs" in out


# --------------------------------------------------------------------------- verified downloads


def test_download_verify_extract_and_rerun(tmp_path, archive):
    data = tmp_path / "data"
    m = write_manifest(tmp_path / "m.json", [item(archive.as_uri(), sha256=sha(archive))])
    assert not is_present("bench", data, manifest=m)
    rc, out = run("--manifest", str(m), "--data-dir", str(data))
    assert rc == EXIT_OK, out
    assert is_present("bench", data, manifest=m) and not is_present("nonesuch", data, manifest=m)
    assert (data / "downloads" / "bench.tar.gz").read_bytes() == archive.read_bytes()
    assert (data / "bench" / "REFAVS" / "metadata.csv").read_bytes() == b"vid,uid,split,fid,exp\n"
    assert not list(data.rglob("*.part")) and not list(data.rglob("*.extracting"))
    archive.unlink()  # the second run needs no network and no source
    rc, out = run("--manifest", str(m), "--data-dir", str(data))
    assert rc == EXIT_OK and "present and verified" in out and "already extracted" in out
    (data / "downloads" / "bench.tar.gz").unlink()  # space saved after extraction
    rc, out = run("--manifest", str(m), "--data-dir", str(data))
    assert rc == EXIT_OK and "archive deleted; not fetched again" in out


def test_wrong_checksum_is_moved_aside_and_never_extracted(tmp_path, archive):
    data = tmp_path / "data"
    m = write_manifest(tmp_path / "m.json", [item(archive.as_uri(), sha256="0" * 64)])
    rc, out = run("--manifest", str(m), "--data-dir", str(data))
    assert rc == EXIT_FAILED
    assert "sha256 mismatch" in out and "moved aside" in out
    assert not (data / "downloads" / "bench.tar.gz").exists()
    assert not (data / "downloads" / "bench.tar.gz.part").exists()
    assert len(list((data / "downloads").glob("bench.tar.gz.corrupt-*"))) == 1
    assert not (data / "bench").exists()


def test_unknown_checksum_is_recorded_then_enforced(tmp_path, archive):
    data = tmp_path / "data"
    good = archive.read_bytes()
    m = write_manifest(tmp_path / "m.json", [item(archive.as_uri())])
    rc, out = run("--manifest", str(m), "--data-dir", str(data), "--no-extract")
    assert rc == EXIT_OK and "recorded sha256" in out
    line = (data / "checksums.txt").read_text().strip()
    assert line == f"{sha(archive)}  downloads/bench.tar.gz"
    assert not (data / "bench").exists()
    # a file damaged later is caught, moved aside and fetched again from the (good) source
    final = data / "downloads" / "bench.tar.gz"
    final.write_bytes(good[:-10] + b"0123456789")
    rc, out = run("--manifest", str(m), "--data-dir", str(data), "--no-extract")
    assert rc == EXIT_OK and "sha256 mismatch" in out and "fetching again" in out
    assert final.read_bytes() == good
    # if the source itself changes, the recorded sum refuses it
    make_targz(archive, {"other.txt": b"different"})
    final.unlink()
    rc, out = run("--manifest", str(m), "--data-dir", str(data), "--no-extract")
    assert rc == EXIT_FAILED and "sha256 mismatch" in out and not final.exists()


def test_truncated_archive_without_checksum_is_rejected(tmp_path, archive):
    data = tmp_path / "data"
    truncated = tmp_path / "src" / "cut.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    m = write_manifest(tmp_path / "m.json", [item(truncated.as_uri())])
    rc, out = run("--manifest", str(m), "--data-dir", str(data))
    assert rc == EXIT_FAILED and "archive test failed" in out
    assert not (data / "downloads" / "bench.tar.gz").exists() and not (data / "bench").exists()
    assert not (data / "checksums.txt").exists() or "bench" not in (data / "checksums.txt").read_text()


def test_corrupt_zip_fails_the_archive_test(tmp_path):
    z = tmp_path / "a.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.txt", "hello " * 1000)
    check_archive(z, "zip")
    raw = bytearray(z.read_bytes())
    raw[60] ^= 0xFF  # inside the compressed data
    z.write_bytes(bytes(raw))
    with pytest.raises(DownloadError, match="a.zip"):
        check_archive(z, "zip")


def test_manual_item_verifies_published_sums(tmp_path):
    data = tmp_path / "data"
    payload = b'{"videos": {}}'
    digest = hashlib.sha256(payload).hexdigest()
    manual = {
        "name": "official",
        "group": "manual",
        "manual": True,
        "instructions": "get it by hand",
        "files": [{"dest": "off/meta.json", "sha256": digest}],
    }
    m = write_manifest(tmp_path / "m.json", [manual])
    rc, out = run("--manifest", str(m), "--data-dir", str(data), "--only", "official")
    assert rc == EXIT_FAILED and "get it by hand" in out
    (data / "off").mkdir(parents=True)
    (data / "off" / "meta.json").write_bytes(payload)
    rc, out = run("--manifest", str(m), "--data-dir", str(data), "--only", "official")
    assert rc == EXIT_OK and "verified" in out
    (data / "off" / "meta.json").write_bytes(payload + b" ")
    rc, out = run("--manifest", str(m), "--data-dir", str(data), "--only", "official")
    assert rc == EXIT_FAILED and "sha256 mismatch" in out
    # the user's file is reported, never renamed: it may be the right one and the sum outdated
    assert (data / "off" / "meta.json").read_bytes() == payload + b" " and not list((data / "off").glob("*.corrupt-*"))
    assert "left as it is" in out and "get it by hand" in out


# --------------------------------------------------------------------------- network behaviour


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_offline_fails_at_once(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/bench.tar.gz"
    m = write_manifest(tmp_path / "m.json", [item(url), item(url, name="second", dest="downloads/2.tar.gz")])
    t0 = time.monotonic()
    rc, out = run("--manifest", str(m), "--data-dir", str(tmp_path / "data"), "--timeout", "0.5")
    assert rc == EXIT_OFFLINE
    assert time.monotonic() - t0 < 5
    assert "cannot reach 127.0.0.1" in out and "[second]" not in out
    assert not list((tmp_path / "data").rglob("*.tar.gz*"))


class RangeServer(http.server.BaseHTTPRequestHandler):
    payload = b""
    ranges: list = []

    def do_GET(self):  # noqa: N802 (http.server naming)
        rng = self.headers.get("Range")
        type(self).ranges.append(rng)
        data, status = self.payload, 200
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            data, status = self.payload[start:], 206
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_resumes_a_partial_download_over_http(tmp_path, archive):
    RangeServer.payload = archive.read_bytes()
    RangeServer.ranges = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RangeServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/bench.tar.gz"
        data = tmp_path / "data"
        part = data / "downloads" / "bench.tar.gz.part"
        part.parent.mkdir(parents=True)
        half = len(RangeServer.payload) // 2
        part.write_bytes(RangeServer.payload[:half])
        m = write_manifest(tmp_path / "m.json", [item(url, sha256=sha(archive))])
        rc, out = run("--manifest", str(m), "--data-dir", str(data))
        assert rc == EXIT_OK, out
        assert RangeServer.ranges == [f"bytes={half}-"]
        assert (data / "downloads" / "bench.tar.gz").read_bytes() == RangeServer.payload
        assert not part.exists()
    finally:
        server.shutdown()
        server.server_close()


def test_probe_goes_through_a_configured_proxy(monkeypatch):
    from omni_r1_lite.data.download import OfflineError, probe

    port = closed_port()
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{port}")
    with pytest.raises(OfflineError, match=f"127.0.0.1:{port}"):
        probe("https://example.invalid/file.bin", 0.5)  # only the (closed) proxy is contacted


def _tar_with(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for info in members:
            payload = data.get(info.name)
            if payload is not None:
                info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return path


@pytest.mark.parametrize("unsafe", ["../evil.txt", "link-out"])
def test_an_unsafe_archive_is_moved_aside_and_never_trusted(tmp_path, unsafe):
    """`../evil` or a link leaving the tree: refused by the archive test, moved aside, nothing
    extracted, no sum recorded (it used to be recorded before extraction was tried, so every rerun
    trusted the bad archive and failed the same way); an earlier kit's record of it is dropped."""
    src = tmp_path / "src"
    src.mkdir()
    good = tarfile.TarInfo("REFAVS/metadata.csv")
    bad = tarfile.TarInfo(unsafe)
    if unsafe == "link-out":
        bad.type, bad.linkname = tarfile.SYMTYPE, "../../outside.txt"
    archive = _tar_with(src / "bench.tar.gz", [good, bad], {"REFAVS/metadata.csv": b"a,b\n", "../evil.txt": b"x"})
    data = tmp_path / "data"
    m = write_manifest(tmp_path / "m.json", [item(archive.as_uri())])
    for _ in range(2):
        rc, out = run("--manifest", str(m), "--data-dir", str(data))
        assert rc == EXIT_FAILED and "unsafe member" in out and "moved aside" in out, out
    downloads = data / "downloads"
    assert len(list(downloads.glob("bench.tar.gz.corrupt-*"))) == 2 and not (downloads / "bench.tar.gz").exists()
    assert not (data / "bench").exists() and not (tmp_path / "evil.txt").exists() and not (data / "evil.txt").exists()
    assert not (data / "checksums.txt").exists() or "bench" not in (data / "checksums.txt").read_text()
    # an earlier kit recorded its sum and kept it in place: verified again, refused, record dropped
    (downloads / "bench.tar.gz").write_bytes(archive.read_bytes())
    (data / "checksums.txt").write_text(f"{sha(archive)}  downloads/bench.tar.gz\n")
    rc, out = run("--manifest", str(m), "--data-dir", str(data))
    assert rc == EXIT_FAILED and "unsafe member" in out
    assert "bench" not in (data / "checksums.txt").read_text() and not (data / "bench").exists()


def test_a_plain_tar_cut_at_a_member_boundary_is_refused(tmp_path):
    """A .tar cut right after a member reads without error: the end-of-archive marker is required."""
    src = tmp_path / "src"
    src.mkdir()
    whole = _tar_with(src / "whole.tar", [tarfile.TarInfo("a.txt"), tarfile.TarInfo("b.txt")],
                      {"a.txt": b"A" * 700, "b.txt": b"B" * 10}, mode="w")
    check_archive(whole, "tar")
    cut = src / "bench.tar"
    cut.write_bytes(whole.read_bytes()[: 512 + 1024])  # a.txt's header and its 700 bytes padded to 1024
    with tarfile.open(cut) as tf:
        assert tf.getnames() == ["a.txt"]  # what tarfile alone accepts
    with pytest.raises(DownloadError, match="end-of-archive marker"):
        check_archive(cut, "tar")
    data = tmp_path / "data"
    m = write_manifest(tmp_path / "m.json", [item(cut.as_uri(), dest="downloads/bench.tar", archive="tar")])
    rc, out = run("--manifest", str(m), "--data-dir", str(data))
    assert rc == EXIT_FAILED and "end-of-archive marker" in out and not (data / "bench").exists()
    assert not (data / "checksums.txt").exists() or "bench" not in (data / "checksums.txt").read_text()
    m = write_manifest(tmp_path / "m.json", [item(whole.as_uri(), dest="downloads/whole.tar", archive="tar")])
    rc, out = run("--manifest", str(m), "--data-dir", str(data))
    assert rc == EXIT_OK and (data / "bench" / "b.txt").read_bytes() == b"B" * 10
    assert f"{sha(whole)}  downloads/whole.tar" in (data / "checksums.txt").read_text()  # after extraction


def test_a_split_zip_is_joined_tested_and_extracted(tmp_path):
    """Sa2VA-Training ships video_data_split.z01-z03, joined with `cat` (bytedance/Sa2VA#56): the
    manual item joins the parts, tests the zip and extracts it; a missing part is named."""
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("video_datas/revos/meta_expressions_valid_.json", '{"videos": {}}')
        zf.writestr("video_datas/revos/mask_dict.json", "{}" + " " * 5000)
    raw = whole.read_bytes()
    data = tmp_path / "data"
    (data / "downloads").mkdir(parents=True)
    cuts = [0, len(raw) // 3, 2 * len(raw) // 3, len(raw)]
    names = [f"downloads/v.z0{i + 1}" for i in range(3)]
    for name, a, b in zip(names, cuts, cuts[1:]):
        (data / name).write_bytes(raw[a:b])
    manual = {"name": "split", "group": "manual", "manual": True, "instructions": "get the parts by hand",
              "files": [{"dest": "downloads/v.zip", "parts": names, "archive": "zip", "extract_to": "revos/s"}]}
    m = write_manifest(tmp_path / "m.json", [manual])
    (data / names[1]).rename(data / "aside")
    rc, out = run("--manifest", str(m), "--data-dir", str(data), "--only", "split")
    assert rc == EXIT_FAILED and "v.z02" in out and "get the parts by hand" in out
    (data / "aside").rename(data / names[1])
    rc, out = run("--manifest", str(m), "--data-dir", str(data), "--only", "split")
    assert rc == EXIT_OK and "joining 3 parts" in out, out
    assert (data / "downloads" / "v.zip").read_bytes() == raw and all((data / n).is_file() for n in names)
    assert (data / "revos" / "s" / "video_datas" / "revos" / "meta_expressions_valid_.json").is_file()
    rc, out = run("--manifest", str(m), "--data-dir", str(data), "--only", "split")
    assert rc == EXIT_OK and "already extracted" in out and "joining" not in out
