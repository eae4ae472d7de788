"""Input checks shared by the tail estimators, and the empirical survival function."""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, positive_int


def _positive_data(x, name: str = "x", minimum: int = 2) -> np.ndarray:
    x = as_float_array(name, x).ravel()
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite")
    if (x <= 0).any():
        raise ValueError(f"{name} must be > 0 (positive data: time scales or absolute increments)")
    if x.size < minimum:
        raise ValueError(f"{name} must hold at least {minimum} observations; got {x.size}")
    return x


def _k(k, n: int) -> int:
    k = positive_int("k", k)
    if k > n - 1:
        raise ValueError(f"k must lie in [1, n-1] = [1, {n - 1}] for n = {n} observations; got {k}")
    return k


def empirical_ccdf(x) -> tuple[np.ndarray, np.ndarray]:
    """Empirical survival function at the sorted data: ``(x_(i), P̂(X ≥ x_(i)))``.

    With ``x_(1) ≤ … ≤ x_(n)`` the returned probabilities are ``(n − i + 1)/n``, so the
    smallest point has probability 1 and the largest ``1/n`` (none is 0, so both can go on
    log axes).

    Parameters
    ----------
    x : array_like
        Positive observations.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Sorted data and ``P̂(X ≥ x)``.

    Chapter 3, "Estimating β".
    """
    x = np.sort(_positive_data(x, minimum=1))
    n = x.size
    return x, (n - np.arange(n)) / n

