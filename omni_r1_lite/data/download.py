"""Fetch and verify the real data (RefAVS, ReVOS), SAM 2.1 checkpoints and model snapshots.

``data_download.sh`` at the repository root is a thin wrapper around::

    python -m omni_r1_lite.data.download [--data-dir DIR] [--only NAME]... [--with-models]
                                         [--dry-run] [--list] [--no-extract] [--timeout S]

Everything goes under one ``DATA_DIR`` (``--data-dir``, else ``$DATA_DIR``, else ``./data``).
What can be fetched is the manifest ``omni_r1_lite/resources/downloads.json``: name, group,
URL (or Hugging Face repo), destination, and a SHA-256 / size where the publisher states one.

How a file is fetched, so that a run can be repeated or interrupted at any point:

1. A file already at its destination is verified (SHA-256 against the manifest or against
   ``DATA_DIR/checksums.txt``; a stamp of size and mtime skips re-hashing unchanged files) and
   kept. If it fails it is moved aside to ``<dest>.corrupt-<time>`` and fetched again.
2. Before any network use the host is probed with a short connect timeout; when it cannot be
   reached the run stops at once with exit status 3 and says so.
3. Bytes go to ``<dest>.part``; an existing ``.part`` is resumed with an HTTP ``Range`` request.
   The final path never holds a partial file.
4. The ``.part`` is checked: its length against ``Content-Length`` and the manifest size, its
   SHA-256 against the manifest or the recorded sum; archives are also tested end to end
   (``tar``: every member decompressed, its name and links checked, the end marker present;
   ``zip``: every name and CRC), since a sum says nothing about either. A file that
   fails is moved aside to ``<dest>.corrupt-<time>``, reported, and never used or extracted.
5. Only then is it renamed into place. **Checksums we do not know are not invented**: on the
   first good download (for an archive: once extracted) the SHA-256 is appended to ``DATA_DIR/checksums.txt`` (``sha256sum``
   format, so ``cd DATA_DIR && sha256sum -c checksums.txt`` works) and every later run
   verifies against it (trust on first use: it detects later corruption, not a bad first copy).
6. Archives are extracted to a temporary folder beside the target, then moved into place, with
   a marker file so a finished extraction is not repeated (you may delete ``DATA_DIR/downloads``
   afterwards: an extracted item whose archive is gone is not fetched again). Tar members are
   extracted with the ``data`` filter (no absolute paths, links out of the tree or devices), and
   the archive test of step 4 already refuses such members and a tar without its end-of-archive
   marker (a plain ``.tar`` cut at a member boundary). An archive that cannot be extracted is
   moved aside like a corrupt download; a sum we did not know is recorded only after the
   archive was verified and extracted. Files you placed for a manual item are never moved.

Models (``--with-models`` or ``--only <name>``) are Hugging Face snapshots fetched with
``huggingface_hub.snapshot_download`` (resumable, verified by the hub) into
``DATA_DIR/models/<repo name>``. Manual items (``revos-official``: OneDrive only) are never fetched:
the tool prints where to get them and verifies files you put in place against the published sums.

Exit status: 0 all good, 1 an item failed, 2 bad arguments, 3 offline / host unreachable.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import socket
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "DownloadError",
    "Item",
    "OfflineError",
    "default_data_dir",
    "is_present",
    "load_manifest",
    "main",
    "select_items",
    "sha256_file",
]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_OFFLINE = 0, 1, 2, 3
DEFAULT_GROUPS = ("datasets", "sam2")
OPT_IN_GROUPS = ("qa-benchmarks",)
"""Fetched only when named (``--only NAME`` or ``--only GROUP``): not by default, not by ``all``."""
CHECKSUMS_FILE = "checksums.txt"
STATE_FILE = ".download_state.json"
EXTRACT_MARKER = ".omni_r1_lite_extracted.json"
_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download or verification failed; the message names the file."""


class ArchiveContentError(DownloadError):
    """An archive's content cannot be extracted safely or at all (not a disk problem)."""


class OfflineError(DownloadError):
    """A host could not be reached (no network, DNS failure, firewall)."""


