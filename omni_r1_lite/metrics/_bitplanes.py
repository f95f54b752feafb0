"""Row-packed bit planes: the DAVIS counts of a frame pair, 64 pixels to a machine word.

A crop of ``hc x wc`` pixels is stored as ``hc + 2 * reach`` rows of ``nw`` ``uint64`` words; bit
``j`` of word ``k`` of a row is column ``64 * (k - m) + j`` (little-endian bit order, as
``np.packbits(..., bitorder="little")`` writes it), with ``m = max(1, ceil(reach / 64))`` zero words
on either side of the columns and ``reach`` zero rows above and below. Any translation by up to
``reach`` pixels therefore lands in zeros instead of wrapping onto another row's pixels. The
prediction's plane and the ground truth's sit one after the other in one array, so every numpy call
below works on both.

- *moving* a plane by ``d`` columns (``Y[x] = X[x + d]``) is two shifts and an OR per word; by ``dy``
  rows, an offset of ``dy * nw`` words.
- DAVIS ``seg2bmap`` (see `omni_r1_lite.metrics._boundary`): ``M xor (M moved by 1)`` kept on columns
  ``0 .. wc - 2``, OR'ed with the same of the row below and with ``M xor (the row below)`` on every
  row but the last.
- the *dilation* by the footprint's rows ``(dy, lo, hi)``: a boundary pixel ``(y, x)`` is matched when
  the other plane has a pixel at ``(y + dy, x + e)``, ``lo <= e <= hi``, for some row. One-sided runs
  ``F_L = OR_{e < L} (B moved by e)`` are built by doubling (``F_{L+k} = F_L | (F_L moved by k)``,
  ``k <= L``), each row's run is ``F_{hi - lo + 1}`` moved by ``lo``, and rows are offsets: ~95 word-wide
  operations for the 25 x 25 disk of 720p, whatever the number of boundary pixels.
- counts are popcounts (``np.bitwise_count``; a byte table on numpy < 2).

The integers equal those of the dense ``cv2.dilate`` computation exactly (tests compare with
``tests/reference_metrics.py``, the DAVIS code, and the torch backend's conv2d).
"""

from __future__ import annotations

import numpy as np

from omni_r1_lite.metrics._boundary import disk_geometry

__all__ = ["PairPlanes", "popcount"]

_U64 = np.uint64
_POP8 = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def popcount(words: np.ndarray) -> int:
    """Set bits in a ``uint64`` array."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return int(np.bitwise_count(words).sum(dtype=np.int64))
    return int(_POP8[words.view(np.uint8)].sum(dtype=np.int64))


def _moved(out: np.ndarray, x: np.ndarray, d: int, tmp: np.ndarray) -> np.ndarray:
    """``out = x moved by d columns``: ``Y[p] = X[p + d]`` on the flat bit string, zeros coming in."""
    n = x.size
    if d == 0:
        np.copyto(out, x)
        return out
    q, s = divmod(abs(d), 64)
    if q >= n:
        out.fill(0)
        return out
    if d > 0:  # Y[k] = (X[k + q] >> s) | (X[k + q + 1] << (64 - s))
        m = n - q
        np.right_shift(x[q:], _U64(s), out=out[:m])
        if s and m > 1:
            np.left_shift(x[q + 1 :], _U64(64 - s), out=tmp[: m - 1])
            np.bitwise_or(out[: m - 1], tmp[: m - 1], out=out[: m - 1])
        out[m:] = 0
    else:  # Y[k] = (X[k - q] << s) | (X[k - q - 1] >> (64 - s))
        m = n - q
        np.left_shift(x[:m], _U64(s), out=out[q:])
        if s and m > 1:
            np.right_shift(x[: m - 1], _U64(64 - s), out=tmp[: m - 1])
            np.bitwise_or(out[q + 1 :], tmp[: m - 1], out=out[q + 1 :])
        out[:q] = 0
    return out


def _run_plan(rows) -> tuple[list[int], dict[int, list[tuple[int, list[int]]]]]:
    """Lengths of the one-sided runs to build, in order (each at most twice the previous: one
    doubling step), and per run length the footprint's column runs ``(lo, [dy, ...])``."""
    groups: dict[tuple[int, int], list[int]] = {}
    for dy, lo, hi in rows:
        groups.setdefault((lo, hi), []).append(dy)
    by_length: dict[int, list[tuple[int, list[int]]]] = {}
    for (lo, hi), dys in groups.items():
        by_length.setdefault(hi - lo + 1, []).append((lo, dys))
    lengths, have = [], 1
    for need in sorted(by_length):
        while have < need:
            have = min(need, 2 * have)
            lengths.append(have)
    return lengths, by_length


