"""DAVIS boundary machinery: ``seg2bmap`` boundaries, the dilation disk, and exact sparse matching.

Definitions (``davisvideochallenge/davis2017-evaluation``, ``davis2017/metrics.py``, functions
``_seg2bmap`` and ``f_measure``; ``cilinyan/VISA`` ``tools/metrics.py`` uses the same):

- **boundary map** (``seg2bmap``): pixel ``(y, x)`` is a boundary pixel when the 2x2 block with
  top-left corner ``(y, x)`` is not constant. The block is clipped to the image: in the last row only
  the right neighbour is compared, in the last column only the lower one, and the bottom-right pixel
  is never a boundary pixel.
- **tolerance disk**: radius ``ceil(bound_th * ||(H, W)||)`` when ``bound_th < 1``, else ``bound_th``
  pixels; the footprint is scikit-image's ``disk(radius)`` (``x**2 + y**2 <= radius**2`` on
  ``arange(-radius, radius + 1)``) applied by ``cv2.dilate`` with its anchor at ``(K // 2, K // 2)``.
- a boundary pixel of one mask is **matched** when the other mask has a boundary pixel at one of the
  disk's offsets from it (that is ``boundary * dilate(other_boundary)``).

Instead of dilating whole frames, this module finds the matched pixels from the sparse boundary
coordinates. A grid of ``cell x cell`` pixel cells settles most pixels: a pixel is certainly matched
when a cell whose every pixel lies within the disk holds a boundary pixel of the other mask, and
certainly unmatched when no cell that meets the disk holds one. The rest are checked exactly, one
disk row at a time, by binary search in the other mask's sorted pixel keys. The counts equal the
dense ``cv2.dilate`` computation exactly.

>>> import numpy as np
>>> m = np.zeros((1, 4, 5), bool); m[0, 1:3, 1:4] = True
>>> boundary_map(m)[0].astype(int)
array([[1, 1, 1, 1, 0],
       [1, 0, 0, 1, 0],
       [1, 1, 1, 1, 0],
       [0, 0, 0, 0, 0]])
>>> boundary_radius(0.008, 720, 1280)
12.0
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

__all__ = [
    "DiskGeometry",
    "boundary_map",
    "boundary_radius",
    "disk_geometry",
    "frame_boundary_points",
    "match_counts",
    "union_window",
]


def boundary_radius(bound_th: float, height: int, width: int) -> float:
    """The DAVIS dilation radius: ``ceil(bound_th * ||(H, W)||)`` for ``bound_th < 1``, else ``bound_th``."""
    if not np.isfinite(bound_th) or bound_th < 0:
        raise ValueError(f"bound_th must be a finite number >= 0; got {bound_th}")
    if bound_th >= 1:
        return float(bound_th)
    return float(np.ceil(bound_th * np.linalg.norm((height, width))))


class DiskGeometry(NamedTuple):
    """The footprint as rows ``(dy, lo, hi)``: offsets ``(dy, dx)`` with ``lo <= dx <= hi``.

    ``reach`` bounds every ``|dy|`` and ``|dx|``. For the grid tests the frame is cut into square
    cells of ``cell`` pixels; ``sure_rows`` / ``maybe_rows`` list (in the same row format) the cell
    offsets whose every / some pixel offset lies in the footprint; ``pad`` bounds them."""

    rows: tuple[tuple[int, int, int], ...]
    reach: int
    cell: int
    sure_rows: tuple[tuple[int, int, int], ...]
    maybe_rows: tuple[tuple[int, int, int], ...]
    pad: int


@functools.lru_cache(maxsize=64)
def disk_geometry(radius: float) -> DiskGeometry:
    """Offsets of scikit-image's ``disk(radius)`` as placed by ``cv2.dilate`` (anchor ``K // 2``).

    >>> g = disk_geometry(2.0)
    >>> g.rows
    ((0, -2, 2), (-1, -1, 1), (1, -1, 1), (-2, 0, 0), (2, 0, 0))
    >>> g.reach, g.cell, set(g.sure_rows) == set(g.maybe_rows) == set(g.rows)
    (2, 1, True)
    """
    coords = np.arange(-radius, radius + 1)
    inside = coords[:, None] ** 2 + coords[None, :] ** 2 <= radius**2
    anchor = len(coords) // 2
    rows = []
    for i in range(len(coords)):
        cols = np.flatnonzero(inside[i])
        if cols.size:
            if cols[-1] - cols[0] + 1 != cols.size:  # a disk row is always one run
                raise ValueError(f"unsupported footprint for radius {radius}")
            rows.append((int(i - anchor), int(cols[0] - anchor), int(cols[-1] - anchor)))
    rows.sort(key=lambda r: (abs(r[0]), r[0]))  # widest rows first: most pixels match early
    reach = max(max(abs(dy), abs(lo), abs(hi)) for dy, lo, hi in rows)
    cell = max(1, round(reach / 3))
    sure, maybe = _cell_rows(rows, reach, cell, all), _cell_rows(rows, reach, cell, any)
    pad = max(max(abs(a), abs(lo), abs(hi)) for a, lo, hi in maybe)
    return DiskGeometry(tuple(rows), reach, cell, sure, maybe, pad)


def _cell_rows(rows, reach: int, cell: int, quantifier) -> tuple[tuple[int, int, int], ...]:
    """Cell offsets ``(a, b)`` for which ``quantifier`` (``all``/``any``) pixel offset between a pixel
    of cell ``(0, 0)`` and one of cell ``(a, b)`` lies in the footprint, as ``(a, lo, hi)`` rows."""
    fp = np.zeros((2 * reach + 1, 2 * reach + 1), bool)
    for dy, lo, hi in rows:
        fp[dy + reach, lo + reach : hi + reach + 1] = True
    span = reach // cell + 1
    padded = np.zeros((fp.shape[0] + 4 * cell, fp.shape[1] + 4 * cell), bool)
    padded[2 * cell : -2 * cell, 2 * cell : -2 * cell] = fp
    out = []
    for a in range(-span, span + 1):
        y0 = a * cell - (cell - 1) + reach + 2 * cell
        bs = []
        for b in range(-span, span + 1):
            x0 = b * cell - (cell - 1) + reach + 2 * cell
            if quantifier(padded[y0 : y0 + 2 * cell - 1, x0 : x0 + 2 * cell - 1].ravel().tolist()):
                bs.append(b)
        if bs:
            if bs[-1] - bs[0] + 1 != len(bs):
                raise ValueError("unsupported footprint: a row of cell offsets is not one run")
            out.append((a, bs[0], bs[-1]))
    return tuple(out)


def boundary_map(masks: np.ndarray) -> np.ndarray:
    """DAVIS ``seg2bmap`` boundaries of every frame: ``bool[T, H, W] -> bool[T, H, W]``."""
    m = np.asarray(masks, dtype=bool)
    if m.ndim != 3:
        raise ValueError(f"masks must have shape [T, H, W]; got {m.shape}")
    b = np.zeros_like(m)
    horiz = m[:, :, :-1] ^ m[:, :, 1:]
    b[:, :, :-1] = horiz
    b[:, :-1, :-1] |= horiz[:, 1:, :]
    b[:, :-1, :] |= m[:, :-1, :] ^ m[:, 1:, :]
    return b


def frame_boundary_points(frame: np.ndarray, buf: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """Flat indices (row-major, sorted) of the boundary pixels of one ``bool[h, w]`` frame.

    ``buf`` and ``tmp`` are scratch ``bool`` arrays of at least ``h * w`` elements."""
    h, w = frame.shape
    f = np.ascontiguousarray(frame).reshape(-1)
    n = f.size
    np.not_equal(f[:-1], f[1:], out=buf[: n - 1])  # right neighbour differs
    buf[n - 1] = False
    buf[w - 1 : n : w] = False  # the last column has no right neighbour
    if h > 1:
        np.bitwise_or(buf[: n - w], buf[w:n], out=buf[: n - w])  # the row below's horizontal change
        np.not_equal(f[:-w], f[w:], out=tmp[: n - w])  # lower neighbour differs
        np.bitwise_or(buf[: n - w], tmp[: n - w], out=buf[: n - w])
    return np.flatnonzero(buf[:n])


def _row_span(m: np.ndarray) -> tuple[int, int] | None:
    """First and last row of ``bool[H, W]`` holding a foreground pixel (``None``: empty frame).

    ``argmax`` stops at the first ``True``; the last row is searched in blocks from the bottom, so
    only the rows below the object and its last rows are read."""
    flat = m.reshape(-1)
    i = int(flat.argmax())
    if not flat[i]:
        return None
    first, y, block = i // m.shape[1], m.shape[0], 32
    while True:
        y0 = max(first, y - block)
        rows = np.flatnonzero(m[y0:y].any(axis=1))
        if rows.size:
            return first, y0 + int(rows[-1])
        y, block = y0, 2 * block


def union_window(a: np.ndarray, b: np.ndarray) -> tuple[slice, slice] | None:
    """Rows and columns of two ``bool[H, W]`` frames that hold every boundary pixel of both: the
    bounding box of their union grown by one pixel (clipped to the frame); ``None`` if both are empty.

    Outside the box both masks are background, so boundary maps computed on the box agree with the
    full-frame ones: the extra row above / column left catches boundary pixels just outside the
    objects, and the extra row below / column right is empty (or the frame's own last row / column)."""
    spans = [s for s in (_row_span(a), _row_span(b)) if s is not None]
    if not spans:
        return None
    h, w = a.shape
    y0, y1 = max(min(s[0] for s in spans) - 1, 0), min(max(s[1] for s in spans) + 2, h)
    cols = np.flatnonzero(a[y0:y1].any(axis=0) | b[y0:y1].any(axis=0))
    x0, x1 = max(int(cols[0]) - 1, 0), min(int(cols[-1]) + 2, w)
    return slice(y0, y1), slice(x0, x1)


class _Points(NamedTuple):
    t: np.ndarray
    y: np.ndarray
    x: np.ndarray
    key: np.ndarray


def _points(frames: np.ndarray, y: np.ndarray, x: np.ndarray, strides: tuple[int, int], dtype) -> _Points:
    key = frames.astype(dtype) * dtype(strides[0]) + y
    key *= dtype(strides[1])
    key += x
    return _Points(frames, y, x, key)


def _dilated_lookups(occ: np.ndarray, row_sets, pad: int, cells) -> list[np.ndarray]:
    """For each set of cell-offset rows, whether ``occ`` (zero-padded by ``pad``) is set at some
    offset from each queried cell, given as flat indices into the unpadded ``[k, ny, nx]`` grid
    (one flat gather is several times faster than a gather by three index arrays)."""
    k, ny, nx = occ.shape[0], occ.shape[1] - 2 * pad, occ.shape[2] - 2 * pad
    windows: dict[tuple[int, int], np.ndarray] = {}

    def window(lo: int, hi: int) -> np.ndarray:  # any over columns [x + lo, x + hi], all rows
        if (lo, hi) not in windows:
            if lo < hi and (lo + 1, hi - 1) in windows:
                win = windows[(lo + 1, hi - 1)] | occ[:, :, pad + lo : pad + lo + nx]
                win |= occ[:, :, pad + hi : pad + hi + nx]
            else:
                win = occ[:, :, pad + lo : pad + lo + nx].copy()
                for b in range(lo + 1, hi + 1):
                    win |= occ[:, :, pad + b : pad + b + nx]
            windows[(lo, hi)] = win
        return windows[(lo, hi)]

    out = []
    for rows in row_sets:
        for _, lo, hi in sorted(rows, key=lambda r: r[2] - r[1]):
            window(lo, hi)
        grown = np.zeros((k, ny, nx), bool)
        for a, lo, hi in rows:
            grown |= window(lo, hi)[:, pad + a : pad + a + ny]
        out.append(grown.reshape(-1)[cells])
    return out


def _grid_tests(q: _Points, r: _Points, geo: DiskGeometry, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """``(sure, maybe)`` per point of ``q``: certainly matched / possibly matched."""
    c, pad = geo.cell, geo.pad
    y0 = min(int(q.y.min()), int(r.y.min())) // c
    x0 = min(int(q.x.min()), int(r.x.min())) // c
    ny = max(int(q.y.max()), int(r.y.max())) // c - y0 + 1
    nx = max(int(q.x.max()), int(r.x.max())) // c - x0 + 1
    py, px = ny + 2 * pad, nx + 2 * pad
    occ = np.zeros((n_frames, py, px), bool)
    occ.reshape(-1)[(r.t * py + (r.y // c + (pad - y0))) * px + (r.x // c + (pad - x0))] = True
    cells = (q.t * ny + (q.y // c - y0)) * nx + (q.x // c - x0)
    sure, maybe = _dilated_lookups(occ, (geo.sure_rows, geo.maybe_rows), pad, cells)
    return sure, maybe


_SENTINEL = {np.int32: np.int32(2**30), np.int64: np.int64(2**62)}
"""A key beyond every real one (``searchsorted`` past the end), far from overflowing its type."""


def _hits(q: _Points, r: _Points, geo: DiskGeometry, n_frames: int, row_stride: int) -> np.ndarray:
    """Per-frame count of points of ``q`` with a point of ``r`` at one of the footprint's offsets."""
    if q.t.size == 0 or r.t.size == 0:
        return np.zeros(n_frames, np.int64)
    hit, maybe = _grid_tests(q, r, geo, n_frames)
    undecided = np.flatnonzero(maybe & ~hit)
    keys = q.key[undecided]  # unique and sorted, like q.key
    sentinel = np.append(r.key, _SENTINEL[r.key.dtype.type])
    for dy, lo, hi in geo.rows:
        if keys.size == 0:
            break
        start = keys + (dy * row_stride + lo)
        keys = keys[sentinel[np.searchsorted(r.key, start)] - start > hi - lo]  # still unmatched
    hit[undecided] = True
    hit[np.searchsorted(q.key, keys)] = False
    return np.bincount(q.t[hit], minlength=n_frames)


def match_counts(pred_pts, gt_pts, n_frames: int, shape: tuple[int, int], radius: float):
    """``(pred_hits, gt_hits)`` per frame for boundary points given as ``(frame_index, y, x)``
    (each frame's points in row-major order).

    ``pred_hits[t]``: boundary pixels of the prediction with a ground-truth boundary pixel inside the
    disk (DAVIS ``fg_match``); ``gt_hits[t]``: the converse (``gt_match``)."""
    geo = disk_geometry(radius)
    h, w = shape
    strides = (h + geo.reach + 1, w + geo.reach + 1)  # gaps wider than the disk: no wrap-around
    # sortable keys (frame, y, x) -> one integer; int32 while they, the disk's offsets from them and
    # the sentinel's distance to them fit (numpy's int32 arithmetic is faster than int64's)
    dtype = np.int32 if (n_frames + 1) * strides[0] * strides[1] < _SENTINEL[np.int32] else np.int64
    p = _points(*pred_pts, strides, dtype)
    g = _points(*gt_pts, strides, dtype)
    return _hits(p, g, geo, n_frames, strides[1]), _hits(g, p, geo, n_frames, strides[1])