@dataclasses.dataclass(frozen=True)
class Item:
    """One manifest entry (see ``resources/downloads.json``)."""

    name: str
    group: str
    description: str = ""
    url: str | None = None
    dest: str = ""
    sha256: str | None = None
    size: int | None = None
    archive: str | None = None
    extract_to: str | None = None
    hf_repo: str | None = None
    manual: bool = False
    files: tuple[dict, ...] = ()
    instructions: str = ""
    parts: tuple[str, ...] = ()
    extra: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> Item:
        known = {f.name for f in dataclasses.fields(cls)} - {"extra", "files", "parts"}
        kwargs = {k: d[k] for k in known if k in d and d[k] is not None}
        extra = {k: v for k, v in d.items() if k not in known and k not in ("files", "parts")}
        return cls(files=tuple(d.get("files") or ()), parts=tuple(d.get("parts") or ()), extra=extra, **kwargs)


def default_data_dir() -> Path:
    """``$DATA_DIR`` if set, else ``./data``."""
    return Path(os.environ.get("DATA_DIR") or "data")


def load_manifest(path: str | Path | None = None) -> list[Item]:
    """Items of the manifest (the packaged ``downloads.json`` when ``path`` is ``None``).

    >>> names = [i.name for i in load_manifest()]
    >>> "refavs" in names and "sam2.1_hiera_large" in names and "omni-r1-7b" in names
    True
    """
    if path is None:
        from importlib.resources import files

        text = files("omni_r1_lite").joinpath("resources/downloads.json").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text)
    items = [Item.from_dict(d) for d in data["items"]]
    names = [i.name for i in items]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"duplicate manifest names {sorted(dupes)}")
    return items


def select_items(items: Sequence[Item], only: Sequence[str] | None, with_models: bool) -> list[Item]:
    """Items to process: those named (or whose group is named) by ``only``, else the default
    groups (datasets and SAM 2.1 checkpoints) plus models when ``with_models``. ``all`` names
    every non-manual item outside `OPT_IN_GROUPS` (the QA benchmarks, hundreds of GB: fetched only
    when named). An unknown name raises `ValueError` listing the valid ones.

    >>> items = load_manifest()
    >>> [i.name for i in select_items(items, ["sam2.1_hiera_tiny"], False)]
    ['sam2.1_hiera_tiny']
    >>> "qwen2.5-omni-7b" in [i.name for i in select_items(items, None, True)]
    True
    """
    if not only:
        groups = set(DEFAULT_GROUPS) | ({"models"} if with_models else set())
        return [i for i in items if i.group in groups]
    names = {i.name for i in items}
    groups = {i.group for i in items}
    unknown = [o for o in only if o not in names and o not in groups and o != "all"]
    if unknown:
        raise ValueError(
            f"unknown item(s) {unknown}; names: {sorted(names)}; groups: {sorted(groups | {'all'})}"
        )
    chosen = set(only)
    out = []
    for i in items:
        if i.name in chosen or i.group in chosen or ("all" in chosen and not i.manual):
            if i.group == "models" and "all" in chosen and not with_models and i.name not in chosen:
                continue
            if i.group in OPT_IN_GROUPS and i.name not in chosen and i.group not in chosen:
                continue
            out.append(i)
    return out


def is_present(name: str, data_dir: str | Path | None = None, manifest: str | Path | None = None) -> bool:
    """Whether manifest item ``name`` is in place under ``data_dir`` (default `default_data_dir`).

    A cheap check (nothing is hashed): an archive counts once it has been extracted (marker
    file), a plain file once it is at its destination, a model once its folder has a
    ``config.json``, a manual item once all its files are there. Unknown names are not present.

    >>> is_present("refavs", "/nonexistent")
    False
    """
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    found = [i for i in load_manifest(manifest) if i.name == name]
    if not found:
        return False
    item = found[0]

    def placed(dest: str, archive: str | None, extract_to: str | None) -> bool:
        if archive and extract_to:
            return (root / extract_to / EXTRACT_MARKER).is_file()
        return (root / dest).is_file()

    if item.manual:
        return bool(item.files) and all(
            placed(f["dest"], f.get("archive"), f.get("extract_to")) for f in item.files
        )
    if item.hf_repo:
        return (root / item.dest / item.extra.get("present_if", "config.json")).is_file()
    return placed(item.dest, item.archive, item.extract_to)


# --------------------------------------------------------------------------- hashing and records


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


