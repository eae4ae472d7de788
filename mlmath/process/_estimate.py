"""Estimating β, and the other limits of Chapters 6–7."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, positive, vector


class TailMLE(NamedTuple):
    """Pareto maximum-likelihood fit above a fixed threshold."""

    beta: float  #: survival exponent estimate n / Σ ln(τ_i / xmin)
    stderr: float  #: asymptotic standard error β/√n
    n_tail: int  #: number of observations above xmin


def pareto_tail_mle(taus, xmin=1.0) -> TailMLE:
    """Maximum-likelihood survival exponent of the observations above ``xmin`` (Chapter 6).

    ``β̂ = n / Σ_{τ_i > xmin} ln(τ_i / xmin)`` (Hill's estimator with a fixed threshold), the
    exact MLE when ``P(τ > s | τ > xmin) = (s/xmin)^(−β)``, as in the exactly solvable case
    with ``xmin = 1``. For a threshold chosen from the data use
    :func:`mlmath.tails.fit_power_law` (Clauset–Shalizi–Newman). ``taus``: shape ``(n,)``.
    """
    from ..tails import fit_power_law

    taus = vector("taus", taus)  # one sample, shape (n,): a 2-D array is not silently pooled
    xmin = positive("xmin", xmin)
    tail = taus[
        taus > xmin
    ]  # strictly above: the atom of collapsed units at τ = xmin = 1 is not tail
    if tail.size < 2:
        raise ValueError(f"need at least 2 observations above xmin = {xmin}; got {tail.size}")
    fit = fit_power_law(tail, xmin=xmin, min_tail=2)
    return TailMLE(fit.beta, fit.beta_se, fit.n_tail)


def gaussian_exponent(pull, sigma) -> float:
    """``β = 2κ/σ²`` for Brownian forcing alone: ``Y ~ Exp(2κ/σ²)``, already a power law in
    ``τ`` (Chapter 6)."""
    return 2.0 * positive("pull", pull) / positive("sigma", sigma) ** 2


def vanishing_mobility_survival(s, pull, sigma) -> np.ndarray:
    """Stationary ``P(τ > s) = exp(−(κ/σ²)(s² − 1))`` for ``dY = −κ dt + σ e^(−Y) dW`` reflected
    at 0 (Chapter 6).

    With SGD's gate factor ``g(1−g) ≈ 1/τ`` on the noise alone (assumption (V)) the
    small-step noise of a slow unit vanishes; the zero-flux (Fokker–Planck) density of ``Y``
    is ``∝ e^(2y) exp(−(κ/σ²) e^(2y))``, so ``τ`` has a Gaussian (Rayleigh) tail: no power
    law without pushes.
    """
    s = as_float_array("s", s)
    pull = positive("pull", pull)
    sigma = positive("sigma", sigma)
    return np.where(s < 1.0, 1.0, np.exp(-(pull / sigma**2) * (np.maximum(s, 1.0) ** 2 - 1.0)))


def lognormal_scale_ou(pull_slope, sigma) -> float:
    """Stationary standard deviation ``σ_Y = σ/√(2k)`` of ``ln τ`` under a linear pull
    ``k(Y − ȳ)`` (Chapter 7)."""
    return positive("sigma", sigma) / math.sqrt(2.0 * positive("pull_slope", pull_slope))
