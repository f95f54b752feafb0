"""Input checks shared by the metric functions: shapes, dtypes, binary values, NaN.

Masks are ``[T, H, W]`` stacks (a single ``[H, W]`` frame is promoted to ``T = 1``). Binary masks
may be ``bool``, or integer / float arrays holding only 0 and 1; anything else is refused with a
`ValueError` that says how to convert it (``mask > 0`` for 0/255 PNGs, ``prob > 0.5`` for
probabilities).

>>> import numpy as np
>>> as_binary(np.array([[0, 1], [1, 0]], np.uint8), "pred").shape
(1, 2, 2)
>>> as_binary(np.array([[0, 255]], np.uint8), "pred")
Traceback (most recent call last):
...
ValueError: pred must be binary (bool, or 0/1 values); found values in [0, 255]. Threshold it first, e.g. `pred > 0` for 0/255 PNG masks or `pred > 0.5` for probabilities.
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_binary", "as_probability", "as_stack", "binary_error", "check_same_shape", "probability_error"]


def as_stack(x, name: str) -> np.ndarray:
    """``x`` as an ndarray of shape ``[T, H, W]`` (``[H, W]`` becomes ``[1, H, W]``)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # a torch tensor, possibly on a GPU
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim != 3:
        raise ValueError(f"{name} must have shape [T, H, W] or [H, W]; got shape {tuple(arr.shape)}")
    if 0 in arr.shape:
        raise ValueError(f"{name} has no pixels or no frames: shape {tuple(arr.shape)}")
    if arr.dtype != bool and not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise ValueError(f"{name} must be a bool, integer or float array; got dtype {arr.dtype}")
    return arr


def _value_range(arr: np.ndarray, name: str) -> tuple:
    lo, hi = arr.min(), arr.max()
    if np.issubdtype(arr.dtype, np.floating) and (np.isnan(lo) or np.isnan(hi)):
        raise ValueError(f"{name} contains NaN")
    return lo, hi


def binary_error(name: str, lo, hi) -> str:
    return (
        f"{name} must be binary (bool, or 0/1 values); found values in [{lo}, {hi}]. Threshold it "
        f"first, e.g. `{name} > 0` for 0/255 PNG masks or `{name} > 0.5` for probabilities."
    )


def probability_error(name: str, lo, hi) -> str:
    return (
        f"{name} must hold probabilities in [0, 1] (or a binary mask); found values in [{lo}, {hi}]. "
        f"Apply a sigmoid to logits first; use `{name} > 0` for 0/255 PNG masks."
    )


def as_binary(x, name: str) -> np.ndarray:
    """``x`` as ``bool[T, H, W]``; raises `ValueError` unless every value is 0 or 1 (or bool)."""
    arr = as_stack(x, name)
    if arr.dtype == bool:
        return arr
    lo, hi = _value_range(arr, name)
    binary = lo >= 0 and hi <= 1
    if binary and np.issubdtype(arr.dtype, np.floating):
        binary = bool(np.all((arr == 0) | (arr == 1)))
    if not binary:
        raise ValueError(binary_error(name, lo, hi))
    return arr != 0


def as_probability(x, name: str) -> tuple[np.ndarray, bool]:
    """``(arr, is_binary)``: a binary input as ``bool[T, H, W]`` (``is_binary=True``), or foreground
    probabilities in ``[0, 1]`` as ``float32[T, H, W]``. Raises `ValueError` on NaN or values
    outside ``[0, 1]``."""
    arr = as_stack(x, name)
    if arr.dtype == bool:
        return arr, True
    lo, hi = _value_range(arr, name)
    if lo < 0 or hi > 1:
        raise ValueError(probability_error(name, lo, hi))
    if np.issubdtype(arr.dtype, np.integer):
        return arr != 0, True
    return arr.astype(np.float32, copy=False), False


def check_same_shape(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    """Raise `ValueError` when two ``[T, H, W]`` stacks differ in shape."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same [T, H, W] shape; got {tuple(a.shape)} and {tuple(b.shape)}"
        )