class Records:
    """``DATA_DIR/checksums.txt`` (trust-on-first-use sums, ``sha256sum`` format) and a stamp
    file of (size, mtime) per verified file so unchanged files are not hashed again."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.checksums_path = data_dir / CHECKSUMS_FILE
        self.state_path = data_dir / STATE_FILE
        self.sums: dict[str, str] = {}
        if self.checksums_path.is_file():
            for line in self.checksums_path.read_text(encoding="utf-8").splitlines():
                parts = line.strip().split(maxsplit=1)
                if len(parts) == 2 and not line.startswith("#"):
                    self.sums[parts[1].lstrip("*")] = parts[0].lower()
        try:
            self.state: dict[str, dict] = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.state = {}

    def record(self, rel: str, digest: str) -> None:
        self.sums[rel] = digest
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lines = [f"{d}  {r}" for r, d in sorted(self.sums.items())]
        _write_atomic(self.checksums_path, "\n".join(lines) + "\n")

    def unrecord(self, rel: str) -> None:
        """Drop a recorded (trust-on-first-use) sum, e.g. of an archive that failed to extract."""
        if self.sums.pop(rel, None) is not None:
            lines = [f"{d}  {r}" for r, d in sorted(self.sums.items())]
            _write_atomic(self.checksums_path, "\n".join(lines) + ("\n" if lines else ""))

    def forget(self, rel: str) -> None:
        if self.state.pop(rel, None) is not None:
            self._save_state()

    def stamp(self, rel: str, path: Path, digest: str) -> None:
        st = path.stat()
        self.state[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
        self._save_state()

    def stamped_digest(self, rel: str, path: Path) -> str | None:
        s = self.state.get(rel)
        if not s:
            return None
        st = path.stat()
        if s.get("size") == st.st_size and s.get("mtime_ns") == st.st_mtime_ns:
            return s.get("sha256")
        return None

    def _save_state(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.state_path, json.dumps(self.state, indent=1, sort_keys=True))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- network


def probe(url: str, timeout: float) -> None:
    """Raise `OfflineError` unless ``url``'s host (or the configured HTTP(S) proxy) accepts a
    TCP connection within ``timeout`` seconds (``file://`` URLs: unless the file exists)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        path = Path(urllib.request.url2pathname(parsed.path))
        if not path.exists():
            raise OfflineError(f"source file not found: {path}")
        return
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise DownloadError(f"unsupported URL: {url}")
    host, port = parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(parsed.scheme)
    if proxy and not urllib.request.proxy_bypass(parsed.hostname):
        p = urllib.parse.urlparse(proxy if "://" in proxy else f"http://{proxy}")
        if p.hostname:  # through a proxy: the proxy is what must answer
            host, port = p.hostname, p.port or (443 if p.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        raise OfflineError(
            f"cannot reach {host}:{port} within {timeout:g} s ({e}). "
            "No network? Run with --dry-run to see what would be fetched, or fetch on a connected "
            "machine and copy DATA_DIR over."
        ) from e


def _fetch(url: str, part: Path, timeout: float, label: str, log) -> None:
    """Download ``url`` into ``part``, resuming an existing ``part`` with a Range request."""
    existing = part.stat().st_size if part.exists() else 0
    is_http = url.startswith(("http://", "https://"))
    headers = {"User-Agent": "omni-r1-lite-downloader/1"}
    if existing and is_http:
        headers["Range"] = f"bytes={existing}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=max(timeout, 30))
    except urllib.error.HTTPError as e:
        if e.code == 416 and existing:  # already complete
            return
        raise DownloadError(f"HTTP {e.code} {e.reason} for {url}") from e
    except (urllib.error.URLError, OSError) as e:
        raise DownloadError(f"cannot fetch {url}: {e}") from e
    with resp:
        append = bool(existing and is_http and getattr(resp, "status", None) == 206)
        length = resp.headers.get("Content-Length")
        total = int(length) + (existing if append else 0) if length and length.isdigit() else None
        if existing and not append:
            log(f"[{label}] server ignored the resume request; starting over")
        done = existing if append else 0
        part.parent.mkdir(parents=True, exist_ok=True)
        last = time.monotonic()
        try:
            with open(part, "ab" if append else "wb") as f:
                while True:
                    block = resp.read(_CHUNK)
                    if not block:
                        break
                    f.write(block)
                    done += len(block)
                    if time.monotonic() - last > 5:
                        pct = f" ({100 * done / total:.1f}%)" if total else ""
                        log(f"[{label}] {done / 1e6:,.0f} MB{pct}")
                        last = time.monotonic()
        except (OSError, urllib.error.URLError) as e:
            raise DownloadError(
                f"download of {url} interrupted after {done} bytes ({e}); run again to resume"
            ) from e
    if total is not None and part.stat().st_size != total:
        raise DownloadError(
            f"truncated download: {part.stat().st_size} of {total} bytes in {part}; run again to resume"
        )


# --------------------------------------------------------------------------- archives


def _unsafe_tar_member(member: tarfile.TarInfo, dest: Path) -> str | None:
    """Why extracting ``member`` under ``dest`` would be unsafe (absolute or ``..`` name, a link
    leaving the tree, a device), or ``None``: the ``data`` filter's rules, applied without writing."""
    if hasattr(tarfile, "data_filter"):
        try:
            tarfile.data_filter(member, str(dest))
        except tarfile.FilterError as e:
            return str(e)
        return None
    p = Path(member.name)  # Python < 3.11.4: the same rules, by hand
    if p.is_absolute() or ".." in p.parts:
        return f"member {member.name!r} would be written outside the folder"
    if member.issym() or member.islnk():
        target = Path(member.linkname)
        if target.is_absolute() or ".." in (p.parent / target).parts:
            return f"link {member.name!r} -> {member.linkname!r} leaves the folder"
    if member.isdev():
        return f"device file {member.name!r}"
    return None


def check_archive(path: Path, kind: str) -> None:
    """Read a whole archive, raising `DownloadError` if it is truncated or corrupt, or holds a member
    that extraction would refuse (absolute or ``..`` names, links out of the tree, devices).

    A tar must end with its end-of-archive marker (zero blocks): a plain ``.tar`` cut exactly at a
    member boundary reads without error otherwise, and would be extracted without its last members.
    """
    try:
        if kind in ("tar.gz", "tgz", "tar"):
            with tarfile.open(path, "r:*") as tf:
                dest = path.parent / f".{path.name}.check"  # never created: names are only resolved
                for member in tf:
                    why = _unsafe_tar_member(member, dest)
                    if why:
                        raise ArchiveContentError(f"unsafe member in {path}: {why}")
                    if member.isfile():
                        f = tf.extractfile(member)
                        if f is not None:
                            while f.read(_CHUNK):
                                pass
                tf.fileobj.seek(tf.offset)
                end = tf.fileobj.read(tarfile.BLOCKSIZE)
                if len(end) < tarfile.BLOCKSIZE or end.strip(b"\0"):
                    raise ArchiveContentError(f"{path} ends without the tar end-of-archive marker after "
                                        f"{len(tf.getmembers())} member(s): the file is cut short")
        elif kind == "zip":
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    name = Path(info.filename.replace("\\", "/"))
                    if name.is_absolute() or ".." in name.parts or info.filename[1:2] == ":":
                        raise ArchiveContentError(f"unsafe member in {path}: {info.filename!r} would be written "
                                            "outside the folder")
                bad = zf.testzip()
                if bad is not None:
                    raise ArchiveContentError(f"corrupt member {bad!r} in {path}")
        else:
            raise DownloadError(f"unknown archive kind {kind!r} for {path}")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise ArchiveContentError(f"archive test failed for {path}: {e}") from e


def _extract(archive: Path, kind: str, target: Path, digest: str, label: str, log) -> None:
    marker = target / EXTRACT_MARKER
    if marker.is_file():
        try:
            if json.loads(marker.read_text(encoding="utf-8")).get("sha256") == digest:
                log(f"[{label}] already extracted in {target}")
                return
        except (OSError, ValueError):
            pass
    tmp = target.parent / f".{target.name}.extracting"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    log(f"[{label}] extracting {archive.name} into {target}")
    try:
        if kind in ("tar.gz", "tgz", "tar"):
            with tarfile.open(archive, "r:*") as tf:
                if hasattr(tarfile, "data_filter"):
                    tf.extractall(tmp, filter="data")
                else:  # Python < 3.11.4: refuse unsafe names ourselves
                    for m in tf.getmembers():
                        p = Path(m.name)
                        if p.is_absolute() or ".." in p.parts or m.issym() or m.islnk() or m.isdev():
                            raise ArchiveContentError(f"unsafe member {m.name!r} in {archive}")
                    tf.extractall(tmp)
        elif kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp)
        else:
            raise DownloadError(f"unknown archive kind {kind!r} for {archive}")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, ArchiveContentError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ArchiveContentError(f"extraction of {archive} failed: {e}") from e
    except OSError as e:  # the disk (full, permissions): the archive stays trusted
        shutil.rmtree(tmp, ignore_errors=True)
        raise DownloadError(f"extraction of {archive} failed: {e}") from e
    target.mkdir(parents=True, exist_ok=True)
    for child in tmp.iterdir():
        dest = target / child.name
        if dest.exists():
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            else:
                dest.unlink()
        os.replace(child, dest)
    tmp.rmdir()
    _write_atomic(marker, json.dumps({"archive": archive.name, "sha256": digest}))


# --------------------------------------------------------------------------- one file


def _move_aside(path: Path, final: Path) -> Path:
    aside = final.with_name(f"{final.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while aside.exists():
        n += 1
        aside = final.with_name(f"{final.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
    os.replace(path, aside)
    return aside


class Runner:
    def __init__(self, data_dir: Path, timeout: float, extract: bool, dry_run: bool, out=None):
        self.data_dir = data_dir
        self.timeout = timeout
        self.extract = extract
        self.dry_run = dry_run
        self.out = out or sys.stdout
        self.records = None if dry_run else Records(data_dir)
        self._probed: set[str] = set()

    def log(self, msg: str) -> None:
        print(msg, file=self.out, flush=True)

    def _probe_once(self, url: str) -> None:
        p = urllib.parse.urlparse(url)
        key = f"{p.scheme}://{p.netloc}" if p.scheme != "file" else url
        if key not in self._probed:
            probe(url, self.timeout)
            self._probed.add(key)

    def _verify(
        self, path: Path, rel: str, expected: str | None, size: int | None, archive: str | None, stamped: bool
    ) -> str:
        """Digest of a good file; raises `DownloadError` otherwise. ``stamped``: the file is at its
        final path, so an unchanged (size, mtime) stamp may stand in for re-hashing it."""
        if size is not None and path.stat().st_size != size:
            raise DownloadError(f"size mismatch for {path}: {path.stat().st_size} bytes, expected {size}")
        assert self.records is not None
        known = self.records.stamped_digest(rel, path) if stamped else None
        digest = known or sha256_file(path)
        if expected and digest != expected.lower():
            raise DownloadError(f"sha256 mismatch for {path}: got {digest}, expected {expected.lower()}")
        if archive and known is None:  # a sum says nothing about unsafe members or a cut plain tar
            check_archive(path, archive)
        return digest

    def file_item(self, item: Item, manual: bool = False) -> bool:
        """Fetch (unless ``manual``: the user placed it), verify, record and extract one file.

        A file that fails is moved aside to ``<dest>.corrupt-<time>`` and fetched again, except a
        manual one, which is left where the user put it (the error says what to do). A sum we did
        not know is recorded only once the file is verified and, for an archive, extracted."""
        final = self.data_dir / item.dest
        part = final.with_name(final.name + ".part")
        if self.dry_run:
            check = f"sha256 {item.sha256}" if item.sha256 else "sha256 recorded on first download"
            self.log(f"[{item.name}] would fetch {item.url}\n    -> {final}  ({check})")
            if item.archive and item.extract_to:
                target = self.data_dir / item.extract_to
                self.log(f"    then test and extract the {item.archive} archive into {target}")
            return True
        assert self.records is not None
        rel = item.dest
        expected = item.sha256 or self.records.sums.get(rel)
        marker = (
            self.data_dir / item.extract_to / EXTRACT_MARKER if item.archive and item.extract_to else None
        )
        if marker is not None and not final.exists() and marker.is_file():
            self.log(
                f"[{item.name}] already extracted in {marker.parent} (archive deleted; not fetched again)"
            )
            return True
        if item.parts and not final.exists():
            self._join(item, final, part, rel, expected)
        digest: str | None = None
        if final.exists():
            try:
                digest = self._verify(final, rel, expected, item.size, item.archive, stamped=True)
                self.log(f"[{item.name}] present and verified: {final}")
            except DownloadError as e:
                if isinstance(e, ArchiveContentError) and not item.sha256:
                    self.records.unrecord(rel)  # our own record of an archive that is not good
                if manual:
                    raise DownloadError(f"{e}\n    the file you placed was left as it is: replace it with "
                                        f"a good copy ({item.instructions or 'see the manifest'})") from e
                aside = _move_aside(final, final)
                self.records.forget(rel)
                self.log(f"[{item.name}] ERROR {e}\n    moved aside to {aside}; fetching again")
        if digest is None:
            if not item.url:
                raise DownloadError(f"{final} is missing and the manifest has no URL for it")
            self._probe_once(item.url)
            self.log(f"[{item.name}] fetching {item.url}\n    -> {part}")
            _fetch(item.url, part, self.timeout, item.name, self.log)
            try:
                digest = self._verify(part, rel, expected, item.size, item.archive, stamped=False)
            except DownloadError as e:
                aside = _move_aside(part, final)
                raise DownloadError(f"{e}\n    the download was moved aside to {aside} and not used") from e
            os.replace(part, final)
            self.log(f"[{item.name}] saved {final}")
        self.records.stamp(rel, final, digest)
        if self.extract and item.archive and item.extract_to:
            try:
                _extract(final, item.archive, self.data_dir / item.extract_to, digest, item.name, self.log)
            except ArchiveContentError as e:  # the archive's fault (not the disk's): never trusted
                self.records.forget(rel)
                if not item.sha256:
                    self.records.unrecord(rel)
                if manual:
                    raise
                aside = _move_aside(final, final)
                raise DownloadError(f"{e}\n    the archive was moved aside to {aside} and its sum not kept") from e
        if not expected:
            self.records.record(rel, digest)
            where = self.records.checksums_path
            self.log(f"[{item.name}] no published checksum: recorded sha256 {digest} in {where}")
        return True

    def _join(self, item: Item, final: Path, part: Path, rel: str, expected: str | None) -> None:
        """Concatenate a split archive's parts (``cat a.z01 a.z02 a.z03 > a.zip``, as its publisher
        says) into ``final``; the parts are kept (delete them yourself once it is extracted)."""
        paths = [self.data_dir / p for p in item.parts]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise DownloadError(f"{final} is made by joining {len(paths)} parts; missing {missing[0]}"
                                f"{f' ({item.instructions})' if item.instructions else ''}")
        self.log(f"[{item.name}] joining {len(paths)} parts into {final}")
        final.parent.mkdir(parents=True, exist_ok=True)
        with open(part, "wb") as out:
            for p in paths:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out, _CHUNK)
        try:
            self._verify(part, rel, expected, item.size, item.archive, stamped=False)
        except DownloadError as e:
            part.unlink()
            raise DownloadError(f"{e}\n    the joined file was not kept; check the parts "
                                f"({', '.join(p.name for p in paths)})") from e
        os.replace(part, final)

    def manual_item(self, item: Item) -> bool:
        ok = True
        for f in item.files:
            final = self.data_dir / f["dest"]
            if self.dry_run:
                self.log(f"[{item.name}] manual: expects {final} (sha256 {f.get('sha256')})")
                continue
            if not final.exists() and not f.get("parts"):
                if f.get("optional"):
                    self.log(f"[{item.name}] optional {final} not present (skipped)")
                    continue
                self.log(f"[{item.name}] missing {final}: download it by hand from {item.instructions}")
                ok = False
                continue
            sub = Item(
                name=item.name,
                group=item.group,
                dest=f["dest"],
                sha256=f.get("sha256"),
                archive=f.get("archive"),
                extract_to=f.get("extract_to"),
                instructions=item.instructions,
                parts=tuple(f.get("parts") or ()),
            )
            try:
                self.file_item(sub, manual=True)
            except DownloadError as e:
                self.log(f"[{item.name}] ERROR {e}")
                ok = False
        if self.dry_run:
            self.log(f"    ({item.instructions})")
        return ok

    def model_item(self, item: Item) -> bool:
        """A Hugging Face snapshot: a model, or with ``"hf_repo_type": "dataset"`` a dataset repo
        (gated ones need their terms accepted on the hub and ``HF_TOKEN`` / ``hf auth login``)."""
        final = self.data_dir / item.dest
        repo_type = item.extra.get("hf_repo_type", "model")
        type_arg = [] if repo_type == "model" else ["--repo-type", repo_type]
        if self.dry_run:
            self.log(f"[{item.name}] would run: hf download {item.hf_repo} {' '.join(type_arg + [''])}"
                     f"--local-dir {final}")
            return True
        self._probe_once("https://huggingface.co/")
        self.log(f"[{item.name}] snapshot {item.hf_repo} -> {final}")
        try:
            from huggingface_hub import snapshot_download
        except ImportError:
            import subprocess

            cli = shutil.which("hf") or shutil.which("huggingface-cli")
            if cli is None:
                raise DownloadError("neither huggingface_hub nor the hf CLI is installed") from None
            rc = subprocess.call([cli, "download", item.hf_repo, *type_arg, "--local-dir", str(final)])
            if rc != 0:
                raise DownloadError(f"{cli} download {item.hf_repo} failed with status {rc}") from None
            return True
        try:
            snapshot_download(repo_id=item.hf_repo, repo_type=repo_type, local_dir=str(final))
        except Exception as e:  # the hub raises many types; report them uniformly
            raise DownloadError(f"snapshot of {item.hf_repo} failed: {e}") from e
        return True

    def run(self, items: Sequence[Item]) -> int:
        failed = []
        for item in items:
            try:
                if item.manual:
                    ok = self.manual_item(item)
                elif item.hf_repo:
                    ok = self.model_item(item)
                else:
                    ok = self.file_item(item)
            except OfflineError as e:
                self.log(f"[{item.name}] OFFLINE: {e}")
                return EXIT_OFFLINE
            except DownloadError as e:
                self.log(f"[{item.name}] ERROR {e}")
                ok = False
            if not ok:
                failed.append(item.name)
        if failed:
            self.log(f"failed: {', '.join(failed)}")
            return EXIT_FAILED
        if not self.dry_run:
            self.log(f"done: {len(items)} item(s) in {self.data_dir}")
        return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="data_download.sh",
        description="Fetch RefAVS, ReVOS and SAM 2.1 checkpoints (and with --with-models the Qwen2.5-Omni / "
        "Omni-R1 snapshots) into DATA_DIR, verified and resumable.",
    )
    p.add_argument("--data-dir", type=Path, default=None, help="target folder (default: $DATA_DIR or ./data)")
    p.add_argument(
        "--only", action="append", metavar="NAME", help="item or group to fetch (repeatable); see --list"
    )
    p.add_argument("--with-models", action="store_true", help="also fetch the model snapshots (many GB)")
    p.add_argument("--dry-run", action="store_true", help="print what would be fetched and where; no network")
    p.add_argument("--list", action="store_true", help="list the manifest and exit")
    p.add_argument("--no-extract", action="store_true", help="verify archives but do not unpack them")
    p.add_argument(
        "--timeout", type=float, default=10.0, help="connect timeout in seconds for the probe (default 10)"
    )
    p.add_argument("--manifest", type=Path, default=None, help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None, out=None) -> int:
    """Command-line entry point; returns the exit status (see the module docstring)."""
    out = out or sys.stdout
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:
        return EXIT_USAGE if e.code not in (0, None) else EXIT_OK
    try:
        items = load_manifest(args.manifest)
    except (OSError, ValueError, KeyError) as e:
        print(f"cannot read the manifest: {e}", file=out)
        return EXIT_USAGE
    if args.list:
        print(f"{'NAME':<24} {'GROUP':<13} {'SIZE':<10} {'LANDS IN (under DATA_DIR)':<40} SOURCE", file=out)
        for i in items:
            size = (f"{i.size / 1e9:.1f} GB" if i.size else i.extra.get("approx_size", "").split(" (")[0]) or "?"
            if i.manual:
                dest = ", ".join(sorted({f["dest"].split("/")[0] + "/" for f in i.files}))
                where = f"by hand, then --only {i.name} verifies it (see --dry-run --only {i.name})"
            else:
                dest, where = i.dest, i.hf_repo or i.url
            print(f"{i.name:<24} {i.group:<13} {size:<10} {dest:<40} {where}", file=out)
        print("\n--only NAME (or GROUP) fetches one; models come with --with-models; qa-benchmarks only when "
              "named; '?' = size not published.", file=out)
        return EXIT_OK
    try:
        chosen = select_items(items, args.only, args.with_models)
    except ValueError as e:
        print(str(e), file=out)
        return EXIT_USAGE
    data_dir = args.data_dir or default_data_dir()
    if args.dry_run:
        print(f"dry run: DATA_DIR={data_dir.resolve()}", file=out)
    runner = Runner(data_dir, args.timeout, extract=not args.no_extract, dry_run=args.dry_run, out=out)
    return runner.run(chosen)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # e.g. `data_download.sh --list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_OK)
