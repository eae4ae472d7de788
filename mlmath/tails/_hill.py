"""Hill and moment estimators of a tail exponent (Chapters 3 and 4)."""

from __future__ import annotations

import math

import numpy as np

from ._data import _k, _positive_data


def hill(x, k) -> float:
    """Hill's estimator of the tail exponent from the top ``k`` order statistics.

    With ``x_(1) ≥ x_(2) ≥ …`` in decreasing order,

    .. math::  \\hat\\gamma_k = \\frac1k \\sum_{i=1}^{k} \\ln x_{(i)} - \\ln x_{(k+1)},
               \\qquad \\hat\\beta = 1/\\hat\\gamma_k .

    Returns the **survival** exponent (``P(X > x) ~ C x^(−β)``). For exact Pareto data
    (Rényi's representation) ``k γ̂_k ~ Gamma(k, rate β)``, so ``1/β̂ ~ Gamma(k, rate kβ)``,
    ``E β̂ = kβ/(k−1)`` and ``sd β̂ = kβ/((k−1)√(k−2))``.

    Parameters
    ----------
    x : array_like, shape (n,)
        Positive, finite observations (time scales, or ``|increments|``).
    k : int
        Number of upper order statistics, ``1 ≤ k ≤ n − 1``.

    Returns
    -------
    float
        ``β̂`` (dimensionless).

    References
    ----------
    Hill (1975). Chapter 3 ("Estimating β") and Chapter 4 ("Estimating α").
    """
    x = _positive_data(x)
    k = _k(k, x.size)
    top = np.log(np.partition(x, x.size - k - 1)[x.size - k - 1 :])  # x_(k+1) and the top k
    threshold = top.min()
    gamma = (top.sum() - threshold) / k - threshold
    if gamma <= 0:
        raise ValueError(
            "the top k observations are all tied with x_(k+1): Hill's estimator is undefined"
        )
    return float(1.0 / gamma)


def hill_estimates(x, ks=None) -> tuple[np.ndarray, np.ndarray]:
    """Hill estimates for many ``k`` at once (the data of a Hill plot).

    Parameters
    ----------
    x : array_like, shape (n,)
        Positive, finite observations.
    ks : array_like of int, shape (m,), optional
        Values of ``k`` in ``[1, n − 1]``; default ``2, …, n − 1``.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``ks`` and ``β̂_k`` (``inf`` where the top ``k`` are tied).

    Chapter 3, "Estimating β" (the Hill plot).
    """
    x = _positive_data(x)
    n = x.size
    logs = np.sort(np.log(x))[::-1]
    if ks is None:
        ks = np.arange(2, n)
    ks = np.asarray(ks)
    if ks.ndim != 1:
        raise ValueError(f"ks must be 1-D, shape (m,); got shape {ks.shape}")
    if ks.size == 0 or not np.issubdtype(ks.dtype, np.integer):
        raise TypeError("ks must be a non-empty array of integers")
    if (ks < 1).any() or (ks > n - 1).any():
        raise ValueError(f"ks must lie in [1, n-1] = [1, {n - 1}]")
    csum = np.cumsum(logs)
    gamma = csum[ks - 1] / ks - logs[ks]
    with np.errstate(divide="ignore"):
        return ks, np.where(gamma > 0, 1.0 / np.maximum(gamma, 1e-300), np.inf)


def moment_estimator(x, k) -> float:
    """Dekkers–Einmahl–de Haan moment estimator, returned as a tail exponent.

    With log-excesses ``L_i = ln x_(i) − ln x_(k+1)`` of the top ``k`` order statistics,
    ``M_j = (1/k) Σ L_i^j``, the extreme-value index is

    .. math::  \\hat\\gamma = M_1 + 1 - \\frac12 \\Bigl(1 - \\frac{M_1^2}{M_2}\\Bigr)^{-1},

    consistent for every sign of ``γ``. The function returns ``1/γ̂`` (the survival/tail
    exponent, comparable with :func:`hill`), or ``inf`` when ``γ̂ ≤ 0`` (no power-law tail
    detected: Gaussian-like or bounded data). For exact Pareto data ``M_1 ≈ 1/β``,
    ``M_2 ≈ 2/β²`` and ``γ̂ ≈ 1/β``; it has more variance than Hill but less bias when the
    tail is only asymptotically a power law.

    Parameters
    ----------
    x : array_like, shape (n,)
        Positive, finite observations.
    k : int
        Number of upper order statistics, ``2 ≤ k ≤ n − 1``.

    Returns
    -------
    float
        ``1/γ̂`` or ``inf``.

    References
    ----------
    Dekkers, Einmahl & de Haan (1989). Chapter 4, "Estimating α from increments".
    """
    x = _positive_data(x, minimum=3)
    k = _k(k, x.size)
    if k < 2:
        raise ValueError(f"k must be >= 2 for the moment estimator; got {k}")
    top = np.sort(np.log(x))[x.size - k - 1 :]
    excess = top[1:] - top[0]
    m1 = excess.mean()
    m2 = (excess**2).mean()
    if m2 <= 0:
        raise ValueError(
            "the top k observations are all tied with x_(k+1): the moment estimator is undefined"
        )
    gamma = m1 + 1.0 - 0.5 / (1.0 - m1**2 / m2)
    return float(1.0 / gamma) if gamma > 0 else math.inf
