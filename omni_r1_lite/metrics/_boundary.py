"""DAVIS boundary definitions: ``seg2bmap`` boundaries, the dilation disk, the crop that holds them.

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

The counts themselves are computed on row-packed bit planes (`omni_r1_lite.metrics._bitplanes`);
this module holds the definitions, the dense reference `boundary_map` and the crop.

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

__all__ = ["DiskGeometry", "boundary_map", "boundary_radius", "disk_geometry", "union_window"]


def boundary_radius(bound_th: float, height: int, width: int) -> float:
    """The DAVIS dilation radius: ``ceil(bound_th * ||(H, W)||)`` for ``bound_th < 1``, else ``bound_th``."""
    if not np.isfinite(bound_th) or bound_th < 0:
        raise ValueError(f"bound_th must be a finite number >= 0; got {bound_th}")
    if bound_th >= 1:
        return float(bound_th)
    return float(np.ceil(bound_th * np.linalg.norm((height, width))))


class DiskGeometry(NamedTuple):
    """The footprint as rows ``(dy, lo, hi)``: offsets ``(dy, dx)`` with ``lo <= dx <= hi``;
    ``reach`` bounds every ``|dy|`` and ``|dx|``."""

    rows: tuple[tuple[int, int, int], ...]
    reach: int


@functools.lru_cache(maxsize=64)
def disk_geometry(radius: float) -> DiskGeometry:
    """Offsets of scikit-image's ``disk(radius)`` as placed by ``cv2.dilate`` (anchor ``K // 2``).

    >>> g = disk_geometry(2.0)
    >>> g.rows
    ((0, -2, 2), (-1, -1, 1), (1, -1, 1), (-2, 0, 0), (2, 0, 0))
    >>> g.reach
    2
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
    rows.sort(key=lambda r: (abs(r[0]), r[0]))
    reach = max(max(abs(dy), abs(lo), abs(hi)) for dy, lo, hi in rows)
    return DiskGeometry(tuple(rows), reach)


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