class PairPlanes:
    """Scratch planes for frame pairs up to ``height x width`` and the footprint of ``radius``.

    `frame` returns ``(pred, gt, inter, b_pred, b_gt, b_pred_hit, b_gt_hit)`` for two equal-shape
    crops (``bool[hc, wc]``) that hold every foreground and boundary pixel of the frames (see
    `omni_r1_lite.metrics._boundary.union_window`)."""

    def __init__(self, height: int, width: int, radius: float):
        geo = disk_geometry(radius)
        self.reach = geo.reach
        self.margin = max(1, -(-self.reach // 64))
        self.lengths, self.by_length = _run_plan(geo.rows)
        rows, nw = self._layout(height, width)
        n = 2 * rows * nw
        self._bytes = np.zeros(n * 8, np.uint8)
        self._buf = {k: np.empty(n, _U64) for k in ("tmp", "hz", "b", "d", "f0", "f1", "run")}
        self._cols: dict[tuple[int, int], np.ndarray] = {}

    def _layout(self, hc: int, wc: int) -> tuple[int, int]:
        return hc + 2 * self.reach, 2 * self.margin + -(-wc // 64)

    def _col_mask(self, wc: int, nw: int) -> np.ndarray:
        """One row's words with the bits of columns ``0 .. wc - 2`` set (a right neighbour inside)."""
        if (wc, nw) not in self._cols:
            bits = np.zeros(nw * 64, bool)
            bits[64 * self.margin : 64 * self.margin + wc - 1] = True
            self._cols[(wc, nw)] = np.packbits(bits, bitorder="little").view(_U64)
        return self._cols[(wc, nw)]

    def _load(self, pc: np.ndarray, gc: np.ndarray) -> tuple[np.ndarray, int, int, int, int]:
        """Both crops packed into one zero-margined array: ``(words, hc, wc, rows, nw)``."""
        hc, wc = pc.shape
        rows, nw = self._layout(hc, wc)
        planes = self._bytes[: 2 * rows * nw * 8].reshape(2, rows, nw * 8)
        planes.fill(0)
        c0, c1 = 8 * self.margin, 8 * self.margin + -(-wc // 8)
        planes[0, self.reach : self.reach + hc, c0:c1] = np.packbits(pc, axis=1, bitorder="little")
        planes[1, self.reach : self.reach + hc, c0:c1] = np.packbits(gc, axis=1, bitorder="little")
        return planes.reshape(-1).view(_U64), hc, wc, rows, nw

    def _boundaries(self, m: np.ndarray, hc: int, wc: int, rows: int, nw: int) -> np.ndarray:
        """DAVIS ``seg2bmap`` of both planes."""
        n = m.size
        tmp, hz, out = self._buf["tmp"][:n], self._buf["hz"][:n], self._buf["b"][:n]
        _moved(hz, m, 1, tmp)  # the right neighbour
        np.bitwise_xor(hz, m, out=hz)
        hz.reshape(-1, nw)[...] &= self._col_mask(wc, nw)
        np.copyto(out, hz)
        o2, h2, m2, t2 = (a.reshape(2, rows * nw) for a in (out, hz, m, tmp))
        r0, r1 = self.reach * nw, (self.reach + hc - 1) * nw  # every real row but the last
        if r1 > r0:
            np.bitwise_or(o2[:, r0:r1], h2[:, r0 + nw : r1 + nw], out=o2[:, r0:r1])
            np.bitwise_xor(m2[:, r0:r1], m2[:, r0 + nw : r1 + nw], out=t2[:, : r1 - r0])
            np.bitwise_or(o2[:, r0:r1], t2[:, : r1 - r0], out=o2[:, r0:r1])
        return out

    def _dilate(self, b: np.ndarray, nw: int) -> np.ndarray:
        """Both planes dilated by the footprint (the prediction's first, then the ground truth's)."""
        n = b.size
        tmp, d = self._buf["tmp"][:n], self._buf["d"][:n]
        d.fill(0)
        src, have = b, 1
        for lo, dys in self.by_length.get(1, ()):
            self._add_rows(d, b, lo, dys, nw)
        for i, length in enumerate(self.lengths):  # F_L by doubling, each from the previous one
            f = _moved((self._buf["f0"], self._buf["f1"])[i % 2][:n], src, length - have, tmp)
            np.bitwise_or(f, src, out=f)
            src, have = f, length
            for lo, dys in self.by_length.get(length, ()):
                self._add_rows(d, f, lo, dys, nw)
        return d

    def _add_rows(self, d: np.ndarray, f: np.ndarray, lo: int, dys, nw: int) -> None:
        """``d[y] |= (f moved by lo columns)[y + dy]`` for each ``dy``."""
        n = f.size
        if lo:
            f = _moved(self._buf["run"][:n], f, lo, self._buf["tmp"][:n])
        for dy in dys:
            o = dy * nw
            if o >= 0:
                np.bitwise_or(d[: n - o], f[o:], out=d[: n - o])
            else:
                np.bitwise_or(d[-o:], f[: n + o], out=d[-o:])

    def _match(self, b: np.ndarray, nw: int) -> tuple[int, int]:
        """Boundary pixels of each plane with a pixel of the other's boundary inside the footprint."""
        half = b.size // 2
        d = self._dilate(b, nw)
        tmp = self._buf["tmp"][:half]
        np.bitwise_and(b[:half], d[half:], out=tmp)
        pred_hit = popcount(tmp)
        np.bitwise_and(b[half:], d[:half], out=tmp)
        return pred_hit, popcount(tmp)

    def frame(self, pc: np.ndarray, gc: np.ndarray) -> tuple[int, ...]:
        words, hc, wc, rows, nw = self._load(pc, gc)
        half = words.size // 2
        tmp = self._buf["tmp"][:half]
        np.bitwise_and(words[:half], words[half:], out=tmp)
        pixels = (popcount(words[:half]), popcount(words[half:]), popcount(tmp))
        b = self._boundaries(words, hc, wc, rows, nw)
        counts = (popcount(b[:half]), popcount(b[half:]))
        return pixels + counts + self._match(b, nw)
