"""Input validation shared by every `mlmath` module.

Each check raises ``ValueError`` (or ``TypeError``) with a message that names the
argument and the accepted range, so that a reader who passes a bad value learns at once
what went wrong instead of receiving NaN.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def as_float_array(name: str, value, *, allow_empty: bool = False) -> np.ndarray:
    """Return ``value`` as a float array, rejecting NaN, non-numeric and (by
    default) empty input."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be numeric (array-like of numbers); got {value!r}") from error
    if array.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if np.isnan(array).any():
        raise ValueError(f"{name} must not contain NaN")
    return array


def real_scalar(name: str, value) -> float:
    """Return ``value`` as a Python float; it must be a finite real number (not bool)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    return value


def check_range(
    name: str,
    value: float,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Check ``low (<|<=) value (<|<=) high`` and return ``value`` as a float."""
    value = real_scalar(name, value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ValueError(f"{name} must lie in {left}{low}, {high}{right}; got {value}")
    return value


def positive(name: str, value) -> float:
    """A finite real number > 0."""
    return check_range(name, value, 0.0, math.inf, low_open=True, high_open=True)


def positive_int(name: str, value, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}")
    return int(value)


def lags_array(lags) -> np.ndarray:
    """Lags ``ℓ``: finite, non-negative numbers (integers in the book, reals allowed)."""
    lags = as_float_array("lags", lags)
    if not np.isfinite(lags).all() or (lags < 0).any():
        raise ValueError("lags must be finite and >= 0 (steps)")
    return lags


def rng_from(seed) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a seed, a generator, or ``None``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (
        isinstance(seed, (numbers.Integral, np.integer))
        and not isinstance(seed, bool)
        and seed >= 0
    ):
        return np.random.default_rng(seed)
    raise TypeError(
        f"seed/rng must be None, a non-negative int or a numpy.random.Generator; got {seed!r}"
    )


def check_ndim(name: str, array: np.ndarray, ndims, accepted: str) -> np.ndarray:
    """Require ``array.ndim`` in ``ndims``; the message names ``name``, the accepted shapes
    (``accepted``, e.g. ``"1-D, shape (n,)"``) and the shape received."""
    if array.ndim not in tuple(ndims):
        raise ValueError(f"{name} must be {accepted}; got shape {array.shape}")
    return array


def vector(name: str, value, *, allow_empty: bool = False) -> np.ndarray:
    """:func:`as_float_array`, then require a 1-D array, shape ``(n,)``."""
    return check_ndim(
        name, as_float_array(name, value, allow_empty=allow_empty), (1,), "1-D, shape (n,)"
    )


def same_shape(name: str, array: np.ndarray, other_name: str, other: np.ndarray) -> np.ndarray:
    """Require ``array.shape == other.shape``; the message names both arguments and shapes."""
    if array.shape != other.shape:
        raise ValueError(
            f"{name} must have the shape of {other_name} {other.shape}; got shape {array.shape}"
        )
    return array
