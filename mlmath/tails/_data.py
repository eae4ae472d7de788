"""Input checks shared by the tail estimators, and the empirical survival function."""

from __future__ import annotations

import numpy as np

from .._validate import as_float_array, check_ndim, positive_int


def _positive_data(x, name: str = "x", minimum: int = 2, *, batch: bool = False) -> np.ndarray:
    """Positive, finite observations: shape ``(n,)``, or ``(S, n)`` (``S`` samples) if ``batch``.

    ``minimum`` counts observations per sample. A 2-D array is never flattened: several
    seeds' time scales are not one population unless the caller pools them.
    """
    x = as_float_array(name, x)
    if batch:
        check_ndim(name, x, (1, 2), "1-D, shape (n,), or 2-D, shape (samples, n)")
    else:
        check_ndim(
            name,
            x,
            (1,),
            "1-D, shape (n,) (pool several samples explicitly, e.g. with "
            "numpy.ravel, or call once per sample)",
        )
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite")
    if (x <= 0).any():
        raise ValueError(f"{name} must be > 0 (positive data: time scales or absolute increments)")
    if x.shape[-1] < minimum:
        raise ValueError(f"{name} must hold at least {minimum} observations; got {x.shape[-1]}")
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
    x : array_like, shape (n,) or (S, n)
        Positive observations. A 2-D array holds ``S`` samples (for instance one row of time
        scales per seed), each treated on its own: never pooled. Any other shape raises
        ``ValueError``.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Sorted data and ``P̂(X ≥ x)``, both of the shape of ``x`` (each row sorted).

    Chapter 3, "Estimating β".
    """
    x = np.sort(_positive_data(x, minimum=1, batch=True), axis=-1)
    n = x.shape[-1]
    return x, np.broadcast_to((n - np.arange(n)) / n, x.shape).copy()
